import { defineConfig } from "vitest/config";

// Tests run against TypeScript sources: the "@envkeep/source" export condition points each
// workspace package at its src/ entry, so no build is needed before `vitest`.
const conditions = ["@envkeep/source", "import", "module", "node", "default"];

const packages = ["core", "store-memory", "store-test-suite", "store-sqlite", "store-redis", "cli"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    projects: packages.map((name) => ({
      extends: true,
      test: {
        name,
        root: `packages/${name}`,
        include: ["test/**/*.test.ts"],
        passWithNoTests: true,
        testTimeout: 30_000,
        hookTimeout: 60_000,
      },
    })),
  },
});

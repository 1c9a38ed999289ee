import path from "node:path";
import { defineConfig } from "vitest/config";

// Tests run against TypeScript sources: the "@envkeep/source" export condition points each
// workspace package at its src/ entry, so no build is needed before `vitest`.
const conditions = ["@envkeep/source", "import", "module", "node", "default"];

const packages = [
  "core",
  "store-memory",
  "store-test-suite",
  "store-sqlite",
  "store-redis",
  "http",
  "cli",
  "dashboard",
];

/**
 * One project: `test/**\/*.test.ts` under `dir`. The root is absolute because a package's `test`
 * script runs vitest from the package's own directory (`vitest run --root ../.. --project name`).
 * No passWithNoTests: a project whose pattern matches nothing fails instead of passing silently.
 */
const project = (name: string, dir: string) => ({
  extends: true as const,
  test: {
    name,
    root: path.join(import.meta.dirname, dir),
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    projects: [
      ...packages.map((name) => project(name, `packages/${name}`)),
      // The repository's own machinery: what `pnpm test` and .ci/run do.
      project("repo", "scripts"),
    ],
  },
});

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
const project = (name: string, dir: string, testTimeout = 30_000) => ({
  extends: true as const,
  test: {
    name,
    root: path.join(import.meta.dirname, dir),
    include: ["test/**/*.test.ts"],
    testTimeout,
    hookTimeout: 60_000,
  },
});

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    projects: [
      // The CLI's end-to-end flows run a dozen envkeep processes each; on Redis every one loads
      // the Redis client, which on a loaded 2-core machine has taken past 30 s for one flow.
      ...packages.map((name) =>
        project(name, `packages/${name}`, name === "cli" ? 90_000 : 30_000),
      ),
      // The repository's own machinery: what `pnpm test` and .ci/run do.
      project("repo", "scripts"),
    ],
  },
});

/**
 * The CI contract, on real runs of `.ci/run` (and so of the README's test command and
 * `scripts/run-tests.mjs`) in tiny workspaces: whatever happens, the last line is the summary of
 * what ran, and the exit status says whether anything failed.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ciWorkspaces } from "./support/ci-workspace.js";

const workspaces = ciWorkspaces();
afterAll(() => workspaces.remove());

const testFile = (body: string) => `import { expect, it } from "vitest";\n\n${body}`;

describe.concurrent(".ci/run ends with the summary line", () => {
  it("a failing test: the counts, after pnpm's own ELIFECYCLE line; non-zero exit", async () => {
    const dir = workspaces.workspace("failing-test", {
      "test/sample.test.ts": testFile(
        [
          'it("passes", () => {\n  expect(1 + 1).toBe(2);\n});\n',
          'it("fails", () => {\n  expect(1 + 1).toBe(3);\n});\n',
          'it.skip("is skipped", () => {});\n',
        ].join("\n"),
      ),
    });
    const run = await workspaces.runCi(dir);
    expect(run.output).toContain("ELIFECYCLE");
    expect(run.lastLine).toBe("1 passed, 1 failed, 1 skipped");
    expect(run.status).not.toBe(0);
  }, 120_000);

  it("a type error: no test runs, 0 passed, 1 failed; non-zero exit", async () => {
    const dir = workspaces.workspace("type-error", {
      "test/sample.test.ts": testFile(
        'const count: number = "one";\n\nit("would pass", () => {\n  expect(count).toBeDefined();\n});\n',
      ),
    });
    const run = await workspaces.runCi(dir);
    expect(run.output).toContain("error TS2322");
    expect(run.output).toContain("typecheck failed: no test ran");
    expect(run.output).not.toContain("would pass");
    expect(run.lastLine).toBe("0 passed, 1 failed");
    expect(run.status).not.toBe(0);
  }, 120_000);

  it("an install that fails (lockfile out of date): 0 passed, 1 failed; non-zero exit", async () => {
    const dir = workspaces.workspace(
      "install-fails",
      { "test/sample.test.ts": testFile('it("passes", () => {\n  expect(1).toBe(1);\n});\n') },
      (pkg) => {
        pkg.devDependencies["left-pad"] = "1.3.0"; // not in the lockfile
      },
    );
    const run = await workspaces.runCi(dir);
    expect(run.output).toContain("ERR_PNPM_OUTDATED_LOCKFILE");
    expect(run.lastLine).toBe("0 passed, 1 failed");
    expect(run.status).not.toBe(0);
  }, 120_000);

  it("all passing: the counts; exit 0", async () => {
    const dir = workspaces.workspace("passing", {
      "test/sample.test.ts": testFile('it("passes", () => {\n  expect(1 + 1).toBe(2);\n});\n'),
    });
    const run = await workspaces.runCi(dir);
    expect(run.lastLine).toBe("1 passed, 0 failed");
    expect(run.status).toBe(0);
  }, 120_000);
});

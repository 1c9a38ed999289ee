// `pnpm test`: type-check, lint and build, then every vitest project once. Ends with the one
// summary line CI reads, "N passed, N failed" (", N skipped" when any were skipped), and keeps it
// in .test-results/summary.txt for .ci/run to print last. When a stage before the tests fails,
// nothing is tested and the summary is "0 passed, 1 failed". Exits non-zero on any failure.
// Extra arguments go to vitest: `pnpm test -- --project core`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const resultsDir = path.join(root, ".test-results");
const report = path.join(resultsDir, "vitest.json");
const summaryFile = path.join(resultsDir, "summary.txt");
mkdirSync(resultsDir, { recursive: true });
rmSync(report, { force: true });
rmSync(summaryFile, { force: true });

/** Prints the summary line last, keeps it for .ci/run, and exits (non-zero on any failure). */
function finish({ passed, failed, skipped }) {
  const line = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`;
  writeFileSync(summaryFile, `${line}\n`);
  console.log(line);
  process.exit(failed > 0 ? 1 : 0);
}

/** `<package manager> run <script>`: the one running this file (pnpm sets npm_execpath), else pnpm. */
function runScript(script) {
  const manager = process.env.npm_execpath;
  const [command, ...args] = !manager
    ? ["pnpm"]
    : /\.[cm]?js$/.test(manager)
      ? [process.execPath, manager]
      : [manager];
  return spawnSync(command, [...args, "run", script], { cwd: root, stdio: "inherit" });
}

for (const stage of ["typecheck", "lint", "build"]) {
  const { status, error } = runScript(stage);
  if (status !== 0) {
    console.error(`${stage} failed${error ? ` (${error.message})` : ""}: no test ran`);
    finish({ passed: 0, failed: 1, skipped: 0 });
  }
}

const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs");
const run = spawnSync(
  process.execPath,
  [
    vitest,
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: "inherit" },
);

const counts = { passed: 0, failed: 0, skipped: 0 };
if (existsSync(report)) {
  const results = JSON.parse(readFileSync(report, "utf8"));
  counts.passed = results.numPassedTests;
  counts.failed = results.numFailedTests;
  counts.skipped = results.numPendingTests + results.numTodoTests;
  // A test file that fails to load has no failed test of its own: count the file.
  for (const file of results.testResults ?? []) {
    const ownFailures = (file.assertionResults ?? []).filter((t) => t.status === "failed").length;
    if (file.status === "failed" && ownFailures === 0) counts.failed += 1;
  }
}
// No report (vitest did not get that far), or a failure vitest counted nowhere: one failure.
if (!existsSync(report) || run.status !== 0) counts.failed = Math.max(counts.failed, 1);
finish(counts);

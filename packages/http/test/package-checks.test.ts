/**
 * The published shape of @envkeep/http: publint (strict) and @arethetypeswrong/cli (ESM-only
 * profile) on the built package, as `pnpm --filter @envkeep/http check:package` runs them.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect, it } from "vitest";
import { ensureBuilt } from "./support/serve.js";

const run = promisify(execFile);
const dir = path.resolve(import.meta.dirname, "..");
const bin = (name: string) => path.join(dir, "node_modules/.bin", name);

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

it("publint --strict finds nothing", async () => {
  const { stdout } = await run(bin("publint"), ["--strict", "--pack", "npm"], { cwd: dir });
  expect(stdout).toContain("All good!");
}, 60_000);

it("attw: the types resolve for ESM importers (node16 from ESM, bundlers)", async () => {
  const { stdout } = await run(
    bin("attw"),
    ["--pack", ".", "--profile", "esm-only", "--format", "json"],
    { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
  );
  const report = JSON.parse(stdout) as {
    analysis: { problems?: { kind: string; resolutionKind?: string }[] };
  };
  // ESM-only: a CommonJS require() of it is not supported (the profile ignores node10 and
  // node16-cjs); every other problem counts.
  const problems = (report.analysis.problems ?? []).filter(
    (problem) => problem.resolutionKind !== "node10" && problem.resolutionKind !== "node16-cjs",
  );
  expect(problems).toEqual([]);
}, 60_000);

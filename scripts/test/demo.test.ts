/**
 * The README's demo (`pnpm demo`: examples/demo.mjs on the built packages) runs end to end in a
 * new directory, and prints no secret value, nor the start of one: what people copy must not
 * teach them to print any part of a value. (`pnpm test` builds before the tests run.)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";

const demo = path.resolve(import.meta.dirname, "../../examples/demo.mjs");
const dir = mkdtempSync(path.join(tmpdir(), "envkeep-demo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every value the demo stores or layers in (examples/demo.mjs). */
const demoValues = [
  "sk-demo-4f1c9a",
  "https://api.example.com",
  "db.internal",
  "correct-horse-battery",
  "ignored",
  "sk-demo-77aa01",
  "https://staging.example.com",
];

it("runs on the embedded default store, and shows no value or start of one", () => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
  const run = () => spawnSync(process.execPath, [demo], { cwd: dir, env, encoding: "utf8" });
  // Twice: the second run opens what the first one stored, with the key file it left.
  for (const { status, stdout, stderr } of [run(), run()]) {
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(stdout).toContain("child sees API_KEY = set (14 chars)");
    expect(stdout).toContain("child sees PGPASSWORD = set (21 chars)");
    expect(stdout).toMatch(/3 re-wrapped, 0 failed/);
    for (const value of demoValues) {
      expect(stdout).not.toContain(value);
      expect(stdout).not.toContain(value.slice(0, 4));
    }
  }
}, 60_000);

/**
 * `pnpm demo` and `pnpm bench` build only when a build input changed (scripts/build-if-changed.mjs),
 * tried in a tiny workspace with a stand-in pnpm that records each build.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";

const script = path.resolve(import.meta.dirname, "../build-if-changed.mjs");
const dir = mkdtempSync(path.join(tmpdir(), "envkeep-build-if-changed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const at = (...parts: string[]) => path.join(dir, ...parts);
const write = (file: string, text: string) => {
  mkdirSync(path.dirname(at(file)), { recursive: true });
  writeFileSync(at(file), text);
};

// The workspace: one package, and a "pnpm" whose `build` writes dist/index.js and logs itself.
write("pnpm-lock.yaml", "lockfileVersion: '9.0'\n");
write("tsconfig.base.json", "{}\n");
write("packages/a/package.json", JSON.stringify({ name: "a", main: "./dist/index.js" }));
write("packages/a/src/index.ts", "export const a = 1;\n");
write(
  "fake-pnpm.cjs",
  `const fs = require("node:fs");
fs.appendFileSync(${JSON.stringify(at("builds.log"))}, process.argv.slice(2).join(" ") + "\\n");
if (process.env.FAIL_BUILD) process.exit(3);
fs.mkdirSync(${JSON.stringify(at("packages/a/dist"))}, { recursive: true });
fs.writeFileSync(${JSON.stringify(at("packages/a/dist/index.js"))}, "");`,
);
mkdirSync(at("scripts"));
copyFileSync(script, at("scripts", "build-if-changed.mjs"));

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [at("scripts", "build-if-changed.mjs"), ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, npm_execpath: at("fake-pnpm.cjs") },
  });
  return { status: result.status, stdout: result.stdout };
}
const builds = () => readFileSync(at("builds.log"), "utf8").trim().split("\n").length;

it("builds once, then skips until a source, a manifest or the output changes", () => {
  expect(run().status).toBe(0);
  expect(builds()).toBe(1);
  const again = run();
  expect(again).toEqual({
    status: 0,
    stdout: "build: up to date (nothing changed since the last build)\n",
  });
  expect(builds()).toBe(1);

  const later = new Date(Date.now() + 5_000);
  utimesSync(at("packages/a/src/index.ts"), later, later);
  run();
  expect(builds()).toBe(2);

  write("packages/a/package.json", JSON.stringify({ name: "a", main: "./dist/index.js", x: 1 }));
  run();
  expect(builds()).toBe(3);

  rmSync(at("packages/a/dist"), { recursive: true });
  run();
  expect(builds()).toBe(4);

  run("--force");
  expect(builds()).toBe(5);
  run();
  expect(builds()).toBe(5);
});

it("a failed build fails the command and is tried again next time", () => {
  write("packages/a/src/more.ts", "export const b = 2;\n");
  const failed = spawnSync(process.execPath, [at("scripts", "build-if-changed.mjs")], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, npm_execpath: at("fake-pnpm.cjs"), FAIL_BUILD: "1" },
  });
  expect(failed.status).toBe(3);
  const before = builds();
  run();
  expect(builds()).toBe(before + 1);
  run();
  expect(builds()).toBe(before + 1);
});

/**
 * What `envkeep` loads to start: a command loads the store its URL names and nothing else (no
 * Redis client for SQLite, no HTTP stack outside `serve`, not even core for `--help`),
 * and the CLI itself is a few bundled CommonJS files, each store package in a file of its own.
 * Speed itself is measured by `pnpm bench`, never here.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { DEFAULT_BODY_LIMIT } from "@envkeep/http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SERVE_BODY_LIMIT } from "../src/commands/serve.js";
import { bin, ensureBuilt } from "./support/build.js";
import { tempDir } from "./support/cli.js";

const work = tempDir("start-up");
const recorder = path.join(import.meta.dirname, "support/record-required.cjs");
const masterKey = "0".repeat(64);
let runs = 0;

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);
afterAll(() => work.remove());

/**
 * Node's own modules and the files an `envkeep …args` run loaded: every file the CLI requires,
 * and @envkeep/core and the other ES modules it requires (require(esm) puts them in the cache).
 */
function loaded(
  args: string[],
  env: Record<string, string> = {},
): { builtins: string[]; files: string[] } {
  const log = path.join(work.dir, `required-${++runs}.json`);
  const { status, stderr } = spawnSync(process.execPath, ["--require", recorder, bin, ...args], {
    cwd: work.dir,
    env: { PATH: process.env.PATH, ENVKEEP_TEST_REQUIRED: log, ...env },
    encoding: "utf8",
  });
  expect(stderr).toBe("");
  expect(status).toBe(0);
  const result = JSON.parse(readFileSync(log, "utf8")) as { builtins: string[]; files: string[] };
  rmSync(log);
  return { ...result, files: result.files.filter((file) => file !== recorder) };
}

/**
 * The packages a file of the CLI's dist/ carries, read off esbuild's `// <source path>` comments:
 * `// ../../node_modules/.pnpm/x@1/node_modules/@scope/name/…` or `// ../store-redis/dist/…`.
 */
function packagesBundledIn(file: string): string[] {
  const names = new Set<string>();
  for (const [, installed, workspace] of readFileSync(file, "utf8").matchAll(
    /^\/\/ (?:\.\.\/)+(?:node_modules\/\.pnpm\/[^/\n]+\/node_modules\/((?:@[^/\n]+\/)?[^/\n]+)|([a-z-]+)\/dist)\//gm,
  )) {
    names.add(installed ?? `@envkeep/${workspace}`);
  }
  return [...names];
}

/** The packages (by name; "@envkeep/cli" for its own files, with what they carry) of `files`. */
function packagesOf(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    const inModules = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    const inRepo = /\/packages\/([^/]+)\//.exec(file);
    names.add(inModules?.[1] ?? (inRepo ? `@envkeep/${inRepo[1]}` : file));
    if (file.includes("/packages/cli/dist/")) {
      for (const name of packagesBundledIn(file)) names.add(name);
    }
  }
  return names;
}

it("--help loads the CLI (with commander in it) only: no core, no store, no HTTP stack", () => {
  expect([...packagesOf(loaded(["--help"]).files)].sort()).toEqual(["@envkeep/cli", "commander"]);
});

it("core loads at its first use: help for a command needs none of it, the command does", () => {
  expect(packagesOf(loaded(["secret", "--help"]).files)).not.toContain("@envkeep/core");
  expect(packagesOf(loaded(["key", "generate"]).files)).toContain("@envkeep/core");
});

it("--help loads no child_process, no crypto, no dotenv, no fs/promises of its own", () => {
  const { builtins, files } = loaded(["--help"]);
  expect(builtins).not.toContain("NativeModule child_process");
  expect(builtins).not.toContain("NativeModule dgram");
  expect(builtins).not.toContain("NativeModule fs/promises");
  expect(builtins).not.toContain("NativeModule crypto");
  expect(files.filter((file) => /\/(dotenv|tweetnacl)\//.test(file))).toEqual([]);
});

it("the recorder sees what a command loads on first use: key generate needs the crypto", () => {
  const { builtins, files } = loaded(["key", "generate"]);
  expect(builtins).toContain("NativeModule crypto");
  expect(files.some((file) => file.includes("/tweetnacl/"))).toBe(true);
});

it("a SQLite store loads the SQLite store package only: no Redis client, no HTTP stack", () => {
  const env = {
    ENVKEEP_MASTER_KEY: masterKey,
    ENVKEEP_STORE: `sqlite:${path.join(work.dir, "secrets.db")}`,
  };
  const packages = packagesOf(loaded(["secret", "list"], env).files);
  for (const name of ["@envkeep/store-sqlite", "@keyv/sqlite", "sqlite3"]) {
    expect(packages).toContain(name);
  }
  for (const name of packages) {
    expect(name).not.toMatch(/redis|hono|@envkeep\/(http|dashboard|store-memory)/);
  }
});

it("a Redis store loads the Redis store package only, its client bundled: no SQLite", () => {
  const env = { ENVKEEP_MASTER_KEY: masterKey, ENVKEEP_STORE: "redis://127.0.0.1:6379" };
  const { files } = loaded(["secret", "list"], env);
  const packages = packagesOf(files);
  for (const name of ["@envkeep/store-redis", "@keyv/redis", "@redis/client"]) {
    expect(packages).toContain(name);
  }
  for (const name of packages) {
    expect(name).not.toMatch(/sqlite|hono|@envkeep\/(http|dashboard|store-memory)/);
  }
  // Bundled: none of the Redis client's 400-odd files is required from node_modules.
  expect(files.filter((file) => file.includes("/node_modules/"))).toEqual([]);
});

it("the CLI is a few bundled CommonJS files of dist/, beside the committed bin", () => {
  const own = loaded(["--version"]).files.filter(
    (file) => file.includes("/packages/cli/") && !file.endsWith("package.json"),
  );
  expect(own.map((file) => path.relative(path.dirname(path.dirname(bin)), file)).sort()).toEqual([
    "bin/envkeep.cjs",
    "dist/bin.cjs",
    "dist/index.cjs",
  ]);
});

it("the package's ES module entry has the CommonJS bundle's exports, in Node itself", () => {
  const entry = pathToFileURL(path.join(path.dirname(path.dirname(bin)), "dist/index.js")).href;
  const { stdout, stderr } = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const cli = await import(${JSON.stringify(entry)}); console.log(Object.keys(cli).sort().join(" "), typeof cli.main)`,
    ],
    { env: { PATH: process.env.PATH }, encoding: "utf8" },
  );
  expect(stderr).toBe("");
  expect(stdout.trim()).toBe("EXIT_ERROR EXIT_USAGE createProgram describeError main function");
});

it("serve's --body-limit default is @envkeep/http's", () => {
  expect(SERVE_BODY_LIMIT).toBe(DEFAULT_BODY_LIMIT);
});

/**
 * What `envkeep` loads to start: a command loads the store package its URL names and nothing
 * else (no Redis client for SQLite, no HTTP stack outside `serve`, no store for `--help`), and
 * the CLI itself is a few bundled files, its store packages among them, each in a chunk of its
 * own. Speed itself is measured by `pnpm bench`, never here.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { DEFAULT_BODY_LIMIT } from "@envkeep/http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SERVE_BODY_LIMIT } from "../src/commands/serve.js";
import { bin, ensureBuilt } from "./support/build.js";
import { tempDir } from "./support/cli.js";

const work = tempDir("start-up");
const recorder = path.join(import.meta.dirname, "support/record-imports.mjs");
const requiredRecorder = path.join(import.meta.dirname, "support/record-required.cjs");
const masterKey = "0".repeat(64);
let runs = 0;

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);
afterAll(() => work.remove());

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

/**
 * The packages (by name, "@envkeep/cli" for its own files, with what they carry) an
 * `envkeep …args` run imported.
 */
function packagesLoaded(args: string[], env: Record<string, string> = {}): Set<string> {
  const log = path.join(work.dir, `imports-${++runs}.txt`);
  const { status, stderr } = spawnSync(process.execPath, ["--import", recorder, bin, ...args], {
    cwd: work.dir,
    env: { PATH: process.env.PATH, ENVKEEP_TEST_IMPORTS: log, ...env },
    encoding: "utf8",
  });
  expect(stderr).toBe("");
  expect(status).toBe(0);
  const urls = readFileSync(log, "utf8").trim().split("\n");
  rmSync(log);
  const names = new Set<string>();
  for (const url of urls) {
    if (url.startsWith("data:")) continue;
    const file = decodeURIComponent(new URL(url).pathname);
    const inModules = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    const inRepo = /\/packages\/([^/]+)\//.exec(file);
    names.add(inModules?.[1] ?? (inRepo ? `@envkeep/${inRepo[1]}` : file));
    if (file.includes("/packages/cli/dist/")) {
      for (const name of packagesBundledIn(file)) names.add(name);
    }
  }
  return names;
}

it("--help loads the CLI (with commander in it) and core only: no store, no HTTP stack", () => {
  expect([...packagesLoaded(["--help"])].sort()).toEqual([
    "@envkeep/cli",
    "@envkeep/core",
    "commander",
  ]);
});

/** Node's own modules and the CommonJS files an `envkeep …args` run loaded (require, not import). */
function requiredLoaded(
  args: string[],
  env: Record<string, string> = {},
): { builtins: string[]; files: string[] } {
  const log = path.join(work.dir, `required-${++runs}.json`);
  const { status, stderr } = spawnSync(
    process.execPath,
    ["--require", requiredRecorder, bin, ...args],
    {
      cwd: work.dir,
      env: { PATH: process.env.PATH, ENVKEEP_TEST_REQUIRED: log, ...env },
      encoding: "utf8",
    },
  );
  expect(stderr).toBe("");
  expect(status).toBe(0);
  const loaded = JSON.parse(readFileSync(log, "utf8")) as { builtins: string[]; files: string[] };
  rmSync(log);
  return loaded;
}

it("--help loads no child_process, no crypto, no dotenv, no fs/promises of its own", () => {
  const { builtins, files } = requiredLoaded(["--help"]);
  expect(builtins).not.toContain("NativeModule child_process");
  expect(builtins).not.toContain("NativeModule dgram");
  expect(builtins).not.toContain("NativeModule fs/promises");
  expect(builtins).not.toContain("NativeModule crypto");
  expect(files.filter((file) => /\/(dotenv|tweetnacl)\//.test(file))).toEqual([]);
});

it("the recorder sees what a command loads on first use: key generate needs the crypto", () => {
  const { builtins, files } = requiredLoaded(["key", "generate"]);
  expect(builtins).toContain("NativeModule crypto");
  expect(files.some((file) => file.includes("/tweetnacl/"))).toBe(true);
});

it("a SQLite store loads the SQLite store package only: no Redis client, no HTTP stack", () => {
  const env = {
    ENVKEEP_MASTER_KEY: masterKey,
    ENVKEEP_STORE: `sqlite:${path.join(work.dir, "secrets.db")}`,
  };
  const loaded = packagesLoaded(["secret", "list"], env);
  expect(loaded).toContain("@envkeep/store-sqlite");
  expect(loaded).toContain("@keyv/sqlite");
  for (const name of loaded) {
    expect(name).not.toMatch(/redis|hono|@envkeep\/(http|dashboard|store-memory)/);
  }
});

it("a Redis store loads the Redis store package only, its client bundled: no SQLite", () => {
  const env = { ENVKEEP_MASTER_KEY: masterKey, ENVKEEP_STORE: "redis://127.0.0.1:6379" };
  const loaded = packagesLoaded(["secret", "list"], env);
  for (const name of ["@envkeep/store-redis", "@keyv/redis", "@redis/client"]) {
    expect(loaded).toContain(name);
  }
  for (const name of loaded) {
    expect(name).not.toMatch(/sqlite|hono|@envkeep\/(http|dashboard|store-memory)/);
  }
  // Bundled: none of the Redis client's 400-odd files is required from node_modules.
  const { files } = requiredLoaded(["secret", "list"], env);
  expect(files.filter((file) => file.includes("/node_modules/"))).toEqual([]);
});

it("the CLI is one bundle: its own modules are a few files of dist/", () => {
  const log = path.join(work.dir, "imports-own.txt");
  spawnSync(process.execPath, ["--import", recorder, bin, "--version"], {
    env: { PATH: process.env.PATH, ENVKEEP_TEST_IMPORTS: log },
  });
  const own = new Set(
    readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .filter((url) => url.includes("/packages/cli/")),
  );
  // bin/envkeep.js, dist/bin.js and the chunks it shares with the lazily loaded ones (the runtime
  // helpers, Node's modules as required).
  expect(own.size).toBeLessThanOrEqual(5);
  expect([...own].filter((url) => !url.includes("/packages/cli/dist/")).length).toBe(1);
});

it("serve's --body-limit default is @envkeep/http's", () => {
  expect(SERVE_BODY_LIMIT).toBe(DEFAULT_BODY_LIMIT);
});

/**
 * Bad input through the built binary: each case is one `envkeep: …` line on stderr, a non-zero
 * exit code, nothing on stdout, and the store byte-for-byte unchanged.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generateMasterKey } from "@envkeep/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "./support/build.js";
import { type CliOptions, type CliResult, envkeep, tempDir } from "./support/cli.js";

const work = tempDir("errors");
const storeDir = path.join(work.dir, "store");
const storeUrl = `sqlite:${path.join(storeDir, "secrets.db")}`;
const masterKey = generateMasterKey();
const env = { ENVKEEP_MASTER_KEY: masterKey, ENVKEEP_STORE: storeUrl };

function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return envkeep(args, { cwd: work.dir, ...options, env: { ...env, ...options.env } });
}

/** Every byte the store holds, file by file. */
function storeBytes(): Record<string, string> {
  return Object.fromEntries(
    readdirSync(storeDir).map((file) => [
      file,
      readFileSync(path.join(storeDir, file)).toString("base64"),
    ]),
  );
}

function expectOneLineError(result: CliResult, exitCode: number, pattern: RegExp): void {
  expect(result.stdout).toBe("");
  expect(result.stderr).toMatch(/^envkeep: [^\n]+\n$/);
  expect(result.stderr).toMatch(pattern);
  expect(result.code).toBe(exitCode);
}

beforeAll(async () => {
  await ensureBuilt();
  writeFileSync(path.join(work.dir, "nested.json"), JSON.stringify({ A: { B: "x" } }));
  writeFileSync(path.join(work.dir, "badkey.json"), JSON.stringify({ "bad-key": "x" }));
  writeFileSync(path.join(work.dir, "list.json"), JSON.stringify(["A=1"]));
  writeFileSync(path.join(work.dir, "broken.json"), "{ nope");
  const created = await cli(["secret", "create", "db", "PGPASSWORD=pw", "PGHOST=h"]);
  expect(created.code).toBe(0);
}, 180_000);
afterAll(() => work.remove());

const badNames: [string, string[]][] = [
  ["create with a space", ["secret", "create", "bad name", "A=1"]],
  ["create with a slash", ["secret", "create", "a/b", "A=1"]],
  ["create with an ap- object id", ["secret", "create", `ap-${"a".repeat(22)}`, "A=1"]],
  ["create with 65 characters", ["secret", "create", "n".repeat(65), "A=1"]],
  ["info", ["secret", "info", "no!"]],
  ["update", ["secret", "update", "x y", "A=1"]],
  ["delete", ["secret", "delete", "semi;colon", "--yes"]],
  ["run --secret", ["run", "--secret", "bad$", "--", "true"]],
  ["an environment", ["secret", "create", "ok", "A=1", "-e", "en-123"]],
  ["a workspace", ["--workspace", "bad workspace", "secret", "list"]],
];

const badKeys: [string, string[], RegExp][] = [
  ["a key starting with a digit", ["secret", "create", "n", "1A=x"], /invalid key "1A"/],
  ["a key with a dash", ["secret", "create", "n", "A-B=x"], /invalid key "A-B"/],
  ["update with a bad key", ["secret", "update", "db", "bad key=x"], /invalid key "bad key"/],
  ["--unset with a bad key", ["secret", "update", "db", "--unset", "9X"], /invalid key "9X"/],
  ["--require with a bad key", ["run", "--require", "a b", "--", "true"], /invalid key "a b"/],
  [
    "a JSON value that is an object",
    ["secret", "create", "n", "--from-json", "nested.json"],
    /value of "A" must be a string, a number or true\/false \(got an object\)/,
  ],
  [
    "a JSON key that is invalid",
    ["secret", "create", "n", "--from-json", "badkey.json"],
    /invalid key in secret "n" "bad-key"/,
  ],
  ["a JSON array", ["secret", "create", "n", "--from-json", "list.json"], /must hold one object/],
  ["broken JSON", ["secret", "create", "n", "--from-json", "broken.json"], /is not valid JSON/],
  [
    "a missing JSON file",
    ["secret", "create", "n", "--from-json", "nope.json"],
    /"nope.json" does not exist/,
  ],
  [
    "a missing dotenv file",
    ["secret", "create", "n", "--from-dotenv", "nope.env"],
    /nope\.env" does not exist/,
  ],
  [
    "a dotenv path that is a directory",
    ["secret", "create", "n", "--from-dotenv", "."],
    /dotenv file "." is not a file/,
  ],
  [
    "a missing -f (--env-file)",
    ["run", "-f", "nope.env", "--", "true"],
    /dotenv file "nope.env" does not exist/,
  ],
  ["no keys at all", ["secret", "create", "n"], /at least one key/],
];

describe("envkeep CLI: bad input is one line on stderr and changes nothing", () => {
  it.each(badNames)("bad name: %s", async (_label, args) => {
    const before = storeBytes();
    const result = await cli(args);
    expectOneLineError(result, 1, /^envkeep: invalid (secret|environment|workspace) name "/);
    expect(storeBytes()).toEqual(before);
  });

  it.each(badKeys)("bad key: %s", async (_label, args, pattern) => {
    const before = storeBytes();
    const result = await cli(args);
    expectOneLineError(result, pattern.source === "at least one key" ? 2 : 1, pattern);
    expect(storeBytes()).toEqual(before);
  });

  it("usage errors exit with 2: unknown command or option, missing argument, not KEY=VALUE", async () => {
    const before = storeBytes();
    const frobnicate = await cli(["frobnicate"]);
    expectOneLineError(frobnicate, 2, /^envkeep: unknown command for 'envkeep' /);
    expect(frobnicate.stderr).not.toContain("frobnicate");
    const bogus = await cli(["secret", "list", "--bogus"]);
    expectOneLineError(bogus, 2, /^envkeep: unknown option for 'envkeep secret list' /);
    expect(bogus.stderr).not.toContain("bogus");
    expectOneLineError(await cli(["secret", "info"]), 2, /missing required argument 'name'/);
    expectOneLineError(
      await cli(["secret", "create", "n", "A=1", "--token=sk-live"]),
      2,
      /^envkeep: unknown option for 'envkeep secret create' \(not shown: it may be a value\); see 'envkeep secret create --help'\n$/,
    );
    expectOneLineError(await cli(["secret"]), 2, /^envkeep: 'envkeep secret' needs a command: /);
    expectOneLineError(
      await cli(["secret", "create", "n", "JUST_A_WORD"]),
      2,
      /^envkeep: argument 1 after the secret name is not KEY=VALUE/,
    );
    expectOneLineError(await cli(["secret", "create", "n", "=x"]), 2, /no KEY before =/);
    expectOneLineError(await cli(["secret", "update", "db"]), 2, /nothing to update/);
    expectOneLineError(
      await cli(["secret", "update", "db", "A=1", "--unset", "A"]),
      2,
      /cannot both set and unset A/,
    );
    expect(storeBytes()).toEqual(before);
  });

  it("a bad --max-versions or ENVKEEP_MAX_VERSIONS is a usage error (exit 2), never echoed", async () => {
    const before = storeBytes();
    const option =
      /^envkeep: --max-versions takes a whole number from 0 to 1000 \(old versions kept per secret\)\n$/;
    for (const value of ["-1", "x", "1001", "2.5", "", "sk-live-canary-0042"]) {
      const result = await cli(["secret", "update", "db", "PGHOST=h2", "--max-versions", value]);
      expectOneLineError(result, 2, option); // the whole line: it quotes nothing it was given
    }
    expectOneLineError(await cli(["--max-versions=-3", "secret", "info", "db"]), 2, option);
    const variable = await cli(["secret", "update", "db", "PGHOST=h2"], {
      env: { ENVKEEP_MAX_VERSIONS: "sk-live-canary-0042" },
    });
    expectOneLineError(
      variable,
      2,
      /^envkeep: ENVKEEP_MAX_VERSIONS must be a whole number from 0 to 1000 \(old versions kept per secret\)\n$/,
    );
    expect(variable.stderr).not.toContain("canary");
    expect(storeBytes()).toEqual(before);
  });

  it("a missing master key is reported before any store is touched", async () => {
    const fresh = path.join(work.dir, "never-created", "secrets.db");
    // (secret list and info work without it, on metadata as stored: see cli-where.test.ts.)
    for (const args of [
      ["secret", "get", "n", "A"],
      ["secret", "create", "n", "A=1"],
      ["run", "-s", "db", "--", "true"],
      ["key", "rotate"],
    ]) {
      const result = await cli(args, {
        env: { ENVKEEP_MASTER_KEY: undefined, ENVKEEP_STORE: `sqlite:${fresh}` },
      });
      expectOneLineError(
        result,
        1,
        /^envkeep: no master key: set ENVKEEP_MASTER_KEY \(create one with `envkeep key generate`\)\n$/,
      );
    }
    expect(existsSync(path.dirname(fresh))).toBe(false);
  });

  it("a malformed master key is named, never echoed", async () => {
    const before = storeBytes();
    const bad = "ek1_this-is-not-a-key-but-looks-secret";
    const result = await cli(["secret", "list"], { env: { ENVKEEP_MASTER_KEY: bad } });
    expectOneLineError(result, 1, /^envkeep: ENVKEEP_MASTER_KEY is malformed/);
    expect(result.stderr).not.toContain("looks-secret");
    const many = await cli(["secret", "list"], {
      env: { ENVKEEP_MASTER_KEY: undefined, ENVKEEP_MASTER_KEYS: `${masterKey},${bad}` },
    });
    expectOneLineError(many, 1, /ENVKEEP_MASTER_KEYS entry 2 is malformed/);
    expect(storeBytes()).toEqual(before);
  });

  it("a wrong master key cannot read, update, create or replace", async () => {
    const before = storeBytes();
    const wrong = { env: { ENVKEEP_MASTER_KEY: generateMasterKey() } };
    const notHeld = /does not open secret "db" in environment "main": it was sealed under key k/;
    expectOneLineError(await cli(["run", "-s", "db", "--", "true"], wrong), 1, notHeld);
    expectOneLineError(await cli(["secret", "update", "db", "PGHOST=x"], wrong), 1, notHeld);
    expectOneLineError(
      await cli(["secret", "create", "other", "A=1"], wrong),
      1,
      /opens none of the newest secrets in environment "main" \(sealed under key k\S+\): check ENVKEEP_MASTER_KEY/,
    );
    expectOneLineError(
      await cli(["secret", "create", "db", "A=1", "--force"], wrong),
      1,
      /opens none of the newest secrets/,
    );
    expect(storeBytes()).toEqual(before);
    // Metadata is authenticated with the master key too: a wrong key lists nothing, and says
    // which records it had to leave out.
    const list = await cli(["secret", "list", "--json"], wrong);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
    expect(list.stderr).toMatch(
      /^envkeep: warning: left out of the list: master key k\S+ does not open secret "db"/,
    );
  });

  it("an unreadable or unknown store is one line naming the store, never its password", async () => {
    const garbage = path.join(work.dir, "garbage.db");
    writeFileSync(garbage, Buffer.alloc(4096, 7));
    const garbageBefore = readFileSync(garbage);
    expectOneLineError(
      await cli(["secret", "list"], { env: { ENVKEEP_STORE: `sqlite:${garbage}` } }),
      1,
      /^envkeep: \[sqlite\] .*garbage\.db.*not a database/,
    );
    expect(readFileSync(garbage).equals(garbageBefore)).toBe(true);
    const directory = path.join(work.dir, "a-directory");
    mkdirSync(directory);
    expectOneLineError(
      await cli(["--store", `sqlite:${directory}`, "secret", "list"]),
      1,
      /^envkeep: \[sqlite\] /,
    );
    const postgres = await cli(["--store", "postgres://admin:hunter2@db/x", "secret", "list"]);
    expectOneLineError(
      postgres,
      1,
      /^envkeep: unsupported store URL "postgres:\/\/admin:\*\*\*@db\/x"/,
    );
    expect(postgres.stderr).not.toContain("hunter2");
    const redis = await cli([
      "--store",
      "redis://:hunter2@127.0.0.1:1?timeoutMs=300&connectTimeoutMs=200",
      "secret",
      "list",
    ]);
    expectOneLineError(redis, 1, /^envkeep: \[redis\] /);
    expect(redis.stderr).not.toContain("hunter2");
  });

  it("--help works on every command", async () => {
    const commands = [
      [],
      ["secret"],
      ["secret", "create"],
      ["secret", "list"],
      ["secret", "info"],
      ["secret", "update"],
      ["secret", "delete"],
      ["secret", "templates"],
      ["run"],
      ["key"],
      ["key", "generate"],
      ["key", "rotate"],
    ];
    for (const command of commands) {
      const result = await cli([...command, "--help"], { env: { ENVKEEP_MASTER_KEY: undefined } });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: envkeep ${command.join(" ")}`.trimEnd());
      expect(result.stderr).toBe("");
    }
  });
});

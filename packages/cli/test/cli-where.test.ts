/**
 * Telling people where they are (issue: the CLI as people use it): where a new default store was
 * made, which store and workspace an error happened in, a close name for a typo, --verbose, a
 * short line for a wrong master key, a Redis that refuses the connection failing at once, and
 * `run` with env files only (no store, no master key) and --no-override.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generateMasterKey } from "@envkeep/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "./support/build.js";
import { envkeep, tempDir } from "./support/cli.js";
import { freePort as closedPort } from "./support/redis.js";

const work = tempDir("where");
let cases = 0;

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);
afterAll(() => work.remove());

/** A fresh directory and a master key: the default store there does not exist yet. */
function newCase() {
  const cwd = path.join(work.dir, `case-${++cases}`);
  mkdirSync(cwd);
  const env = { ENVKEEP_MASTER_KEY: generateMasterKey() };
  const cli = (args: string[], extra: Record<string, string | undefined> = {}, input?: string) =>
    envkeep(args, { cwd, env: { ...env, ...extra }, ...(input === undefined ? {} : { input }) });
  return { cwd, env, cli };
}

const printEnv = (...keys: string[]) =>
  `process.stdout.write(JSON.stringify([${keys.map((k) => JSON.stringify(k)).join(",")}].map((k) => process.env[k] ?? null)))`;

describe("where a command works", () => {
  it("the default store is reported once, where it was made; its directory is 0700 and its file 0600", async () => {
    const { cwd, cli } = newCase();
    const file = path.join(cwd, ".envkeep", "secrets.db");
    const first = await cli(["secret", "create", "stripe", "A=1"]);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe(`envkeep: created a new SQLite store at ${file} (mode 0600)\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const second = await cli(["secret", "create", "other", "A=1"]);
    expect(second).toMatchObject({ code: 0, stderr: "" });
    // A store named explicitly is not announced: the user said where it is.
    const named = await cli(["secret", "list"], { ENVKEEP_STORE: `sqlite:${cwd}/named.db` });
    expect(named).toMatchObject({ code: 0, stderr: "" });
    expect(existsSync(path.join(cwd, "named.db"))).toBe(true);
  });

  it("a missing secret names the store and workspace, and suggests a close name (only a close one)", async () => {
    const { cli } = newCase();
    for (const name of ["stripe", "stripe-webhooks", "postgres"]) {
      expect((await cli(["secret", "create", name, "A=1"])).code).toBe(0);
    }
    const typo = await cli(["secret", "info", "strpe"]);
    expect(typo).toEqual({
      code: 1,
      stdout: "",
      stderr: `envkeep: secret "strpe" not found in environment "main" (store sqlite:./.envkeep/secrets.db, workspace "default"); did you mean "stripe"?\n`,
    });
    for (const command of [
      ["run", "-s", "postgre", "--", "true"],
      ["secret", "update", "postgre", "A=2"],
      ["secret", "delete", "postgre", "--yes"],
    ]) {
      const result = await cli(command);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/; did you mean "postgres"\?\n$/);
    }
    const far = await cli(["secret", "info", "mongodb"]);
    expect(far.code).toBe(1);
    expect(far.stderr).not.toContain("did you mean");
    expect(far.stderr).toContain('(store sqlite:./.envkeep/secrets.db, workspace "default")');
    // Another environment has none of them: no suggestion from the wrong place.
    const elsewhere = await cli(["-e", "prod", "secret", "info", "strpe"]);
    expect(elsewhere.stderr).toMatch(/not found in environment "prod" .*workspace "default"\)\n$/);
  });

  it("--verbose says which store, workspace and environment a command uses; a password never shows", async () => {
    const { cli } = newCase();
    const result = await cli(["--verbose", "--workspace", "team", "-e", "prod", "secret", "list"]);
    expect(result.code).toBe(0);
    expect(result.stderr.split("\n")[0]).toBe(
      'envkeep: store sqlite:./.envkeep/secrets.db, workspace "team", environment "prod"',
    );
    const port = await closedPort();
    const redis = await cli(["--verbose", "secret", "list"], {
      ENVKEEP_STORE: `redis://:hunter2-password@127.0.0.1:${port}`,
    });
    expect(redis.stderr).toContain(`envkeep: store redis://:***@127.0.0.1:${port}`);
    expect(redis.stderr).not.toContain("hunter2-password");
  });

  it("a wrong master key is one short line of key ids, never a key", async () => {
    const { cli } = newCase();
    expect((await cli(["secret", "create", "db", "A=1"])).code).toBe(0);
    const wrongKey = generateMasterKey();
    const read = await cli(["secret", "get", "db", "A"], { ENVKEEP_MASTER_KEY: wrongKey });
    expect(read.code).toBe(1);
    expect(read.stderr).toMatch(
      /^envkeep: master key k\S+ does not open secret "db" in environment "main": it was sealed under key k\S+ \(wrong ENVKEEP_MASTER_KEY\?\) \(store [^)]+\)\n$/,
    );
    const write = await cli(["secret", "create", "new", "A=1"], { ENVKEEP_MASTER_KEY: wrongKey });
    expect(write.stderr).toMatch(
      /^envkeep: master key k\S+ opens none of the newest secrets in environment "main" \(sealed under key k\S+\): check ENVKEEP_MASTER_KEY; nothing was written/,
    );
    for (const { stderr } of [read, write]) {
      expect(stderr.length).toBeLessThan(250);
      expect(stderr).not.toContain(wrongKey);
    }
  });

  it("a Redis that refuses the connection fails at once, naming the operation asked for", async () => {
    const { cli } = newCase();
    const port = await closedPort();
    const store = { ENVKEEP_STORE: `redis://127.0.0.1:${port}` };
    const create = await cli(["secret", "create", "a", "A=1"], store);
    expect(create.code).toBe(1);
    expect(create.stderr).toMatch(/^envkeep: \[redis\] create failed: .*ECONNREFUSED/);
    // Not the 5 s connection deadline: the refusal itself is the answer.
    expect(create.stderr).not.toContain("timed out");
    const info = await cli(["secret", "info", "a"], store);
    expect(info.stderr).toMatch(/^envkeep: \[redis\] get failed .*ECONNREFUSED/);
  });
});

describe("run with env files and the shell", () => {
  it("run -f .env without --secret needs no master key and opens no store", async () => {
    const { cwd } = newCase();
    writeFileSync(path.join(cwd, ".env"), "A=from-file\nB=b\n");
    const result = await envkeep(
      ["run", "-f", ".env", "--", process.execPath, "-e", printEnv("A", "B")],
      {
        cwd,
        env: {},
      },
    );
    expect(result).toEqual({ code: 0, stdout: '["from-file","b"]', stderr: "" });
    expect(existsSync(path.join(cwd, ".envkeep"))).toBe(false);
  });

  it("secrets and env files win over the shell by default; --no-override keeps the shell's value", async () => {
    const { cwd, cli } = newCase();
    expect((await cli(["secret", "create", "s", "A=from-secret", "C=c"])).code).toBe(0);
    writeFileSync(path.join(cwd, ".env"), "B=from-file\n");
    const shell = { A: "from-shell", B: "from-shell" };
    const child = [process.execPath, "-e", printEnv("A", "B", "C")];
    const byDefault = await cli(["run", "-s", "s", "-f", ".env", "--", ...child], shell);
    expect(byDefault.stdout).toBe('["from-secret","from-file","c"]');
    const explicit = await cli(
      ["run", "--override", "-s", "s", "-f", ".env", "--", ...child],
      shell,
    );
    expect(explicit.stdout).toBe('["from-secret","from-file","c"]');
    const keep = await cli(
      ["run", "--no-override", "-s", "s", "-f", ".env", "--", ...child],
      shell,
    );
    expect(keep).toEqual({ code: 0, stdout: '["from-shell","from-shell","c"]', stderr: "" });
    const explained = await cli(
      ["run", "--no-override", "--explain", "-s", "s", "--", ...child],
      shell,
    );
    expect(explained.stderr).toContain(
      'envkeep: A from this shell (--no-override), overriding secret "s"',
    );
    expect(explained.stderr).toMatch(/^envkeep: C from secret "s" .*\)\n/m);
    // The master key is never a "shell value" that reaches the child, --no-override or not.
    const key = await cli([
      "run",
      "--no-override",
      "-s",
      "s",
      "--",
      process.execPath,
      "-e",
      printEnv("ENVKEEP_MASTER_KEY"),
    ]);
    expect(key.stdout).toBe("[null]");
  });
});

describe("metadata without the master key", () => {
  it("secret list and info show stored metadata, marked unauthenticated; values and writes still need the key", async () => {
    const { cwd, cli } = newCase();
    expect((await cli(["secret", "create", "db", "PGHOST=h", "PGPASSWORD=canary-pw-1"])).code).toBe(
      0,
    );
    const noKey = { ENVKEEP_MASTER_KEY: undefined };
    const warning =
      "envkeep: warning: no master key: metadata is shown as stored, not authenticated (set ENVKEEP_MASTER_KEY to verify it)\n";
    const table = await cli(["secret", "list"], noKey);
    expect(table.code).toBe(0);
    expect(table.stderr).toBe(warning);
    expect(table.stdout).toMatch(/^db\s+PGHOST, PGPASSWORD\s/m);
    const json = await cli(["secret", "list", "--json"], noKey);
    expect(JSON.parse(json.stdout)).toMatchObject([
      { name: "db", keys: ["PGHOST", "PGPASSWORD"], version: 1, verified: false },
    ]);
    const info = await cli(["secret", "info", "db"], noKey);
    expect(info).toMatchObject({ code: 0, stderr: warning });
    expect(info.stdout).toMatch(/^Keys:\s+PGHOST, PGPASSWORD$/m);
    const infoJson = JSON.parse((await cli(["secret", "info", "db", "--json"], noKey)).stdout);
    expect(infoJson).toMatchObject({ name: "db", verified: false });
    for (const { stdout, stderr } of [table, json, info]) {
      expect(stdout + stderr).not.toContain("canary-pw-1");
    }
    // A missing name is still a NotFound with its place; values and writes need the key.
    const missing = await cli(["secret", "info", "nope"], noKey);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/secret "nope" not found in environment "main" \(store /);
    for (const command of [
      ["secret", "get", "db", "PGHOST"],
      ["secret", "create", "other", "A=1"],
      ["run", "-s", "db", "--", "true"],
    ]) {
      const refused = await cli(command, noKey);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^envkeep: no master key: set ENVKEEP_MASTER_KEY/);
    }
    // With a key, the same commands show only what the key authenticates, and no warning.
    const keyed = await cli(["secret", "list"]);
    expect(keyed.stderr).toBe("");
    // In a directory with no store yet, nothing is created to be read.
    const empty = path.join(cwd, "empty");
    mkdirSync(empty);
    const none = await envkeep(["secret", "list"], { cwd: empty, env: {} });
    expect(none).toEqual({
      code: 0,
      stdout: 'No secrets in environment "main".\n',
      stderr: warning,
    });
    expect(existsSync(path.join(empty, ".envkeep"))).toBe(false);
  });
});

import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  generateMasterKey,
  IntegrityError,
  InvalidError,
  SecretManager,
  type StoredRecord,
  StoreError,
} from "@envkeep/core";
import { sampleRecord } from "@envkeep/store-test-suite";
import { afterAll, describe, expect, it } from "vitest";
import { sqliteStore } from "../src/index.js";
import { statements } from "../src/schema.js";
import { rawQuery, tempDir } from "./support.js";

const temp = tempDir("envkeep-sqlite-own-");
afterAll(() => temp.cleanup());
let files = 0;
const freshFile = () => path.join(temp.dir, `own-${++files}.db`);

const record = (overrides: Partial<StoredRecord> = {}) => sampleRecord("ws", overrides);

async function failure(work: () => Promise<unknown>): Promise<StoreError> {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error("expected a StoreError");
}

describe("sqliteStore: opening the file", () => {
  it("creates the parent directory and a 0600 database file in WAL mode", async () => {
    const file = path.join(temp.dir, "nested", "deeper", "secrets.db");
    const store = sqliteStore({ path: file });
    expect(existsSync(file)).toBe(false); // nothing happens before the first call
    expect(await store.create(record())).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    expect(await rawQuery(file, "PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
    await store.close();
  });

  it("leaves the mode of an existing file alone and keeps its data across reopening", async () => {
    const file = freshFile();
    const first = sqliteStore({ path: file });
    await first.create(record());
    await first.close();
    chmodSync(file, 0o640);
    const second = sqliteStore({ path: file });
    expect(await second.get(record())).toEqual(record());
    expect(statSync(file).mode & 0o777).toBe(0o640);
    await second.close();
  });

  it("a path under a regular file fails at the first call with a StoreError naming the path", async () => {
    const blocker = path.join(temp.dir, "not-a-directory");
    writeFileSync(blocker, "x");
    const file = path.join(blocker, "secrets.db");
    const store = sqliteStore({ path: file });
    const error = await failure(() => store.count({ workspace: "ws", environment: "dev" }));
    expect(error.store).toBe("sqlite");
    expect(error.code).toBe("STORE_UNAVAILABLE");
    expect(error.message).toContain(file);
    expect(error.cause).toBeDefined();
    // Every later call fails the same way, and close still works.
    await failure(() => store.get(record()));
    await store.close();
  });

  it("a file that is not a SQLite database fails at the first call with a StoreError naming it", async () => {
    const file = path.join(temp.dir, "garbage.db");
    writeFileSync(file, "this is not a database, just text ".repeat(200));
    const store = sqliteStore({ path: file });
    const error = await failure(() => store.create(record()));
    expect(error.message).toContain(file);
    expect(String((error.cause as Error).message)).toMatch(/not a database/);
    await store.close();
  });

  it("a directory without write permission fails with a StoreError naming the path", async () => {
    // Root ignores mode bits, but sysfs refuses to create files even for root.
    let file = "/sys/envkeep-test-secrets.db";
    if (process.getuid?.() !== 0) {
      const locked = path.join(temp.dir, "locked");
      mkdirSync(locked, { mode: 0o500 });
      file = path.join(locked, "secrets.db");
    }
    const store = sqliteStore({ path: file });
    const error = await failure(() => store.get(record()));
    expect(error.message).toContain(file);
    await store.close();
    expect(existsSync(file)).toBe(false);
  });

  it("a directory that cannot be created fails at once, not in an endless loop (/proc/nope)", async () => {
    // Node 20's recursive mkdir never returns under /proc: the store creates one level at a time.
    const file = "/proc/envkeep-nope/deeper/secrets.db";
    const store = sqliteStore({ path: file });
    const error = await failure(() => store.get(record()));
    expect(error.message).toContain(file);
    expect((error.cause as NodeJS.ErrnoException).code).toMatch(/^E/);
    await store.close();
    // Missing levels under a writable directory are still created, each with mode 0700.
    const nested = path.join(temp.dir, "a", "b", "c", "secrets.db");
    const created = sqliteStore({ path: nested });
    await created.count({ workspace: "ws", environment: "dev" });
    await created.close();
    expect(statSync(path.join(temp.dir, "a", "b")).mode & 0o777).toBe(0o700);
  }, 10_000);

  it("bad options are an InvalidError at once", () => {
    expect(() => sqliteStore({ path: "" })).toThrow(InvalidError);
    expect(() => sqliteStore({} as never)).toThrow(InvalidError);
    expect(() => sqliteStore({ path: freshFile(), table: "drop table; --" })).toThrow(InvalidError);
    expect(() => sqliteStore({ path: freshFile(), table: "_x" })).toThrow(InvalidError);
    expect(() => sqliteStore({ path: freshFile(), busyTimeoutMs: -1 })).toThrow(InvalidError);
  });

  it("calls after close reject with a StoreError; close is idempotent, also when never opened", async () => {
    const store = sqliteStore({ path: freshFile() });
    await store.close();
    await store.close();
    const opened = sqliteStore({ path: freshFile() });
    await opened.create(record());
    await Promise.all([opened.close(), opened.close()]);
    const error = await failure(() => opened.get(record()));
    expect(error.message).toMatch(/closed/);
  });

  it(":memory: gives a private in-memory database", async () => {
    const store = sqliteStore({ path: ":memory:" });
    expect(await store.create(record())).toBe(true);
    expect(await store.count({ workspace: "ws", environment: "dev" })).toBe(1);
    expect(existsSync(":memory:")).toBe(false);
    await store.close();
  });
});

describe("sqliteStore: behaviour", () => {
  it("another process's write lock held past busyTimeoutMs is a StoreError, not a hang", async () => {
    const file = freshFile();
    const store = sqliteStore({ path: file, busyTimeoutMs: 50 });
    await store.create(record());
    // A second, raw connection takes the write lock and keeps it.
    const { default: KeyvSqlite } = await import("@keyv/sqlite");
    const holder = new KeyvSqlite({ uri: `sqlite://${file}`, table: "envkeep_lock_probe" });
    await holder.query("BEGIN IMMEDIATE");
    try {
      const error = await failure(() => store.create(record({ name: "beta" })));
      expect(error.message).toMatch(/create failed/);
      expect(String((error.cause as Error).message)).toMatch(/SQLITE_BUSY/);
      expect(await store.get(record())).toEqual(record()); // reads go on under WAL
    } finally {
      await holder.query("ROLLBACK");
      await holder.close();
    }
    expect(await store.create(record({ name: "beta" }))).toBe(true);
    await store.close();
  });

  it("two stores on one file (two connections) see each other's writes at once", async () => {
    const file = freshFile();
    const a = sqliteStore({ path: file });
    const b = sqliteStore({ path: file });
    expect(await a.create(record())).toBe(true);
    expect(await b.create(record())).toBe(false);
    expect(await b.replace({ ...record(), version: 2 }, 1)).toBe(true);
    expect(await a.get(record())).toMatchObject({ version: 2 });
    expect(await a.replace({ ...record(), version: 2 }, 1)).toBe(false);
    await Promise.all([a.close(), b.close()]);
  });

  it("two tables in one file are separate stores", async () => {
    const file = freshFile();
    const a = sqliteStore({ path: file, table: "team_a" });
    const b = sqliteStore({ path: file, table: "team_b" });
    await a.create(record());
    expect(await b.get(record())).toBeUndefined();
    expect(await b.environments("ws")).toEqual([]);
    expect(await a.environments("ws")).toEqual(["dev"]);
    await Promise.all([a.close(), b.close()]);
  });

  it("strings that keyv would escape (a leading colon) round-trip, and compare-and-set still works", async () => {
    const store = sqliteStore({ path: freshFile() });
    const odd = record({ secretId: ":st-odd", createdBy: ":ci", updatedBy: "::x", sealed: ":v1" });
    expect(await store.create(odd)).toBe(true);
    expect(await store.get(odd)).toEqual(odd);
    const next = { ...odd, version: 2, sealed: ":v2" };
    expect(await store.replace(next, 1)).toBe(true);
    expect(await store.list({ workspace: "ws", environment: "dev" })).toEqual([next]);
    await store.close();
  });

  it("pages through many records of one millisecond with the (createdAt, name) cursor", async () => {
    const store = sqliteStore({ path: freshFile() });
    const names = Array.from({ length: 250 }, (_, i) => `n${String(i).padStart(3, "0")}`);
    for (const [i, name] of names.entries()) {
      await store.create(record({ name, createdAt: i < 200 ? 5 : 6, secretId: `st-${name}` }));
    }
    const scope = { workspace: "ws", environment: "dev" };
    const seen: string[] = [];
    let before: { createdAt: number; name: string } | undefined;
    for (;;) {
      const page = await store.list(scope, { limit: 30, ...(before ? { before } : {}) });
      seen.push(...page.map((r) => r.name));
      const last = page.at(-1);
      if (!last || page.length < 30) break;
      before = { createdAt: Number(last.createdAt), name: last.name };
    }
    const expected = [...names.slice(200).reverse(), ...names.slice(0, 200).reverse()];
    expect(seen).toEqual(expected);
    expect(await store.count(scope)).toBe(250);
    await store.close();
  });

  it("environments lists every environment of the workspace, and only that workspace's", async () => {
    const store = sqliteStore({ path: freshFile() });
    const envs = ["dev", "prod", "staging", "a", "z-9", "qa.1"];
    for (const environment of envs) await store.create(record({ environment }));
    await store.create(record({ workspace: "other", environment: "elsewhere" }));
    expect((await store.environments("ws")).sort()).toEqual([...envs].sort());
    expect(await store.environments("nobody")).toEqual([]);
    await store.close();
  });

  it("list, count and environments are answered from the index, never a scan or a sort", async () => {
    const file = freshFile();
    const store = sqliteStore({ path: file });
    await store.create(record()); // creates the table and the index
    await store.close();
    const sql = statements("envkeep_secrets");
    const cases: [string, unknown[]][] = [
      [sql.list, ["ws", "dev", 10]],
      [sql.listBefore, ["ws", "dev", 5, 10]],
      [sql.listBeforeKey, ["ws", "dev", 5, 5, "ws/dev/n", 10]],
      [sql.count, ["ws", "dev"]],
      [sql.environments, ["ws"]],
      [sql.replace, ["{}", "ws", "dev", 1, "k", "st-x", 1]],
      [sql.get, ["k"]],
      [sql.delete, ["k"]],
    ];
    const planOf = async (statement: string, params: unknown[]) =>
      (await rawQuery(file, `EXPLAIN QUERY PLAN ${statement}`, ...params))
        .map((row) => String(row.detail))
        .join("\n");
    expect(await planOf(sql.count, ["ws", "dev"])).toMatch(/USING COVERING INDEX/);
    for (const [statement, params] of cases) {
      const plan = await planOf(statement, params);
      expect(plan, statement).not.toMatch(/\bSCAN envkeep_secrets\b|TEMP B-TREE/);
      expect(plan, statement).toMatch(
        /USING (COVERING )?INDEX|USING PRIMARY KEY|INTEGER PRIMARY KEY/,
      );
    }
  });

  it("a SecretManager on the store works end to end, and the file holds no value", async () => {
    const file = freshFile();
    const secrets = new SecretManager({
      store: sqliteStore({ path: file }),
      masterKey: generateMasterKey(),
      environment: "dev",
    });
    await secrets.create("db", { PGPASSWORD: "hunter2-plaintext" });
    await secrets.update("db", { PGUSER: "app" });
    expect(await secrets.resolve([secrets.fromName("db")])).toEqual({
      PGPASSWORD: "hunter2-plaintext",
      PGUSER: "app",
    });
    await secrets.close();
    const rows = await rawQuery(file, "SELECT key, value FROM envkeep_secrets");
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain("hunter2");
    expect(JSON.stringify(rows)).toContain("PGPASSWORD");
  });

  it("a row damaged outside envkeep (not JSON, a BLOB, bad index columns) fails only that secret", async () => {
    const file = freshFile();
    const secrets = new SecretManager({
      store: sqliteStore({ path: file }),
      masterKey: generateMasterKey(),
      environment: "dev",
    });
    await secrets.create("good", { A: "1" });
    await secrets.create("bad", { B: "2" });
    const damage = (sql: string, ...params: unknown[]) =>
      rawQuery(file, `UPDATE envkeep_secrets SET ${sql} WHERE key LIKE '%/dev/bad'`, ...params);
    const expectOnlyBadFails = async () => {
      await expect(secrets.info("bad")).rejects.toBeInstanceOf(IntegrityError);
      await expect(secrets.resolve([secrets.fromName("bad")])).rejects.toBeInstanceOf(
        IntegrityError,
      );
      await expect(secrets.update("bad", { C: "3" })).rejects.toBeInstanceOf(IntegrityError);
      expect(await secrets.resolve([secrets.fromName("good")])).toEqual({ A: "1" });
      const damaged: string[] = [];
      const listed = await secrets.list({ onDamaged: (d) => damaged.push(d.name) });
      expect(listed.map((info) => info.name)).toEqual(["good"]);
      return damaged;
    };
    // The index lives in columns of its own: a value that is not JSON is stored like any other.
    await damage("value = ?", '{"value": trunc');
    expect(await expectOnlyBadFails()).toEqual(["bad"]);
    await damage("value = ?", Buffer.from('{"value": {}}'));
    expect(await expectOnlyBadFails()).toEqual(["bad"]);
    await damage("value = ?", '{"value": 42}');
    expect(await expectOnlyBadFails()).toEqual(["bad"]);
    // A text time in the index column: never listed (a cursor could not page past it).
    await damage("created_at = 'soon'");
    expect(await expectOnlyBadFails()).toEqual([]);
    // The damaged secret can still be deleted, and created again.
    await secrets.delete("bad");
    await secrets.create("bad", { B: "again" });
    expect(await secrets.resolve([secrets.fromName("bad")])).toEqual({ B: "again" });
    // Reopening the file (rebuilding nothing) works with a damaged row in it.
    await damage("value = ?", "not json at all");
    await secrets.close();
    const reopened = new SecretManager({
      store: sqliteStore({ path: file }),
      masterKey: generateMasterKey(),
      environment: "dev",
    });
    await expect(reopened.info("bad")).rejects.toBeInstanceOf(IntegrityError);
    await reopened.close();
  });

  it("a table of the earlier layout (expression index, no index columns) is migrated on open", async () => {
    const file = freshFile();
    await rawQuery(file, "CREATE TABLE envkeep_secrets(key VARCHAR(255) PRIMARY KEY, value TEXT )");
    await rawQuery(
      file,
      "CREATE INDEX envkeep_secrets_list ON envkeep_secrets (json_extract(value, '$.value.workspace'))",
    );
    const old = record({ name: "old", createdAt: 42 });
    await rawQuery(
      file,
      "INSERT INTO envkeep_secrets (key, value) VALUES (?, ?)",
      "ws/dev/old",
      JSON.stringify({ value: old }),
    );
    const store = sqliteStore({ path: file });
    expect(await store.list({ workspace: "ws", environment: "dev" })).toEqual([old]);
    expect(await store.count({ workspace: "ws", environment: "dev" })).toBe(1);
    await store.close();
    const indexes = await rawQuery(file, "PRAGMA index_list(envkeep_secrets)");
    expect(indexes.map((row) => row.name)).not.toContain("envkeep_secrets_list");
    expect(indexes.map((row) => row.name)).toContain("envkeep_secrets_scope");
  });
});

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { SecretStore } from "@envkeep/core";
import { keyvRecordCodec, type RawBackend } from "@envkeep/store-test-suite";
import KeyvSqlite from "@keyv/sqlite";
import type { SqliteStore } from "../src/index.js";
import { recordKey } from "../src/schema.js";

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "envkeep-sqlite-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs one query on its own connection to `file` (not the store's), then closes it. */
export async function rawQuery(
  file: string,
  sql: string,
  ...params: unknown[]
): Promise<Record<string, unknown>[]> {
  const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, table: "envkeep_raw_probe" });
  try {
    return await adapter.query(sql, ...params);
  } finally {
    await adapter.close();
  }
}

/**
 * Everything the backend holds for `store`, as text: every row of its table, the schema, and the
 * bytes of the database file and its WAL (so nothing in a free page or an uncheckpointed frame
 * escapes the leak check).
 */
export async function readRaw(store: SecretStore): Promise<string> {
  const { path: file, table } = store as SqliteStore;
  const rows = await rawQuery(file, `SELECT key, value FROM ${table}`);
  const schema = await rawQuery(file, "SELECT sql FROM sqlite_master");
  // The bytes are read by another process: closing a descriptor of the file here would drop
  // this process's POSIX locks on it, which the store's open connection relies on.
  const bytes = ["", "-wal"].map((suffix) =>
    Buffer.from(
      execFileSync(process.execPath, [
        "-e",
        "try { process.stdout.write(require('fs').readFileSync(process.argv[1]).toString('base64')) } catch {}",
        `${file}${suffix}`,
      ]).toString(),
      "base64",
    ).toString("latin1"),
  );
  return [JSON.stringify(rows), JSON.stringify(schema), ...bytes].join("\n");
}

/**
 * Raw access to a SQLite store's rows, as someone with a copy of the file has: the value of a
 * row, and rows written with the index columns a record there needs to be listed (taken from the
 * record where it parses).
 */
export const sqliteRawBackend: RawBackend = {
  readText: async (store, ref) => {
    const { path: file, table } = store as SqliteStore;
    const [row] = await rawQuery(
      file,
      `SELECT value FROM ${table} WHERE key = ?`,
      recordKey(ref.workspace, ref.environment, ref.name),
    );
    return row === undefined ? undefined : String(row.value);
  },
  writeText: async (store, ref, text) => {
    const { path: file, table } = store as SqliteStore;
    const createdAt = sqliteRawBackend.decode(text)?.createdAt;
    await rawQuery(
      file,
      `INSERT INTO ${table} (key, value, workspace, environment, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, workspace = excluded.workspace,
       environment = excluded.environment, created_at = excluded.created_at`,
      recordKey(ref.workspace, ref.environment, ref.name),
      text,
      ref.workspace,
      ref.environment,
      Number.isSafeInteger(createdAt) ? createdAt : 0,
    );
  },
  readHistoryText: async (store, ref, version) => {
    const { path: file, table } = store as SqliteStore;
    const [row] = await rawQuery(
      file,
      `SELECT value FROM ${table}_history WHERE key = ? AND version = ?`,
      recordKey(ref.workspace, ref.environment, ref.name),
      version,
    );
    return row === undefined ? undefined : String(row.value);
  },
  writeHistoryText: async (store, ref, version, text) => {
    const { path: file, table } = store as SqliteStore;
    await rawQuery(
      file,
      `INSERT OR REPLACE INTO ${table}_history (key, version, value) VALUES (?, ?, ?)`,
      recordKey(ref.workspace, ref.environment, ref.name),
      version,
      text,
    );
  },
  ...keyvRecordCodec,
};

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { SecretStore } from "@envkeep/core";
import KeyvSqlite from "@keyv/sqlite";
import type { SqliteStore } from "../src/index.js";

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
  const bytes = ["", "-wal"].map((suffix) => {
    try {
      return readFileSync(`${file}${suffix}`).toString("latin1");
    } catch {
      return "";
    }
  });
  return [JSON.stringify(rows), JSON.stringify(schema), ...bytes].join("\n");
}

/**
 * The SQL of the SQLite store. Records live in the table keyv's `@keyv/sqlite` adapter creates
 * (`key VARCHAR PRIMARY KEY, value TEXT`), one row per secret, the value being keyv's stored form
 * `{"value": <record>}`, so that `keyv.get` reads a record as is. Three columns the store adds
 * (`workspace`, `environment`, `created_at`) carry the list index; the store writes them itself,
 * from the record it is given, in the same statement as the value. Every write is a single
 * statement, hence atomic in SQLite's autocommit mode.
 *
 * The index lives in columns, not in expressions over the JSON value, so a row damaged outside
 * envkeep (a value that is not JSON, a BLOB) can never make SQLite fail to update, rebuild or
 * delete from the index: that row fails alone.
 */

/** Table names the adapter keeps as they are (it strips anything else, silently). */
export const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/** Row key of one secret. Workspace, environment and name never contain `/` (validated by core). */
export function recordKey(workspace: string, environment: string, name: string): string {
  return `${workspace}/${environment}/${name}`;
}

/** The location a row key stands for, or `undefined` for a key envkeep never writes. */
export function locationOfKey(
  key: string,
): { workspace: string; environment: string; name: string } | undefined {
  const parts = key.split("/");
  if (parts.length !== 3 || parts.some((part) => part === "")) return undefined;
  const [workspace, environment, name] = parts as [string, string, string];
  return { workspace, environment, name };
}

/** The columns the store adds to keyv's table, with their declared types. */
export const INDEX_COLUMNS = [
  ["workspace", "TEXT"],
  ["environment", "TEXT"],
  ["created_at", "INTEGER"],
] as const;

/** `created_at` values a cursor can page through: safe integers. Others are never listed. */
const LISTABLE = "created_at BETWEEN -9007199254740991 AND 9007199254740991";

/** A JSON field of the stored record, or NULL when the value is not JSON text (never an error). */
const field = (name: string) =>
  `CASE WHEN typeof(value) <> 'text' THEN NULL WHEN json_valid(value) THEN json_extract(value, '$.value.${name}') END`;

/** Every statement of the store, for one table. */
export function statements(table: string) {
  const order = "ORDER BY created_at DESC, key DESC";
  const scope = `workspace = ? AND environment = ? AND ${LISTABLE}`;
  const columns = "key, value, typeof(value) AS type, created_at";
  return {
    tableInfo: `PRAGMA table_info(${table})`,
    addColumn: (name: string, type: string) => `ALTER TABLE ${table} ADD COLUMN ${name} ${type}`,
    /** Fills the index columns of rows written before they existed (from the key and the JSON). */
    backfill: `UPDATE ${table} SET
      workspace = substr(key, 1, instr(key, '/') - 1),
      environment = substr(substr(key, instr(key, '/') + 1), 1, instr(substr(key, instr(key, '/') + 1), '/') - 1),
      created_at = ${field("createdAt")}
      WHERE workspace IS NULL`,
    /** The index of an earlier layout (expressions over the JSON value). */
    dropOldIndex: `DROP INDEX IF EXISTS ${table}_list`,
    /**
     * The list index: scope, then time, then key (whose order within a scope is the name's), so
     * `list` walks the newest entries of one scope backwards and stops at its limit, `count`
     * reads only index entries, and `environments` skips from one environment to the next.
     */
    createIndex: `CREATE INDEX IF NOT EXISTS ${table}_scope ON ${table} (workspace, environment, created_at, key)`,
    /** Param: key. */
    get: `SELECT value, typeof(value) AS type FROM ${table} WHERE key = ?`,
    /** Create-if-absent: returns one row when the record was stored. */
    insert: `INSERT INTO ${table} (key, value, workspace, environment, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING key`,
    /**
     * Compare-and-set on `secretId` and `version`: returns one row when replaced. Rewrites the
     * index columns too, so a write also mends them.
     */
    replace: `UPDATE ${table} SET value = ?, workspace = ?, environment = ?, created_at = ? WHERE key = ? AND ${field("secretId")} = ? AND ${field("version")} = ? RETURNING key`,
    /** Returns one row when a row was removed, whatever its value. */
    delete: `DELETE FROM ${table} WHERE key = ? RETURNING key`,
    /** Params: workspace, environment, limit (-1: no limit). */
    list: `SELECT ${columns} FROM ${table} WHERE ${scope} ${order} LIMIT ?`,
    /** Params: workspace, environment, createdAt, limit. `createdAt < before.createdAt`. */
    listBefore: `SELECT ${columns} FROM ${table} WHERE ${scope} AND created_at < ? ${order} LIMIT ?`,
    /**
     * Params: workspace, environment, createdAt, createdAt, key, limit. Strictly after the
     * cursor `(createdAt, name)`; the `<=` bound lets the index seek, the OR only filters the few
     * entries of the cursor's own millisecond.
     */
    listBeforeKey: `SELECT ${columns} FROM ${table} WHERE ${scope} AND created_at <= ? AND (created_at < ? OR key < ?) ${order} LIMIT ?`,
    /** Params: workspace, environment. Reads index entries only: exactly what `list` can list. */
    count: `SELECT count(*) AS n FROM ${table} WHERE ${scope}`,
    /** Param: workspace. A skip-scan of the index: one seek per environment. */
    environments: `WITH RECURSIVE env(name) AS (
      SELECT min(environment) FROM ${table} WHERE workspace = ?1
      UNION ALL
      SELECT (SELECT min(environment) FROM ${table} WHERE workspace = ?1 AND environment > env.name)
      FROM env WHERE env.name IS NOT NULL
    ) SELECT name FROM env WHERE name IS NOT NULL`,
  };
}

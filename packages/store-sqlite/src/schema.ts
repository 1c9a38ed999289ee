/**
 * The SQL of the SQLite store. Records live in the table keyv's `@keyv/sqlite` adapter creates
 * (`key VARCHAR PRIMARY KEY, value TEXT`), one row per secret, the value being keyv's stored form
 * `{"value": <record>}`, so that `keyv.get` reads a record as is. What keyv cannot express
 * (create-if-absent, compare-and-set, indexed listing) is one SQL statement each, run through the
 * adapter's own connection. Every write is a single statement, hence atomic in SQLite's
 * autocommit mode; no operation needs a multi-statement transaction.
 */

/** JSON path of a record field inside keyv's stored form. */
const field = (name: string) => `json_extract(value, '$.value.${name}')`;

const WORKSPACE = field("workspace");
const ENVIRONMENT = field("environment");
const CREATED_AT = field("createdAt");
const NAME = field("name");

/** Table names the adapter keeps as they are (it strips anything else, silently). */
export const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/** Row key of one secret. Workspace, environment and name never contain `/` (validated by core). */
export function recordKey(workspace: string, environment: string, name: string): string {
  return `${workspace}/${environment}/${name}`;
}

/**
 * The keys of one scope form one contiguous range of the primary key: from `ws/env/` up to (not
 * including) `ws/env0`, `0` being the character after `/`.
 */
export function scopeKeyRange(workspace: string, environment: string): [string, string] {
  return [`${workspace}/${environment}/`, `${workspace}/${environment}0`];
}

/** Every statement of the store, for one table. */
export function statements(table: string) {
  const order = `ORDER BY ${CREATED_AT} DESC, ${NAME} DESC`;
  const scope = `${WORKSPACE} = ? AND ${ENVIRONMENT} = ?`;
  return {
    /**
     * The list index: an expression index over the record's scope, `createdAt` and `name`, so
     * `list` walks the newest entries of one scope backwards and stops at its limit, `count` reads
     * only index entries, and `environments` skips from one environment to the next.
     */
    createListIndex: `CREATE INDEX IF NOT EXISTS ${table}_list ON ${table} (${WORKSPACE}, ${ENVIRONMENT}, ${CREATED_AT}, ${NAME})`,
    /** Create-if-absent: returns one row when the record was stored. */
    insert: `INSERT INTO ${table} (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING key`,
    /** Compare-and-set on `secretId` and `version`: returns one row when replaced. */
    replace: `UPDATE ${table} SET value = ? WHERE key = ? AND ${field("secretId")} = ? AND ${field("version")} = ? RETURNING key`,
    /** Returns one row when a record was removed. */
    delete: `DELETE FROM ${table} WHERE key = ? RETURNING key`,
    /** Params: workspace, environment, limit (-1: no limit). */
    list: `SELECT key, value FROM ${table} WHERE ${scope} ${order} LIMIT ?`,
    /** Params: workspace, environment, createdAt, limit. `createdAt < before.createdAt`. */
    listBefore: `SELECT key, value FROM ${table} WHERE ${scope} AND ${CREATED_AT} < ? ${order} LIMIT ?`,
    /**
     * Params: workspace, environment, createdAt, createdAt, name, limit. Strictly after the cursor
     * `(createdAt, name)`; the `<=` bound lets the index seek, the OR only filters the few entries
     * of the cursor's own millisecond.
     */
    listBeforeName: `SELECT key, value FROM ${table} WHERE ${scope} AND ${CREATED_AT} <= ? AND (${CREATED_AT} < ? OR ${NAME} < ?) ${order} LIMIT ?`,
    /**
     * Params: the scope's key range (see {@link scopeKeyRange}). Counts entries of the primary-key
     * index only: no row is read.
     */
    count: `SELECT count(*) AS n FROM ${table} WHERE key >= ? AND key < ?`,
    /** Param: workspace. A skip-scan of the index: one seek per environment. */
    environments: `WITH RECURSIVE env(name) AS (
      SELECT min(${ENVIRONMENT}) FROM ${table} WHERE ${WORKSPACE} = ?1
      UNION ALL
      SELECT (SELECT min(${ENVIRONMENT}) FROM ${table} WHERE ${WORKSPACE} = ?1 AND ${ENVIRONMENT} > env.name)
      FROM env WHERE env.name IS NOT NULL
    ) SELECT name FROM env WHERE name IS NOT NULL`,
  };
}

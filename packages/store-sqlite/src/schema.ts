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
 *
 * Old versions live in `<table>_history` (`key, version, value`; `value` in the same stored form),
 * written in the same statement as the record they belong to:
 *
 * - a replace that keeps history is one `INSERT INTO <table>_replace_v1 …`: a view whose `INSTEAD
 *   OF INSERT` trigger checks the compare-and-set (else `RAISE(ABORT)`, which undoes the
 *   statement), updates the record, stores the replaced version and trims the history, all as
 *   that one statement. One statement, because `@keyv/sqlite` gives every caller one shared
 *   connection, on which a `BEGIN … COMMIT` of one call would take in the statements of others;
 * - triggers on the record table drop a secret's history when its row is inserted (a new secret
 *   starts with none) or deleted (delete removes it).
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

/** What the compare-and-set trigger raises when the stored record is not the one expected. */
export const CONFLICT_MESSAGE = "envkeep: the record changed";

/** Every statement of the store, for one table. */
export function statements(table: string) {
  const history = `${table}_history`;
  const replaceView = `${table}_replace_v1`;
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
    /** The history table, keyed by row key and version (an index of its own). */
    createHistory: `CREATE TABLE IF NOT EXISTS ${history} (key TEXT NOT NULL, version INTEGER NOT NULL, value TEXT, PRIMARY KEY (key, version)) WITHOUT ROWID`,
    /** The view a replace that keeps history inserts into (see the module comment). */
    createReplaceView: `CREATE VIEW IF NOT EXISTS ${replaceView} (key, value, workspace, environment, created_at, secret_id, expected_version, previous, previous_version, keep) AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0`,
    createReplaceTrigger: `CREATE TRIGGER IF NOT EXISTS ${replaceView}_write INSTEAD OF INSERT ON ${replaceView} BEGIN
      SELECT RAISE(ABORT, '${CONFLICT_MESSAGE}') WHERE NOT EXISTS (
        SELECT 1 FROM ${table} WHERE key = NEW.key AND ${field("secretId")} = NEW.secret_id AND ${field("version")} = NEW.expected_version);
      UPDATE ${table} SET value = NEW.value, workspace = NEW.workspace, environment = NEW.environment, created_at = NEW.created_at WHERE key = NEW.key;
      INSERT OR REPLACE INTO ${history} (key, version, value) SELECT NEW.key, NEW.previous_version, NEW.previous WHERE NEW.keep > 0;
      DELETE FROM ${history} WHERE key = NEW.key AND version <= NEW.previous_version - NEW.keep;
    END`,
    /** A new secret starts with no history (stale rows of an earlier one go). */
    createInsertTrigger: `CREATE TRIGGER IF NOT EXISTS ${table}_history_on_insert AFTER INSERT ON ${table} BEGIN
      DELETE FROM ${history} WHERE key = NEW.key;
    END`,
    /** Deleting a secret deletes its history, in the same statement. */
    createDeleteTrigger: `CREATE TRIGGER IF NOT EXISTS ${table}_history_on_delete AFTER DELETE ON ${table} BEGIN
      DELETE FROM ${history} WHERE key = OLD.key;
    END`,
    /** Param: key. */
    get: `SELECT value, typeof(value) AS type FROM ${table} WHERE key = ?`,
    /** Create-if-absent: returns one row when the record was stored. */
    insert: `INSERT INTO ${table} (key, value, workspace, environment, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING key`,
    /**
     * Compare-and-set on `secretId` and `version`: returns one row when replaced. Rewrites the
     * index columns too, so a write also mends them.
     */
    replace: `UPDATE ${table} SET value = ?, workspace = ?, environment = ?, created_at = ? WHERE key = ? AND ${field("secretId")} = ? AND ${field("version")} = ? RETURNING key`,
    /**
     * Params: value, workspace, environment, created_at, key, secretId, expected version, the
     * replaced version's stored form, its version, versions to keep. Raises
     * {@link CONFLICT_MESSAGE} when the compare-and-set fails (nothing changed).
     */
    replaceKeepingHistory: `INSERT INTO ${replaceView} (value, workspace, environment, created_at, key, secret_id, expected_version, previous, previous_version, keep) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    /** Param: key. Newest first. */
    history: `SELECT version, value, typeof(value) AS type FROM ${history} WHERE key = ? ORDER BY version DESC`,
    /** Params: key, version. */
    historyVersion: `SELECT version, value, typeof(value) AS type FROM ${history} WHERE key = ? AND version = ?`,
    /** Params: value, key, version, expected sealed. Returns one row when replaced. */
    replaceOldVersion: `UPDATE ${history} SET value = ? WHERE key = ? AND version = ? AND CASE WHEN typeof(value) <> 'text' THEN NULL WHEN json_valid(value) THEN json_extract(value, '$.value.sealed') END = ? RETURNING key`,
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

import { chmod, mkdir, open, stat } from "node:fs/promises";
import path from "node:path";
import {
  type ChangeListener,
  type ChangeWatch,
  InvalidError,
  type ListQuery,
  type SecretRef,
  type SecretScope,
  type SecretStore,
  SecretsError,
  type StoreChanges,
  type StoredEntry,
  type StoredRecord,
  StoreError,
} from "@envkeep/core";
import KeyvSqlite from "@keyv/sqlite";
import { BACKSTOP_MS, REFRESH_AHEAD_MS, WalLog, type WalSignature } from "./file-changes.js";
import {
  CONFLICT_MESSAGE,
  INDEX_COLUMNS,
  locationOfKey,
  recordKey,
  statements,
  TABLE_NAME,
} from "./schema.js";

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * Path of the database file (`":memory:"` for a private in-memory database). The parent
   * directory and the file are created when missing, the file with mode 0600.
   */
  path: string;
  /**
   * Table that holds the records; dedicated to envkeep (letters, digits and `_`, starting with a
   * letter). Several tables can share one file.
   * @default "envkeep_secrets"
   */
  table?: string;
  /**
   * How long a statement waits for another process's write lock before failing, in milliseconds.
   * @default 5000
   */
  busyTimeoutMs?: number;
}

/** A {@link SecretStore} on a SQLite file. */
export interface SqliteStore extends SecretStore {
  readonly name: "sqlite";
  /** The database file, as given. */
  readonly path: string;
  /** The table that holds the records. */
  readonly table: string;
}

type Query = (sql: string, ...params: unknown[]) => Promise<Record<string, unknown>[]>;

/** @internal What the first call opens. */
interface Connection {
  query: Query;
  close: () => Promise<void>;
}

const DEFAULT_TABLE = "envkeep_secrets";
const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const STORE = "sqlite";

/** `code` of a sqlite3 or file-system error, if any. */
const codeOf = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";

/** The stored form of a record: known fields only, in a fixed order, optional ones when set. */
function storedForm(record: StoredRecord): string {
  const value: StoredRecord = {
    workspace: record.workspace,
    environment: record.environment,
    name: record.name,
    secretId: record.secretId,
    keys: [...record.keys],
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    version: record.version,
    sealed: record.sealed,
  };
  if (record.createdBy !== undefined) value.createdBy = record.createdBy;
  if (record.updatedBy !== undefined) value.updatedBy = record.updatedBy;
  // keyv's stored form ({ value, expires }); no expiry.
  return JSON.stringify({ value });
}

/**
 * What a row holds, read as the contract asks: the location from the row key, the other fields
 * as stored (core checks them), an unreadable marker for anything that is not keyv's stored form
 * of an object. In list results, `position` (the row's `created_at`) is the `createdAt`.
 */
function entryOf(at: SecretRef, value: unknown, type: unknown, position?: unknown): StoredEntry {
  const location = { workspace: at.workspace, environment: at.environment, name: at.name };
  const positioned = position === undefined ? {} : { createdAt: Number(position) };
  const unreadable = (why: string): StoredEntry => ({
    ...location,
    ...positioned,
    unreadable: why,
  });
  if (type !== "text" || typeof value !== "string") return unreadable(`its row holds a ${type}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return unreadable("its row is not JSON");
  }
  const record = (parsed as { value?: unknown } | null)?.value;
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    return unreadable("its row holds no record");
  }
  return { ...(record as StoredRecord), ...location, ...positioned };
}

/** Where a row key says a row lives; a key envkeep never writes lies outside every scope. */
function locationOf(key: unknown): SecretRef {
  const text = String(key);
  return locationOfKey(text) ?? { workspace: "", environment: "", name: text };
}

/** Adds the index columns to a table of an earlier layout and fills them, once, atomically. */
async function migrate(query: Query, sql: ReturnType<typeof statements>): Promise<void> {
  const missing = async () => {
    const columns = new Set((await query(sql.tableInfo)).map((column) => String(column.name)));
    return INDEX_COLUMNS.filter(([name]) => !columns.has(name));
  };
  if ((await missing()).length === 0) return;
  await query("BEGIN IMMEDIATE");
  try {
    // Asked again inside the transaction: another process may have migrated meanwhile.
    for (const [name, type] of await missing()) await query(sql.addColumn(name, type));
    await query(sql.backfill);
    await query("COMMIT");
  } catch (error) {
    await query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** Creates the file with mode 0600 (and its directory) unless it exists; never changes an existing file. */
/**
 * Creates `dir` and its missing parents (mode 0700), one level at a time. Not `mkdir`'s
 * `recursive` option: on Node 20 it loops forever under a directory that exists but refuses new
 * entries (`/proc/nope`), where this fails at once with that level's error.
 */
async function createDirectories(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = dir; ; current = path.dirname(current)) {
    try {
      await stat(current);
      break;
    } catch (error) {
      if (codeOf(error) !== "ENOENT" || path.dirname(current) === current) throw error;
      missing.unshift(current);
    }
  }
  for (const level of missing) {
    try {
      await mkdir(level, { mode: 0o700 });
    } catch (error) {
      if (codeOf(error) !== "EEXIST") throw error; // another process made it meanwhile
    }
  }
}

async function createFile(file: string): Promise<void> {
  await createDirectories(path.dirname(path.resolve(file)));
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, "wx", 0o600);
  } catch (error) {
    if (codeOf(error) === "EEXIST") return;
    throw error;
  }
  await handle.close();
  await chmod(file, 0o600); // in case the umask was unusual
}

/** Runs `work`, retrying while another process holds the lock past the busy timeout at start-up. */
async function retryBusy<T>(work: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!codeOf(error).startsWith("SQLITE_BUSY") || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
    }
  }
}

/**
 * A store on a SQLite file, built on keyv and `@keyv/sqlite`: what one machine runs, shared
 * safely by several processes (WAL mode, a busy timeout, and single-statement atomic writes).
 *
 * Nothing is opened until the first call; a file that cannot be opened (bad path, no permission,
 * not a SQLite database) makes that call, and every later one, reject with a `StoreError` naming
 * the path.
 *
 * @throws {InvalidError} at once for a missing path, a bad table name or a bad busy timeout.
 * @example
 * ```ts
 * import { generateMasterKey, SecretManager } from "@envkeep/core";
 * import { sqliteStore } from "@envkeep/store-sqlite";
 *
 * const secrets = new SecretManager({
 *   store: sqliteStore({ path: "./.envkeep/secrets.db" }),
 *   masterKey: process.env.ENVKEEP_MASTER_KEY ?? generateMasterKey(),
 * });
 * await secrets.create("api-keys", { API_KEY: "sk-1" });
 * await secrets.close();
 * ```
 */
export function sqliteStore(options: SqliteStoreOptions): SqliteStore {
  if (!options || typeof options.path !== "string" || options.path.trim() === "") {
    throw new InvalidError('sqliteStore needs a database path, e.g. { path: "./secrets.db" }');
  }
  const file = options.path;
  const table = options.table ?? DEFAULT_TABLE;
  if (typeof table !== "string" || !TABLE_NAME.test(table)) {
    throw new InvalidError(
      `invalid SQLite table name ${JSON.stringify(table)}: use letters, digits and _, starting with a letter`,
    );
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new InvalidError("invalid busyTimeoutMs: expected a non-negative integer (milliseconds)");
  }
  const sql = statements(table);
  const where = file === ":memory:" ? file : path.resolve(file);
  const fail = (what: string, cause: unknown) =>
    new StoreError(STORE, `${what} (${where})`, { cause });

  let connecting: Promise<Connection> | undefined;
  let closing: Promise<void> | undefined;

  const connect = async (): Promise<Connection> => {
    if (file !== ":memory:") await createFile(where);
    // busyTimeout is applied by the adapter right after opening, before its CREATE TABLE.
    const adapter = new KeyvSqlite({ uri: `sqlite://${where}`, table, busyTimeout: busyTimeoutMs });
    // The adapter emits "error" when it cannot open the file (an unheard one would throw); the
    // same failure reaches us as the rejection of the first query.
    adapter.on("error", () => {});
    const query = adapter.query as Query;
    try {
      // WAL: readers never wait for a writer. (Where a file system cannot do WAL, SQLite keeps its
      // rollback journal: still correct across processes, readers just wait for writers.)
      await retryBusy(() => query("PRAGMA journal_mode = WAL"));
      await retryBusy(() => migrate(query, sql));
      await retryBusy(() => query(sql.dropOldIndex));
      await retryBusy(() => query(sql.createIndex));
      await retryBusy(() => query(sql.createHistory));
      await retryBusy(() => query(sql.createReplaceView));
      await retryBusy(() => query(sql.createReplaceTrigger));
      await retryBusy(() => query(sql.createInsertTrigger));
      await retryBusy(() => query(sql.createDeleteTrigger));
    } catch (error) {
      adapter.close().catch(() => {});
      throw error;
    }
    return { query, close: () => adapter.close() };
  };

  /** The open connection; a failed open is retried by the next call. */
  const ready = async (): Promise<Connection> => {
    if (closing) throw new StoreError(STORE, `store is closed (${where})`);
    if (!connecting) {
      const attempt = connect();
      connecting = attempt;
      attempt.catch(() => {
        if (connecting === attempt) connecting = undefined;
      });
    }
    try {
      return await connecting;
    } catch (error) {
      throw fail("cannot open the database", error);
    }
  };

  /** Runs one operation on the open connection; every failure becomes a StoreError. */
  const run = async <T>(what: string, work: (db: Connection) => Promise<T>): Promise<T> => {
    const db = await ready();
    try {
      return await work(db);
    } catch (error) {
      if (error instanceof SecretsError) throw error;
      throw fail(`${what} failed`, error);
    }
  };

  const key = (ref: SecretRef) => recordKey(ref.workspace, ref.environment, ref.name);

  /** Listeners of this store's watches: told of each write made through this connection. */
  const listeners = new Set<ChangeListener>();
  const written = (ref: SecretRef, changed: boolean): boolean => {
    if (changed) {
      const at = { workspace: ref.workspace, environment: ref.environment, name: ref.name };
      for (const listener of listeners) listener(at);
    }
    return changed;
  };

  /** The write-ahead log every commit writes (none for a private in-memory database). */
  const wal = file === ":memory:" ? undefined : new WalLog(`${where}-wal`);

  /**
   * A watch: writes through this store are reported as they complete; commits of every other
   * connection (other processes, other stores on the file, someone editing the file) are seen
   * through `PRAGMA data_version`, which changes exactly when another connection committed, and
   * costs no table read — but one round trip to SQLite's thread (tens of µs). So `current()`
   * first looks at the database's write-ahead log (see {@link WalLog.seen}): while its signature
   * is the one a `data_version` check saw, settled, less than {@link BACKSTOP_MS} ago, nobody has
   * committed since, and it answers at once; in the last {@link REFRESH_AHEAD_MS} of that time it
   * also starts the next check, so that reads go on without waiting for it. Otherwise it asks
   * `data_version` (calls that arrive while one check is running share the next one, which
   * starts after they arrived) and reports "anything changed" when it moved. A private in-memory
   * database has no other connection: only this store's writes, reported as they complete.
   */
  const watch = (listener: ChangeListener): ChangeWatch => {
    listeners.add(listener);
    let stopped = false;
    let seen: number | undefined;
    let running: Promise<boolean> | undefined;
    let next: Promise<boolean> | undefined;
    /** The settled log signature the last `data_version` check vouched for, until when. */
    let vouched: { log: WalSignature; until: number } | undefined;
    const check = async (): Promise<boolean> => {
      try {
        const { query } = await ready();
        const at = Date.now();
        // Looked at before asking: a commit after this look changes the log from what it saw.
        const log = wal?.seen(at);
        const [row] = await query("PRAGMA data_version");
        const version = Number(row?.data_version);
        // The first answer is a baseline: what was read before it may predate it.
        if (version !== seen) listener(undefined);
        seen = version;
        vouched = log?.settled ? { log, until: at + BACKSTOP_MS } : undefined;
        return !stopped;
      } catch {
        seen = undefined;
        vouched = undefined;
        listener(undefined);
        return false;
      }
    };
    const startCheck = (): Promise<boolean> => {
      const started = check().finally(() => {
        running = undefined;
      });
      running = started;
      return started;
    };
    const current = (): boolean | Promise<boolean> => {
      if (stopped) return false;
      if (wal === undefined) return true;
      if (vouched !== undefined) {
        const now = Date.now();
        if (now < vouched.until && wal.matches(vouched.log)) {
          // Still vouched for: the next check starts ahead of the end, so no read waits for it.
          if (running === undefined && now >= vouched.until - REFRESH_AHEAD_MS) void startCheck();
          return true;
        }
      }
      if (running === undefined) return startCheck();
      // One is running: it may have read the version before this call began. Share the next.
      next ??= running.then(() => {
        next = undefined;
        return current();
      });
      return next;
    };
    return {
      lagMs: 0,
      current,
      close: async () => {
        stopped = true;
        listeners.delete(listener);
      },
    };
  };

  const changes: StoreChanges = { reportsBackendEdits: true, watch };

  return {
    name: STORE,
    path: file,
    table,
    changes,

    get: (ref) =>
      run("get", async ({ query }) => {
        const [row] = await query(sql.get, key(ref));
        return row === undefined ? undefined : entryOf(ref, row.value, row.type);
      }),

    create: (record) =>
      run("create", async ({ query }) => {
        const rows = await query(
          sql.insert,
          key(record),
          storedForm(record),
          record.workspace,
          record.environment,
          record.createdAt,
        );
        return written(record, rows.length === 1);
      }),

    replace: (record, expectedVersion, options = {}) =>
      run("replace", async ({ query }) => {
        const { history } = options;
        if (history) {
          const previous = history.keep > 0 ? history.previous : undefined;
          if (history.keep > 0 && !previous) {
            throw new InvalidError("replace: history.previous is required when history.keep > 0");
          }
          try {
            await query(
              sql.replaceKeepingHistory,
              storedForm(record),
              record.workspace,
              record.environment,
              record.createdAt,
              key(record),
              record.secretId,
              expectedVersion,
              previous ? storedForm(previous) : null,
              expectedVersion,
              history.keep,
            );
          } catch (error) {
            if (error instanceof Error && error.message.includes(CONFLICT_MESSAGE)) return false;
            throw error;
          }
          return written(record, true);
        }
        const rows = await query(
          sql.replace,
          storedForm(record),
          record.workspace,
          record.environment,
          record.createdAt,
          key(record),
          record.secretId,
          expectedVersion,
        );
        return written(record, rows.length === 1);
      }),

    delete: (ref) =>
      run("delete", async ({ query }) =>
        written(ref, (await query(sql.delete, key(ref))).length === 1),
      ),

    history: (ref, historyQuery = {}) =>
      run("history", async ({ query }) => {
        const rows =
          historyQuery.version === undefined
            ? await query(sql.history, key(ref))
            : await query(sql.historyVersion, key(ref), historyQuery.version);
        return rows.map((row) => {
          const entry = entryOf(ref, row.value, row.type);
          return "unreadable" in entry ? { ...entry, version: Number(row.version) } : entry;
        });
      }),

    replaceOldVersion: (record, expectedSealed) =>
      run("replaceOldVersion", async ({ query }) => {
        const rows = await query(
          sql.replaceOldVersion,
          storedForm(record),
          key(record),
          record.version,
          expectedSealed,
        );
        return rows.length === 1;
      }),

    list: (scope: SecretScope, listQuery: ListQuery = {}) =>
      run("list", async ({ query }) => {
        const { before } = listQuery;
        const limit = listQuery.limit ?? -1;
        if (limit === 0) return [];
        const { workspace, environment } = scope;
        const rows: Record<string, unknown>[] = !before
          ? await query(sql.list, workspace, environment, limit)
          : before.name === undefined
            ? await query(sql.listBefore, workspace, environment, before.createdAt, limit)
            : await query(
                sql.listBeforeKey,
                workspace,
                environment,
                before.createdAt,
                before.createdAt,
                recordKey(workspace, environment, before.name),
                limit,
              );
        return rows.map((row) => entryOf(locationOf(row.key), row.value, row.type, row.created_at));
      }),

    count: (scope) =>
      run("count", async ({ query }) => {
        const [row] = await query(sql.count, scope.workspace, scope.environment);
        return Number(row?.n ?? 0);
      }),

    environments: (workspace) =>
      run("environments", async ({ query }) =>
        (await query(sql.environments, workspace)).map((row) => String(row.name)),
      ),

    close: () => {
      wal?.close();
      closing ??= (async () => {
        const pending = connecting;
        if (!pending) return;
        let db: Connection;
        try {
          db = await pending;
        } catch {
          return; // never opened: nothing to release
        }
        try {
          await db.close();
        } catch (error) {
          throw fail("close failed", error);
        }
      })();
      return closing;
    },
  };
}

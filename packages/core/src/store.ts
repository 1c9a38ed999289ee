/**
 * The storage contract every envkeep store implements.
 *
 * A store keeps {@link StoredRecord}s: public metadata plus one opaque `sealed` string that holds
 * the encrypted contents. Stores never see a value in the clear and must not interpret `sealed`.
 * All timestamps are milliseconds since the Unix epoch. Every method either resolves or rejects
 * with a `StoreError` (the backend error as `cause`); none may hang without bound.
 */

/** Identity of one named secret. */
export interface SecretRef {
  /** Workspace name (already validated). */
  workspace: string;
  /** Environment name (already validated). */
  environment: string;
  /** Secret name (already validated). */
  name: string;
}

/** One workspace + environment: the unit that `list` and `count` work on. */
export interface SecretScope {
  workspace: string;
  environment: string;
}

/**
 * What a store keeps for one secret. Everything but `sealed` is readable metadata, and all of it
 * is authenticated: `sealed` carries a tag over the identity and every other field, so core
 * detects any change to any of them (see `crypto/sealed-record.ts`).
 *
 * A store reads records back from a backend that someone else may have written to. So on every
 * read it reports `workspace`, `environment` and `name` from the **location** it read (the row
 * key, the Redis key, the index entry), never from the stored value, and returns the other
 * fields as stored without trusting or interpreting them: core checks each one.
 */
export interface StoredRecord extends SecretRef {
  /** Stable id: `st-` + random URL-safe characters. Changes only with delete + create. */
  secretId: string;
  /** Key names, sorted. Metadata: checked against the decrypted contents on every open. */
  keys: string[];
  /** Creation time, ms since epoch. In `list` results: the position the store ordered by. */
  createdAt: number;
  /** Time of the last change of contents, ms since epoch. */
  updatedAt: number;
  /** 1 on create, +1 on every change of contents. */
  version: number;
  /** Actor that created the secret, when the manager had one. */
  createdBy?: string;
  /** Actor that last changed the secret, when the manager had one. */
  updatedBy?: string;
  /** The encrypted contents and metadata tag (format owned by core's crypto). Opaque to stores. */
  sealed: string;
}

/**
 * A location whose stored value is not a record at all (not JSON, not an object, the wrong
 * backend type). Stores return it instead of throwing, so one damaged record fails only itself.
 */
export interface UnreadableRecord extends SecretRef {
  /** Why it could not be read, for messages. Never the stored bytes. */
  unreadable: string;
  /** Its position in the list order (`list` results always carry one the store ordered by). */
  createdAt?: number;
  /** In `history` results: the version it is kept under. */
  version?: number;
}

/** What a store found at one location: a record to be checked, or an unreadable value. */
export type StoredEntry = StoredRecord | UnreadableRecord;

/** True when a store could not even parse what it found at a location. */
export function isUnreadable(entry: object): entry is UnreadableRecord {
  return typeof (entry as Partial<UnreadableRecord>).unreadable === "string";
}

/** Position in the list order; see {@link ListQuery.before}. */
export interface ListCursor {
  createdAt: number;
  /** With a name: also records of the same `createdAt` whose name sorts before this one. */
  name?: string;
}

/** Options of {@link SecretStore.list}. */
export interface ListQuery {
  /** Return at most this many records (a non-negative integer). Absent: all. */
  limit?: number;
  /**
   * Only records strictly after this cursor in list order: `createdAt < before.createdAt`, or,
   * when `before.name` is given, equal `createdAt` and `name < before.name` (by code unit).
   */
  before?: ListCursor;
}

/**
 * What {@link SecretStore.replace} does to the secret's history (its old versions) in the same
 * atomic step as the replace.
 */
export interface HistoryWrite {
  /**
   * The replaced version, as core sealed it for the history (its `version` is the replaced
   * version's; its other fields are to be kept as given). Stored when `keep > 0`, and then
   * always given.
   */
  previous?: StoredRecord;
  /**
   * Old versions to keep once `previous` is in: those with `version <= record.version - 1 - keep`
   * are dropped in the same step. `0` keeps none (and drops whatever history there was).
   */
  keep: number;
}

/** Options of {@link SecretStore.replace}. */
export interface ReplaceOptions {
  /**
   * Also move the replaced version into the history and trim it, atomically with the replace and
   * only when the replace happens. Absent: the history is left exactly as it is (a re-wrap that
   * keeps the version).
   */
  history?: HistoryWrite;
}

/** Options of {@link SecretStore.history}. */
export interface HistoryQuery {
  /** Only the entry stored for this version (a positive integer): zero or one entries. */
  version?: number;
}

/**
 * Called by a {@link ChangeWatch} with the location of a record that changed (was created,
 * replaced or deleted), or with `undefined` when anything may have changed (the feed lost track:
 * a reconnection, another process's commit on SQLite): then every location counts as changed.
 */
export type ChangeListener = (changed: SecretRef | undefined) => void;

/**
 * One subscription to a store's changes: what the manager's cache uses to know that what it read
 * is still what the store holds. See {@link StoreChanges}.
 */
export interface ChangeWatch {
  /**
   * The longest a change may take to be reported, in milliseconds: `current()` answering `true`
   * promises that every change completed more than `lagMs` before the call was reported to the
   * listener before it answered. `0` for a store whose `current()` reports everything completed
   * before the call (memory, SQLite); Redis's invalidation messages travel, so it is above 0.
   */
  readonly lagMs: number;
  /**
   * Brings the feed up to date (reporting what changed to the listener) and says whether it can
   * vouch for it: `true` as described at {@link lagMs}; `false` while it cannot (its channel is
   * down, it has not heard from the backend within `lagMs`): the cache must then serve nothing.
   * Never rejects. Synchronous where the store can answer without I/O.
   */
  current(): boolean | Promise<boolean>;
  /** Stops reporting and releases what the watch opened. Idempotent. */
  close(): Promise<void>;
}

/**
 * Optional capability of a store (see {@link SecretStore.changes}): a feed of which records
 * changed, written by anyone that writes through envkeep — this process, other processes, other
 * hosts. `SecretManager`'s `cache` option needs it; on a store without it the cache stays off.
 */
export interface StoreChanges {
  /**
   * True when writes that bypass envkeep (someone editing the backend directly: another SQLite
   * connection, a raw write into the memory store's backing map) are reported too. When false
   * (Redis: only envkeep's own scripts announce a change), such an edit is seen by a cache only
   * once its entry expires (`cache.ttlMs`); what the cache serves meanwhile is still the last
   * record envkeep authenticated there, never the edited one.
   */
  readonly reportsBackendEdits: boolean;
  /**
   * Starts a watch that reports changes to `listener` from now on (never for changes completed
   * before the call). Cheap to call; opens what it needs (a subscription) lazily or at once.
   */
  watch(listener: ChangeListener): ChangeWatch;
}

/**
 * The contract between `SecretManager` and a storage backend.
 *
 * Atomicity: `create`, `replace` and `delete` are each atomic with respect to every other client
 * of the same backend (other processes and machines included): no reader ever sees a partial
 * record, and a record, its history and whatever index lists it change together.
 *
 * History: a secret's old versions are kept beside its current record, keyed by version, and
 * written only by `replace` (with {@link ReplaceOptions.history}), `create` (which starts with
 * none), `delete` (which removes them with the record) and {@link SecretStore.replaceOldVersion}.
 */
export interface SecretStore {
  /** Short name used in error messages, e.g. `"memory"`, `"sqlite"`, `"redis"`. */
  readonly name: string;

  /**
   * What is stored at `ref`'s location, or `undefined` when nothing is. Its `workspace`,
   * `environment` and `name` are `ref`'s; a value that is not a record is an
   * {@link UnreadableRecord}, never a rejection.
   */
  get(ref: SecretRef): Promise<StoredEntry | undefined>;

  /**
   * Stores `record` only if no record with the same identity exists (create-if-absent), and
   * removes any history left at that location, in the same atomic step: a new secret starts
   * with no old versions. Resolves `true` when stored, `false` when one already existed
   * (nothing changed).
   */
  create(record: StoredRecord): Promise<boolean>;

  /**
   * Compare-and-set: replaces the stored record of `record`'s identity with `record` only if the
   * stored one has the same `secretId` and `version === expectedVersion`. Resolves `true` when
   * replaced; `false` when there is no record, or another `secretId` or version (nothing changed).
   * With `options.history`, the same atomic step stores `history.previous` under its version
   * (when `keep > 0`) and drops the entries older than `keep` allows; a `false` changes no
   * history either.
   */
  replace(
    record: StoredRecord,
    expectedVersion: number,
    options?: ReplaceOptions,
  ): Promise<boolean>;

  /**
   * Removes whatever is stored at `ref`'s location (a record, an unreadable value, their history,
   * and their index and metadata entries), whether or not its metadata is intact. Resolves `true`
   * if a record or an unreadable value was removed, `false` if nothing was there.
   */
  delete(ref: SecretRef): Promise<boolean>;

  /**
   * The old versions kept for `ref`, newest first (by the version each is stored under), or only
   * the one of `query.version`. `[]` when there are none (or no secret). Like `get`, each entry's
   * `workspace`, `environment` and `name` are `ref`'s and the rest is returned as stored; a value
   * that is not a record is an {@link UnreadableRecord} carrying the version it is kept under.
   * One read: no entry reflects a write the others don't.
   */
  history(ref: SecretRef, query?: HistoryQuery): Promise<StoredEntry[]>;

  /**
   * Replaces the history entry stored for `record`'s identity and `record.version` with `record`
   * (key rotation re-wraps old versions), only if that entry's `sealed` is `expectedSealed`.
   * Resolves `true` when replaced, `false` when the entry is gone or changed (nothing changed).
   */
  replaceOldVersion(record: StoredRecord, expectedSealed: string): Promise<boolean>;

  /**
   * Entries of one scope's index, newest first: ordered by `createdAt` descending, then by `name`
   * descending (code-unit order) among equal `createdAt`. Must use an index, not read every
   * record of the scope, when `limit` is small. Each entry's location fields come from the index
   * entry it was found by, and its `createdAt` is the position the store ordered by, so that a
   * cursor built from the last entry continues exactly after it. One read: no entry reflects a
   * write the others don't. An entry whose location turns out to lie outside `scope` (a damaged
   * index) is returned as found: core leaves it out.
   */
  list(scope: SecretScope, query?: ListQuery): Promise<StoredEntry[]>;

  /** Number of records in one scope. */
  count(scope: SecretScope): Promise<number>;

  /**
   * Names of the environments of `workspace` that hold (or once held) records, in any order.
   * May include environments that are empty now; must include every one that is not.
   */
  environments(workspace: string): Promise<string[]>;

  /**
   * Optional: a feed of changes, for the manager's opt-in cache (see {@link StoreChanges}). A
   * store offers it only when it can report every write made through envkeep on its backend,
   * from any process, within a known bound.
   */
  readonly changes?: StoreChanges;

  /** Releases connections and handles the store opened itself (open change watches too). Idempotent. */
  close(): Promise<void>;
}

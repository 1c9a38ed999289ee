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

/** What a store keeps for one secret. Everything but `sealed` is readable metadata. */
export interface StoredRecord extends SecretRef {
  /** Stable id: `st-` + random URL-safe characters. Changes only with delete + create. */
  secretId: string;
  /** Key names, sorted. Metadata: checked against the decrypted contents on every open. */
  keys: string[];
  /** Creation time, ms since epoch. */
  createdAt: number;
  /** Time of the last change of contents, ms since epoch. */
  updatedAt: number;
  /** 1 on create, +1 on every change of contents. */
  version: number;
  /** Actor that created the secret, when the manager had one. */
  createdBy?: string;
  /** Actor that last changed the secret, when the manager had one. */
  updatedBy?: string;
  /** The encrypted contents (format owned by core's crypto). Opaque to stores. */
  sealed: string;
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
 * The contract between `SecretManager` and a storage backend.
 *
 * Atomicity: `create`, `replace` and `delete` are each atomic with respect to every other client
 * of the same backend (other processes and machines included): no reader ever sees a partial
 * record, and a record and whatever index lists it change together.
 */
export interface SecretStore {
  /** Short name used in error messages, e.g. `"memory"`, `"sqlite"`, `"redis"`. */
  readonly name: string;

  /** The record of `ref`, or `undefined` when there is none. */
  get(ref: SecretRef): Promise<StoredRecord | undefined>;

  /**
   * Stores `record` only if no record with the same identity exists (create-if-absent).
   * Resolves `true` when stored, `false` when one already existed (nothing changed).
   */
  create(record: StoredRecord): Promise<boolean>;

  /**
   * Compare-and-set: replaces the stored record of `record`'s identity with `record` only if the
   * stored one has the same `secretId` and `version === expectedVersion`. Resolves `true` when
   * replaced; `false` when there is no record, or another `secretId` or version (nothing changed).
   */
  replace(record: StoredRecord, expectedVersion: number): Promise<boolean>;

  /** Removes the record of `ref`. Resolves `true` if one was removed, `false` if none existed. */
  delete(ref: SecretRef): Promise<boolean>;

  /**
   * Records of one scope, newest first: ordered by `createdAt` descending, then by `name`
   * descending (code-unit order) among equal `createdAt`. Must use an index, not read every
   * record of the scope, when `limit` is small.
   */
  list(scope: SecretScope, query?: ListQuery): Promise<StoredRecord[]>;

  /** Number of records in one scope. */
  count(scope: SecretScope): Promise<number>;

  /**
   * Names of the environments of `workspace` that hold (or once held) records, in any order.
   * May include environments that are empty now; must include every one that is not.
   */
  environments(workspace: string): Promise<string[]>;

  /** Releases connections and handles the store opened itself. Idempotent. */
  close(): Promise<void>;
}

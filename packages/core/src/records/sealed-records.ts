import type { RecordCache } from "../cache/record-cache.js";
import type { Keyring } from "../crypto/keyring.js";
import {
  describeSecret,
  openRecord,
  openVerified,
  type RecordHeader,
  rewrapRecord,
  sealRecord,
  type VerifiedRecord,
  verifyRecord,
} from "../crypto/sealed-record.js";
import { IntegrityError, SecretsError, StoreError } from "../errors.js";
import { newSecretId } from "../ids.js";
import { KeyedLock } from "../keyed-lock.js";
import {
  type HistoryWrite,
  isUnreadable,
  type SecretRef,
  type SecretStore,
  type StoredRecord,
} from "../store.js";
import { checkRecordShape } from "./record-shape.js";
import { locationKey, VerificationMemo } from "./verification-memo.js";

/**
 * Reads and writes sealed records of one store for one keyring: the only place that talks to the
 * store. Every record read is checked against the identity that was asked for and authenticated
 * before anyone sees it; every write is addressed by that identity, never by fields read back.
 */
export class SealedRecords {
  readonly store: SecretStore;
  readonly keyring: Keyring;
  readonly #actor: string | undefined;
  readonly #locks: KeyedLock;
  readonly #memo: VerificationMemo;
  readonly #cache: RecordCache | undefined;

  constructor(
    store: SecretStore,
    keyring: Keyring,
    actor: string | undefined,
    cache?: RecordCache,
    shared: { locks: KeyedLock; memo: VerificationMemo } = {
      locks: new KeyedLock(),
      memo: new VerificationMemo(),
    },
  ) {
    this.store = store;
    this.keyring = keyring;
    this.#actor = actor;
    this.#cache = cache;
    this.#locks = shared.locks;
    this.#memo = shared.memo;
  }

  /**
   * The same records written as another actor: same store and keys, and the same in-process
   * write locks, verification memo and cache (one cache per manager, not per actor view).
   */
  withActor(actor: string | undefined): SealedRecords {
    return new SealedRecords(this.store, this.keyring, actor, this.#cache, {
      locks: this.#locks,
      memo: this.#memo,
    });
  }

  /** Whether reads of `readCached` may be served from the manager's cache. */
  get caching(): boolean {
    return this.#cache !== undefined;
  }

  /** Runs `work` exclusively for `ref` within this process (writers queue instead of spinning). */
  exclusive<T>(ref: SecretRef, work: () => Promise<T>): Promise<T> {
    return this.#locks.run(JSON.stringify([ref.workspace, ref.environment, ref.name]), work);
  }

  /** Runs a store call; anything that is not already an envkeep error becomes a StoreError. */
  async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof SecretsError) throw error;
      throw new StoreError(this.store.name, "store operation failed", { cause: error });
    }
  }

  /**
   * The record at `ref`, its metadata authenticated (contents not decrypted), or `undefined`.
   * @throws {IntegrityError} when what is stored there is not exactly a record sealed for `ref`.
   */
  async read(ref: SecretRef): Promise<StoredRecord | undefined> {
    return (await this.readVerified(ref))?.record;
  }

  /**
   * The record at `ref` checked against `ref` and authenticated (see `read`), with its sealed
   * fields parsed for `openVerified`, or `undefined`. A record equal field by field to one this
   * manager authenticated before is not authenticated again (see {@link VerificationMemo}).
   */
  async readVerified(ref: SecretRef): Promise<VerifiedRecord | undefined> {
    const entry = await this.call(() => this.store.get(ref));
    if (entry === undefined) return undefined;
    const record = checkRecordShape(entry, ref);
    const key = locationKey(ref);
    const known = this.#memo.recall(key, record);
    if (known !== undefined) return known;
    const verified = verifyRecord(record, this.keyring);
    this.#memo.remember(key, verified);
    return verified;
  }

  /**
   * Like `readVerified`, but served from the manager's cache when it holds `ref` and may serve it
   * (see {@link RecordCache}); what is read from the store is kept there. For `info` and
   * `resolve` only: writes read through `read`, never from the cache.
   */
  readCached(ref: SecretRef): VerifiedRecord | Promise<VerifiedRecord | undefined> {
    const cache = this.#cache;
    if (cache === undefined) return this.readVerified(ref);
    const key = locationKey(ref);
    const hit = cache.lookup(key);
    // A hit the feed vouches for without I/O is returned as it is: no promise, no microtask.
    if (hit instanceof Promise) {
      return hit.then((cached) => cached ?? this.#readAndRemember(cache, key, ref));
    }
    return hit ?? this.#readAndRemember(cache, key, ref);
  }

  /** A cache miss: reads `ref` from the store and keeps it unless a change raced with the read. */
  async #readAndRemember(
    cache: RecordCache,
    key: string,
    ref: SecretRef,
  ): Promise<VerifiedRecord | undefined> {
    const token = cache.begin();
    const verified = await this.readVerified(ref);
    if (verified !== undefined) cache.remember(key, verified, token);
    return verified;
  }

  /** Forgets what the cache holds for `ref`: it was just written through this manager. */
  #written(ref: SecretRef): void {
    this.#cache?.forget(locationKey(ref));
  }

  /** Stops the cache (its change watch) and forgets what it holds. */
  async closeCache(): Promise<void> {
    await this.#cache?.close();
  }

  /** The record at `ref` and its decrypted contents, or `undefined`. */
  async readOpen(
    ref: SecretRef,
  ): Promise<{ record: StoredRecord; entries: Record<string, string> } | undefined> {
    const verified = await this.readVerified(ref);
    if (verified === undefined) return undefined;
    return { record: verified.record, entries: openVerified(verified) };
  }

  /** Decrypts a record that `read` returned. */
  open(record: StoredRecord): Record<string, string> {
    return openRecord(record, this.keyring);
  }

  /** A new secret at `ref` (new secretId, version 1), sealed. */
  newRecord(ref: SecretRef, entries: Readonly<Record<string, string>>): StoredRecord {
    const now = Date.now();
    const header: RecordHeader = {
      workspace: ref.workspace,
      environment: ref.environment,
      name: ref.name,
      secretId: newSecretId(),
      keys: Object.keys(entries).sort(),
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    if (this.#actor !== undefined) {
      header.createdBy = this.#actor;
      header.updatedBy = this.#actor;
    }
    return { ...header, sealed: sealRecord(header, entries, this.keyring) };
  }

  /** The record that replaces `current` (an authenticated record) with new contents. */
  nextRecord(current: StoredRecord, entries: Readonly<Record<string, string>>): StoredRecord {
    const header: RecordHeader = {
      workspace: current.workspace,
      environment: current.environment,
      name: current.name,
      secretId: current.secretId,
      keys: Object.keys(entries).sort(),
      createdAt: current.createdAt,
      // Never earlier than the last change, even when this host's clock is behind.
      updatedAt: Math.max(Date.now(), current.updatedAt),
      version: current.version + 1,
    };
    const updatedBy = this.#actor ?? current.updatedBy;
    if (current.createdBy !== undefined) header.createdBy = current.createdBy;
    if (updatedBy !== undefined) header.updatedBy = updatedBy;
    return { ...header, sealed: sealRecord(header, entries, this.keyring) };
  }

  /** `record` (authenticated) with its data key re-wrapped under the primary master key. */
  rewrapped(record: StoredRecord): StoredRecord {
    return { ...record, sealed: rewrapRecord(record, this.keyring) };
  }

  /** Create-if-absent. */
  async create(record: StoredRecord): Promise<boolean> {
    try {
      return await this.call(() => this.store.create(record));
    } finally {
      this.#written(record);
    }
  }

  /**
   * Compare-and-set of `next` over `current` (the authenticated record it was built from), with
   * `history` (when given) moving `current` into the secret's history in the same atomic step.
   * Resolves `false` when another writer got there first.
   * @throws {IntegrityError} when the store refuses although `current` is still what it holds:
   * its compare-and-set metadata is out of step with the record, and no retry can succeed.
   */
  async replace(
    next: StoredRecord,
    current: StoredRecord,
    history?: HistoryWrite,
  ): Promise<boolean> {
    const options = history ? { history } : undefined;
    let replaced: boolean;
    try {
      replaced = await this.call(() => this.store.replace(next, current.version, options));
    } finally {
      this.#written(next);
    }
    if (replaced) return true;
    const now = await this.call(() => this.store.get(current));
    if (
      now !== undefined &&
      !isUnreadable(now) &&
      now.sealed === current.sealed &&
      now.version === current.version &&
      now.secretId === current.secretId
    ) {
      throw new IntegrityError(
        `${describeSecret(current)} is damaged: the store refuses to replace it although it is unchanged (its index or metadata is out of step); delete and create it again`,
      );
    }
    return false;
  }

  /** Removes whatever is stored at `ref`. */
  async delete(ref: SecretRef): Promise<boolean> {
    try {
      return await this.call(() => this.store.delete(ref));
    } finally {
      this.#written(ref);
    }
  }
}

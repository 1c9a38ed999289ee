import type { Keyring } from "../crypto/keyring.js";
import {
  describeSecret,
  openRecord,
  type RecordHeader,
  rewrapRecord,
  sealRecord,
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

  constructor(
    store: SecretStore,
    keyring: Keyring,
    actor: string | undefined,
    locks: KeyedLock = new KeyedLock(),
  ) {
    this.store = store;
    this.keyring = keyring;
    this.#actor = actor;
    this.#locks = locks;
  }

  /** The same records written as another actor (same store, keys and in-process write locks). */
  withActor(actor: string | undefined): SealedRecords {
    return new SealedRecords(this.store, this.keyring, actor, this.#locks);
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
    const entry = await this.call(() => this.store.get(ref));
    if (entry === undefined) return undefined;
    const record = checkRecordShape(entry, ref);
    verifyRecord(record, this.keyring);
    return record;
  }

  /** The record at `ref` and its decrypted contents, or `undefined`. */
  async readOpen(
    ref: SecretRef,
  ): Promise<{ record: StoredRecord; entries: Record<string, string> } | undefined> {
    const entry = await this.call(() => this.store.get(ref));
    if (entry === undefined) return undefined;
    const record = checkRecordShape(entry, ref);
    return { record, entries: openRecord(record, this.keyring) };
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
  create(record: StoredRecord): Promise<boolean> {
    return this.call(() => this.store.create(record));
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
    if (await this.call(() => this.store.replace(next, current.version, options))) return true;
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
  delete(ref: SecretRef): Promise<boolean> {
    return this.call(() => this.store.delete(ref));
  }
}

import {
  describeSecret,
  openAndResealAs,
  openRecord,
  resealAs,
  rewrapRecord,
  verifyRecord,
} from "../crypto/sealed-record.js";
import {
  ConflictError,
  IntegrityError,
  InvalidError,
  NotFoundError,
  UnknownKeyError,
} from "../errors.js";
import { backoff, MAX_WRITE_ATTEMPTS } from "../retry.js";
import type { HistoryWrite, SecretRef, StoredEntry, StoredRecord } from "../store.js";
import { assertWithinLimits, type SecretLimits } from "../validation/validate.js";
import { checkRecordShape } from "./record-shape.js";
import type { SealedRecords } from "./sealed-records.js";
import { notFound, type WriteOptions } from "./writes.js";

/** Old versions a manager keeps per secret unless told otherwise. */
export const DEFAULT_MAX_VERSIONS = 10;

/** The largest `maxVersions` a manager accepts. */
export const MAX_MAX_VERSIONS = 1000;

/** Which keys one version added, changed and removed against the version before it. */
export interface VersionChange {
  /** Keys it added, sorted. */
  added: string[];
  /** Keys whose value it changed, sorted. */
  changed: string[];
  /** Keys it removed, sorted. */
  removed: string[];
}

/** One version of a named secret, as `SecretManager.versions` reports it. Never a value. */
export interface SecretVersion {
  /** The version number: 1 on create, +1 on every change of contents. */
  version: number;
  /** When this version was written. */
  updatedAt: Date;
  /** The actor that wrote it, if the writing manager had one. */
  updatedBy?: string;
  /** Its key names, sorted. */
  keys: string[];
  /**
   * What it changed against the version before it (names only). Version 1 added every key.
   * Absent when the version before it is no longer kept.
   */
  change?: VersionChange;
}

/**
 * A history entry at `ref` that fails its checks: the message names the secret and the version,
 * never a value.
 */
function damagedVersion(ref: SecretRef, version: number, why: string): IntegrityError {
  return new IntegrityError(`version ${version} of ${describeSecret(ref)} ${why}`);
}

/** @throws {InvalidError} unless `value` is a whole number from 0 to {@link MAX_MAX_VERSIONS}. */
export function checkMaxVersions(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_VERSIONS;
  if (
    !Number.isSafeInteger(value) ||
    (value as number) < 0 ||
    (value as number) > MAX_MAX_VERSIONS
  ) {
    throw new InvalidError(
      `invalid maxVersions: expected a whole number from 0 to ${MAX_MAX_VERSIONS}`,
    );
  }
  return value as number;
}

/** @throws {InvalidError} unless `value` is a version number (a positive safe integer). */
export function checkVersion(value: unknown, what = "version"): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new InvalidError(`invalid ${what}: expected a positive integer`);
  }
  return value as number;
}

/**
 * The identity old versions are sealed under: their secret's, with a name no secret can have
 * (`@` is not allowed in names). So an old version never opens as a current record (copied over
 * it), and a current record never opens as an old version; the tag binds the version number too,
 * so no old version opens as another.
 */
function sealedAsOld<T extends StoredRecord>(record: T): T {
  return { ...record, name: `${record.name}@history` };
}

/**
 * What `replace` does to the history when `current` (an authenticated record) is replaced:
 * `current` re-sealed as an old version (its data key re-wrapped under a tag for the history
 * identity; the contents' ciphertext kept, nothing decrypted), and the bound.
 */
export function historyWrite(
  records: SealedRecords,
  current: StoredRecord,
  keep: number,
): HistoryWrite {
  if (keep === 0) return { keep };
  const { sealed: _sealed, ...header } = current;
  const sealed = resealAs(current, sealedAsOld(current), records.keyring);
  return { previous: { ...header, sealed }, keep };
}

/**
 * The contents of `current` (an authenticated record) and, with `keep`, what `replace` does to
 * the history when it is replaced — in one pass over its sealed form.
 */
export function openForReplace(
  records: SealedRecords,
  current: StoredRecord,
  keep: number | undefined,
): { entries: Record<string, string>; history?: HistoryWrite } {
  if (keep === undefined) return { entries: records.open(current) };
  if (keep === 0) return { entries: records.open(current), history: { keep } };
  const { sealed: _sealed, ...header } = current;
  const opened = openAndResealAs(current, sealedAsOld(current), records.keyring);
  return {
    entries: opened.entries,
    history: { previous: { ...header, sealed: opened.sealed }, keep },
  };
}

/**
 * Checks a history entry the store returned for `ref` under `version`: a record found there, of
 * exactly that version and the secret `secretId`, sealed as an old version of `ref`.
 */
function checkOldVersion(
  entry: StoredEntry,
  ref: SecretRef,
  version: number,
  secretId: string,
): StoredRecord {
  let record: StoredRecord;
  try {
    record = checkRecordShape(entry, ref);
  } catch (error) {
    if (!(error instanceof IntegrityError)) throw error;
    throw damagedVersion(ref, version, "is damaged: its stored value is not a record");
  }
  if (record.version !== version) {
    throw damagedVersion(
      ref,
      version,
      `failed authentication: the store holds version ${record.version} in its place`,
    );
  }
  if (record.secretId !== secretId) {
    throw damagedVersion(ref, version, "failed authentication: it belongs to another secret");
  }
  return record;
}

/** Authenticates an old version (metadata only). */
function verifyOld(record: StoredRecord, records: SealedRecords, ref: SecretRef): void {
  try {
    verifyRecord(sealedAsOld(record), records.keyring);
  } catch (error) {
    throw rename(error, ref, record.version);
  }
}

/** Authenticates and decrypts an old version. */
function openOld(
  record: StoredRecord,
  records: SealedRecords,
  ref: SecretRef,
): Record<string, string> {
  try {
    return openRecord(sealedAsOld(record), records.keyring);
  } catch (error) {
    throw rename(error, ref, record.version);
  }
}

/** An IntegrityError about the sealed-as-old identity, said of the version of `ref` instead. */
function rename(error: unknown, ref: SecretRef, version: number): unknown {
  if (!(error instanceof IntegrityError)) return error;
  const message = error.message.replace(
    describeSecret(sealedAsOld({ ...ref } as StoredRecord)),
    "",
  );
  const renamed = `version ${version} of ${describeSecret(ref)} ${message.trim() || "failed authentication"}`;
  if (error instanceof UnknownKeyError) return new UnknownKeyError(renamed, error.keyId);
  return new IntegrityError(renamed);
}

/** The old version `version` of the secret `current` (authenticated), or `undefined`. */
async function readOldVersion(
  records: SealedRecords,
  ref: SecretRef,
  current: StoredRecord,
  version: number,
): Promise<{ record: StoredRecord; entries: Record<string, string> } | undefined> {
  if (version >= current.version) return undefined;
  const found = await records.call(() => records.store.history(ref, { version }));
  const entry = found[0];
  if (entry === undefined) return undefined;
  const record = checkOldVersion(entry, ref, version, current.secretId);
  return { record, entries: openOld(record, records, ref) };
}

function versionNotFound(ref: SecretRef, version: number, current: number): NotFoundError {
  return new NotFoundError(
    `version ${version} of secret "${ref.name}" in environment "${ref.environment}" is not kept (current version: ${current})`,
  );
}

/**
 * Version `version` of the secret at `ref` and its contents: the current record when it is that
 * version, else the old version kept for it.
 * @throws {NotFoundError} when there is no such secret or the version is not kept.
 * @throws {IntegrityError} when what is kept for it fails its checks.
 */
export async function readVersion(
  records: SealedRecords,
  ref: SecretRef,
  version: number,
): Promise<{ record: StoredRecord; entries: Record<string, string> }> {
  const current = await records.read(ref);
  if (!current) throw notFound(ref);
  if (version === current.version) {
    const opened = await records.readOpen(ref);
    // Changed between the two reads: the version asked for is now an old one.
    if (opened && opened.record.version === version) return opened;
    return readVersion(records, ref, version);
  }
  const old = await readOldVersion(records, ref, current, version);
  if (!old) throw versionNotFound(ref, version, current.version);
  return old;
}

function sortedDiff(
  newer: Readonly<Record<string, string>>,
  older: Readonly<Record<string, string>>,
): VersionChange {
  const change: VersionChange = { added: [], changed: [], removed: [] };
  for (const key of Object.keys(newer).sort()) {
    if (!Object.hasOwn(older, key)) change.added.push(key);
    else if (older[key] !== newer[key]) change.changed.push(key);
  }
  for (const key of Object.keys(older).sort()) {
    if (!Object.hasOwn(newer, key)) change.removed.push(key);
  }
  return change;
}

/** A version damaged in the history, left out of `versions`. Names only. */
export interface DamagedVersion {
  workspace: string;
  environment: string;
  name: string;
  version: number;
  error: IntegrityError;
}

/**
 * Every kept version of the secret at `ref`, newest first, the current one included, each with
 * what it changed. Old versions that fail their checks are left out and passed to `onDamaged`.
 * @throws {NotFoundError} when there is no such secret.
 */
export async function listVersions(
  records: SealedRecords,
  ref: SecretRef,
  onDamaged?: (damaged: DamagedVersion) => void,
): Promise<SecretVersion[]> {
  const current = await records.readOpen(ref);
  if (!current) throw notFound(ref);
  const stored = await records.call(() => records.store.history(ref));
  const opened: { record: StoredRecord; entries: Record<string, string> }[] = [current];
  const seen = new Set([current.record.version]);
  for (const entry of stored) {
    const version = Number((entry as Partial<StoredRecord>).version);
    // Written after the current record was read: not part of this answer.
    if (Number.isSafeInteger(version) && version >= current.record.version) continue;
    try {
      if (!Number.isSafeInteger(version) || version < 1) {
        throw damagedVersion(ref, 0, "is damaged: its version is not a number");
      }
      if (seen.has(version)) continue;
      const record = checkOldVersion(entry, ref, version, current.record.secretId);
      opened.push({ record, entries: openOld(record, records, ref) });
      seen.add(version);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      onDamaged?.({ ...ref, version: Number.isSafeInteger(version) ? version : 0, error });
    }
  }
  opened.sort((a, b) => b.record.version - a.record.version);
  return opened.map(({ record, entries }, i) => {
    const older = opened[i + 1];
    const info: SecretVersion = {
      version: record.version,
      updatedAt: new Date(record.updatedAt),
      keys: [...record.keys],
    };
    if (record.updatedBy !== undefined) info.updatedBy = record.updatedBy;
    if (record.version === 1) info.change = sortedDiff(entries, {});
    else if (older && older.record.version === record.version - 1) {
      info.change = sortedDiff(entries, older.entries);
    }
    return info;
  });
}

function sameEntries(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key])
  );
}

/**
 * Writes the contents of version `version` as the next version of the secret at `ref`, by
 * compare-and-set (with `ifVersion`, a check-and-set). Returns the stored record; unchanged when
 * the contents already are those of `version`.
 */
export function rollbackSecret(
  records: SealedRecords,
  ref: SecretRef,
  version: number,
  options: WriteOptions & { ifVersion: number | undefined; limits: SecretLimits },
): Promise<StoredRecord> {
  return records.exclusive(ref, async () => {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await records.readOpen(ref);
      if (!current) throw notFound(ref);
      const { record, entries } = current;
      if (options.ifVersion !== undefined && record.version !== options.ifVersion) {
        throw new ConflictError(
          `secret "${ref.name}" is at version ${record.version}, not ${options.ifVersion}: re-read it and retry`,
        );
      }
      if (version === record.version) return record;
      const old = await readOldVersion(records, ref, record, version);
      if (!old) throw versionNotFound(ref, version, record.version);
      if (sameEntries(old.entries, entries)) return record;
      assertWithinLimits(old.entries, `secret "${ref.name}"`, options.limits);
      const replacement = records.nextRecord(record, old.entries);
      const history =
        options.keep === undefined ? undefined : historyWrite(records, record, options.keep);
      if (await records.replace(replacement, record, history)) {
        options.onWritten?.(replacement);
        return replacement;
      }
      await backoff(attempt);
    }
    throw new ConflictError(
      `secret "${ref.name}" kept changing; gave up after ${MAX_WRITE_ATTEMPTS} attempts`,
    );
  });
}

/** Outcome of re-wrapping the old versions of one secret. */
export interface OldVersionsRewrap {
  rewrapped: number;
  alreadyCurrent: number;
  /** Old versions that failed their checks (left untouched). */
  failed: DamagedVersion[];
}

/**
 * Re-wraps every old version of the secret `current` (authenticated) under the primary key, each
 * by compare-and-set on its sealed form; one that is dropped meanwhile is skipped.
 */
export async function rewrapOldVersions(
  records: SealedRecords,
  current: StoredRecord,
  isCurrentKey: (sealed: string) => boolean,
): Promise<OldVersionsRewrap> {
  const ref: SecretRef = {
    workspace: current.workspace,
    environment: current.environment,
    name: current.name,
  };
  const outcome: OldVersionsRewrap = { rewrapped: 0, alreadyCurrent: 0, failed: [] };
  const stored = await records.call(() => records.store.history(ref));
  for (const entry of stored) {
    const version = Number((entry as Partial<StoredRecord>).version);
    if (!Number.isSafeInteger(version) || version < 1 || version >= current.version) continue;
    try {
      const record = checkOldVersion(entry, ref, version, current.secretId);
      if (isCurrentKey(record.sealed)) {
        verifyOld(record, records, ref);
        outcome.alreadyCurrent++;
        continue;
      }
      let sealed: string;
      try {
        sealed = rewrapRecord(sealedAsOld(record), records.keyring);
      } catch (error) {
        throw rename(error, ref, version);
      }
      const next = { ...record, sealed };
      if (await records.call(() => records.store.replaceOldVersion(next, record.sealed))) {
        outcome.rewrapped++;
      }
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      outcome.failed.push({ ...ref, version, error });
    }
  }
  return outcome;
}

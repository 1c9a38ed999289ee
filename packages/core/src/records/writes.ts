import { AlreadyExistsError, ConflictError, IntegrityError, NotFoundError } from "../errors.js";
import { applyChanges } from "../merge.js";
import { backoff, MAX_WRITE_ATTEMPTS } from "../retry.js";
import type { SecretRef, StoredRecord } from "../store.js";
import { assertWithinLimits, type SecretLimits } from "../validation/validate.js";
import { historyWrite, openForReplace } from "./history.js";
import type { SealedRecords } from "./sealed-records.js";

/** Options every write takes. */
export interface WriteOptions {
  /**
   * Old versions to keep in the history (the replaced version goes in; 0 drops them all).
   * @default undefined: the history is left as it is (records with no history, e.g. tokens)
   */
  keep?: number;
  /** Called with the stored record when the write happened (not when it changed nothing). */
  onWritten?: (record: StoredRecord) => void;
}

/** What `create` does when the name is taken. */
export type IfExists = "fail" | "skip" | "overwrite";

export function notFound(ref: SecretRef): NotFoundError {
  return new NotFoundError(`secret "${ref.name}" not found in environment "${ref.environment}"`, {
    secret: ref,
  });
}

function keptChanging(ref: SecretRef): ConflictError {
  return new ConflictError(
    `secret "${ref.name}" kept changing; gave up after ${MAX_WRITE_ATTEMPTS} attempts`,
  );
}

/**
 * Creates the secret at `ref`; when the name is taken, fails, keeps the stored one, or replaces
 * its contents (keeping `secretId` and `createdAt`). A damaged record in the way is replaced only
 * by `"overwrite"`, and then by a new secret: nothing read from a record that fails its checks
 * is carried into a new one.
 */
export function createSecret(
  records: SealedRecords,
  ref: SecretRef,
  contents: Readonly<Record<string, string>>,
  ifExists: IfExists,
  options: WriteOptions = {},
): Promise<StoredRecord> {
  const { keep } = options;
  return records.exclusive(ref, async () => {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const fresh = records.newRecord(ref, contents);
      if (await records.create(fresh)) {
        options.onWritten?.(fresh);
        return fresh;
      }
      if (ifExists === "fail") {
        throw new AlreadyExistsError(
          `secret "${ref.name}" already exists in environment "${ref.environment}"`,
        );
      }
      let existing: StoredRecord | undefined;
      try {
        existing = await records.read(ref);
      } catch (error) {
        if (!(error instanceof IntegrityError) || ifExists !== "overwrite") throw error;
        await records.delete(ref);
        continue;
      }
      if (!existing) continue; // deleted meanwhile: try to create again
      if (ifExists === "skip") return existing;
      const replacement = records.nextRecord(existing, contents);
      const history = keep === undefined ? undefined : historyWrite(records, existing, keep);
      if (await records.replace(replacement, existing, history)) {
        options.onWritten?.(replacement);
        return replacement;
      }
      await backoff(attempt);
    }
    throw keptChanging(ref);
  });
}

/**
 * Merges `changes` into the secret at `ref` by compare-and-set, retrying when another writer
 * got there first; with `ifVersion`, a check-and-set. With `keep`, the replaced version goes into
 * the history, which keeps `keep` old versions. Returns the stored record (unchanged when nothing
 * changed).
 */
export function updateSecret(
  records: SealedRecords,
  ref: SecretRef,
  changes: ReadonlyMap<string, string | null>,
  options: WriteOptions & { ifVersion: number | undefined; limits: SecretLimits },
): Promise<StoredRecord> {
  return records.exclusive(ref, async () => {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await records.read(ref);
      if (!current) throw notFound(ref);
      if (options.ifVersion !== undefined && current.version !== options.ifVersion) {
        throw new ConflictError(
          `secret "${ref.name}" is at version ${current.version}, not ${options.ifVersion}: re-read it and retry`,
        );
      }
      const { entries, history } = openForReplace(records, current, options.keep);
      const next = applyChanges(entries, changes);
      if (!next) return current;
      assertWithinLimits(next, `secret "${ref.name}"`, options.limits);
      const replacement = records.nextRecord(current, next);
      if (await records.replace(replacement, current, history)) {
        options.onWritten?.(replacement);
        return replacement;
      }
      await backoff(attempt);
    }
    throw keptChanging(ref);
  });
}

/** Removes the secret at `ref`, damaged or not. Resolves whether there was one. */
export function deleteSecret(records: SealedRecords, ref: SecretRef): Promise<boolean> {
  return records.exclusive(ref, () => records.delete(ref));
}

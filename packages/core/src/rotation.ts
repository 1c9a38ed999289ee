import { sealedKeyId } from "./crypto/sealed-record.js";
import { resolveEnvironment } from "./environment.js";
import { ConflictError, IntegrityError, InvalidError, type SecretsError } from "./errors.js";
import { rewrapOldVersions } from "./records/history.js";
import { scanScope } from "./records/listing.js";
import type { SealedRecords } from "./records/sealed-records.js";
import { backoff, MAX_WRITE_ATTEMPTS } from "./retry.js";
import type { StoredRecord } from "./store.js";

/** Progress of {@link rotateKeys}. */
export interface RotationProgress {
  /** Secrets examined so far. */
  done: number;
  /** Secrets to examine (as counted at the start; grows if secrets are added meanwhile). */
  total: number;
  /** The secret just examined. */
  environment: string;
  name: string;
}

/** Options of `SecretManager.rotate`. */
export interface RotateOptions {
  /** Rotate only this environment. @default every environment of the workspace */
  environment?: string;
  /** Called after each secret. */
  onProgress?: (progress: RotationProgress) => void;
  /** Records read per store page. @default 200 */
  pageSize?: number;
}

/** Outcome of `SecretManager.rotate`. */
export interface RotationReport {
  /** Secrets examined (damaged ones included). */
  total: number;
  /** Secrets re-wrapped under the primary key by this run. */
  rewrapped: number;
  /** Secrets already under the primary key. */
  alreadyCurrent: number;
  /**
   * Secrets that could not be rotated: damaged, sealed under a key not held, or changing too
   * fast. Left untouched; names only, never values.
   */
  failed: { environment: string; name: string; code: string; message: string }[];
  /** Id of the primary key everything is now wrapped under. */
  keyId: string;
  /** The secrets' old versions (their history), re-wrapped the same way. */
  oldVersions: {
    /** Old versions re-wrapped under the primary key by this run. */
    rewrapped: number;
    /** Old versions already under the primary key. */
    alreadyCurrent: number;
    /** Old versions that could not be re-wrapped (left untouched). Names only. */
    failed: {
      environment: string;
      name: string;
      version: number;
      code: string;
      message: string;
    }[];
  };
}

/** Internal hooks of {@link rotateKeys}. */
export interface RotationHooks {
  /** Called with each current record the run re-wrapped. */
  onRewrapped?: (record: StoredRecord) => void;
}

const DEFAULT_PAGE_SIZE = 200;

type Outcome =
  | { done: "rewrapped" | "current"; record: StoredRecord }
  | { done: "gone" }
  | SecretsError;

/** Re-wraps one record by compare-and-set, re-reading it when another writer got there first. */
function rewrapOne(records: SealedRecords, first: StoredRecord): Promise<Outcome> {
  return records.exclusive(first, async () => {
    let record: StoredRecord | undefined = first;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      if (!record) return { done: "gone" };
      if (sealedKeyId(record.sealed) === records.keyring.primary.id) {
        return { done: "current", record };
      }
      try {
        const rewrapped = records.rewrapped(record);
        if (await records.replace(rewrapped, record))
          return { done: "rewrapped", record: rewrapped };
        await backoff(attempt);
        record = await records.read(first);
      } catch (error) {
        if (error instanceof IntegrityError) return error;
        throw error;
      }
    }
    return new ConflictError(`secret "${first.name}" kept changing during rotation`);
  });
}

/**
 * Re-wraps every secret of the workspace (or of one environment) under the keyring's primary
 * key. Damaged records are reported in `failed` and the rotation goes on with the others.
 */
export async function rotateKeys(
  records: SealedRecords,
  workspace: string,
  options: RotateOptions,
  hooks: RotationHooks = {},
): Promise<RotationReport> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new InvalidError("invalid pageSize: expected a positive integer");
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw new InvalidError("invalid onProgress: expected a function");
  }
  const environments =
    options.environment === undefined
      ? (await records.call(() => records.store.environments(workspace))).sort()
      : [resolveEnvironment(options.environment, undefined)];
  const scopes = environments.map((environment) => ({ workspace, environment }));
  let total = 0;
  for (const scope of scopes) total += await records.call(() => records.store.count(scope));
  const report: RotationReport = {
    total: 0,
    rewrapped: 0,
    alreadyCurrent: 0,
    failed: [],
    keyId: records.keyring.primary.id,
    oldVersions: { rewrapped: 0, alreadyCurrent: 0, failed: [] },
  };
  const primary = records.keyring.primary.id;
  const isCurrentKey = (sealed: string) => sealedKeyId(sealed) === primary;
  let done = 0;
  for (const scope of scopes) {
    for await (const entry of scanScope(records, scope, { pageSize })) {
      const { environment, name } = "record" in entry ? entry.record : entry.damaged;
      const outcome =
        "record" in entry ? await rewrapOne(records, entry.record) : entry.damaged.error;
      if ("code" in outcome) {
        report.failed.push({ environment, name, code: outcome.code, message: outcome.message });
      } else if (outcome.done !== "gone") {
        if (outcome.done === "rewrapped") {
          report.rewrapped++;
          hooks.onRewrapped?.(outcome.record);
        } else report.alreadyCurrent++;
        const old = await rewrapOldVersions(records, outcome.record, isCurrentKey);
        report.oldVersions.rewrapped += old.rewrapped;
        report.oldVersions.alreadyCurrent += old.alreadyCurrent;
        for (const { version, error } of old.failed) {
          report.oldVersions.failed.push({
            environment,
            name,
            version,
            code: error.code,
            message: error.message,
          });
        }
      }
      done++;
      total = Math.max(total, done);
      options.onProgress?.({ done, total, environment, name });
    }
  }
  report.total = done;
  return report;
}

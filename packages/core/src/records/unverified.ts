import { InvalidError, NotFoundError } from "../errors.js";
import { type SecretInfo, toSecretInfo } from "../info.js";
import type { SecretRef, SecretScope, SecretStore } from "../store.js";
import {
  assertEnvironmentName,
  assertSecretName,
  assertWorkspaceName,
} from "../validation/validate.js";
import { checkRecordShape } from "./record-shape.js";

/**
 * A secret's metadata exactly as the store holds it, read **without** a master key and so **not
 * authenticated**: anyone able to write to the backend could have forged it. Never a value (a
 * store never holds one in the clear). A manager's `list`/`info` return authenticated metadata;
 * this is for looking at a store when the key is not at hand, and says so in `verified`.
 */
export interface UnverifiedSecretInfo extends SecretInfo {
  verified: false;
}

/** What {@link listUnverified} found. */
export interface UnverifiedListing {
  /** Newest first, as the store ordered them; each name at most once. */
  secrets: UnverifiedSecretInfo[];
  /** Entries left out because they are not well-formed records (never their stored bytes). */
  damaged: { name: string; reason: string }[];
}

function unverified(info: SecretInfo): UnverifiedSecretInfo {
  return { ...info, verified: false };
}

/**
 * Lists one scope's metadata as stored, newest first, without a master key: see
 * {@link UnverifiedSecretInfo}. Entries outside the scope (a damaged index) and repeated names are
 * left out; entries that are not well-formed records are reported in `damaged`.
 *
 * @example
 * ```ts
 * const store = await openStore(process.env.ENVKEEP_STORE!);
 * const { secrets } = await listUnverified(store, { workspace: "default", environment: "prod" });
 * ```
 */
export async function listUnverified(
  store: SecretStore,
  scope: SecretScope,
  options: { maxObjects?: number } = {},
): Promise<UnverifiedListing> {
  assertWorkspaceName(scope.workspace);
  assertEnvironmentName(scope.environment);
  const { maxObjects } = options;
  if (maxObjects !== undefined && !(Number.isSafeInteger(maxObjects) && maxObjects >= 0)) {
    throw new InvalidError("maxObjects must be a non-negative integer");
  }
  const entries = await store.list(
    { workspace: scope.workspace, environment: scope.environment },
    maxObjects === undefined ? {} : { limit: maxObjects },
  );
  const listing: UnverifiedListing = { secrets: [], damaged: [] };
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry.workspace !== scope.workspace || entry.environment !== scope.environment) continue;
    if (typeof entry.name !== "string" || seen.has(entry.name)) continue;
    seen.add(entry.name);
    try {
      listing.secrets.push(unverified(toSecretInfo(checkRecordShape(entry, entry))));
    } catch (error) {
      listing.damaged.push({ name: entry.name, reason: (error as Error).message });
    }
  }
  return listing;
}

/**
 * One secret's metadata as stored, without a master key: see {@link UnverifiedSecretInfo}.
 *
 * @throws {NotFoundError} when nothing is stored under that name.
 * @throws {IntegrityError} when what is stored is not a well-formed record.
 */
export async function unverifiedInfo(
  store: SecretStore,
  ref: SecretRef,
): Promise<UnverifiedSecretInfo> {
  assertWorkspaceName(ref.workspace);
  assertEnvironmentName(ref.environment);
  assertSecretName(ref.name);
  const at = { workspace: ref.workspace, environment: ref.environment, name: ref.name };
  const entry = await store.get(at);
  if (entry === undefined) {
    throw new NotFoundError(`secret "${at.name}" not found in environment "${at.environment}"`, {
      secret: at,
    });
  }
  return unverified(toSecretInfo(checkRecordShape(entry, at)));
}

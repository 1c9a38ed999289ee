import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import path from "node:path";
import {
  type DamagedSecret,
  DEFAULT_WORKSPACE,
  InvalidError,
  isSecretsError,
  NotFoundError,
  type OpenOptions,
  openStore,
  parseStoreUrl,
  redactStoreUrl,
  resolveEnvironment,
  resolveStoreUrl,
  SecretManager,
  type SecretStore,
  StoreError,
  UnknownKeyError,
} from "@envkeep/core";
import { writeLine } from "./io.js";
import { describeForeignEnvironment } from "./key-mismatch.js";
import { resolveMaxVersions } from "./max-versions.js";
import { importStorePackage } from "./store-packages.js";

/** Options every command accepts (defined once, on the program). */
export interface GlobalOptions {
  /** `--store URL`. */
  store?: string;
  /** `--workspace NAME`. */
  workspace?: string;
  /** `-e, --env NAME`. */
  env?: string;
  /** `--verbose`: say on stderr which store, workspace and environment a command uses. */
  verbose?: boolean;
  /** `--max-versions N`, as typed (checked when a manager is opened). */
  maxVersions?: string;
}

/** What a command adds to the manager it opens: the audit listener (`envkeep serve`). */
export type ManagerExtras = Pick<OpenOptions, "onAudit" | "auditReads">;

/** Where a command works: shown with `--verbose` and added to its errors. Never a password. */
export interface Target {
  /** The store URL, credentials hidden. */
  store: string;
  workspace: string;
  environment: string;
}

/** True when ENVKEEP_MASTER_KEY or ENVKEEP_MASTER_KEYS is set (to anything but blanks). */
export function hasMasterKey(): boolean {
  return Boolean(process.env.ENVKEEP_MASTER_KEY?.trim() || process.env.ENVKEEP_MASTER_KEYS?.trim());
}

/** The store, workspace and environment `options` and the environment variables select. */
export function describeTarget(options: GlobalOptions): Target {
  return {
    store: redactStoreUrl(resolveStoreUrl(options.store)),
    workspace: options.workspace ?? (process.env.ENVKEEP_WORKSPACE || DEFAULT_WORKSPACE),
    environment: resolveEnvironment(options.env, undefined),
  };
}

/** The `--verbose` line: where this command works. */
function sayWhere(target: Target): void {
  writeLine(
    `envkeep: store ${target.store}, workspace "${target.workspace}", environment "${target.environment}"`,
    process.stderr,
  );
}

/** What the CLI adds to an error's one line: where it happened, and a close name if any. */
const errorContexts = new WeakMap<object, string>();

/** The context {@link withManager} recorded for `error` (empty when none). */
export function errorContext(error: unknown): string {
  return typeof error === "object" && error !== null ? (errorContexts.get(error) ?? "") : "";
}

/**
 * The absolute path of the embedded default store's file when it does not exist yet (so this
 * command makes it, in the current directory). A store named with --store or ENVKEEP_STORE was
 * asked for where it is: only the default one is reported.
 */
function defaultStoreToBeCreated(options: GlobalOptions): string | undefined {
  if (options.store !== undefined || process.env.ENVKEEP_STORE?.trim()) return undefined;
  try {
    const location = parseStoreUrl(resolveStoreUrl(options.store));
    if (location.kind !== "sqlite" || location.path === ":memory:") return undefined;
    const file = path.resolve(location.path);
    return existsSync(file) ? undefined : file;
  } catch {
    return undefined; // a bad URL is reported by the open that follows
  }
}

/** The name in `secret`'s environment closest to the one not found, if one is close enough. */
async function closeName(
  secrets: SecretManager,
  secret: NonNullable<NotFoundError["secret"]>,
): Promise<string | undefined> {
  if (secret.workspace !== secrets.workspace) return undefined;
  const names = (await secrets.list({ environment: secret.environment, maxObjects: 1_000 }))
    .map((info) => info.name)
    .filter((name) => name !== secret.name);
  if (names.length === 0) return undefined;
  // Loaded only for this: a command that never misses a name does not pay for it.
  const { closest, distance } = await import("fastest-levenshtein");
  const best = closest(secret.name, names);
  // Close: a typo or two, not a different word.
  return distance(secret.name, best) <= Math.max(1, Math.floor(secret.name.length / 3))
    ? best
    : undefined;
}

/**
 * Errors about what a store holds or whether it answers get the store and workspace added; a
 * rule broken by the input (`INVALID`) is the same wherever it happens.
 */
const ABOUT_THE_STORE = new Set([
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "CONFLICT",
  "INTEGRITY",
  "STORE_UNAVAILABLE",
]);

/** Records where `error` happened (and a close name for a missing secret) for its message. */
async function recordContext(
  error: unknown,
  target: Target,
  secrets: SecretManager | undefined,
): Promise<void> {
  if (!isSecretsError(error) || !ABOUT_THE_STORE.has(error.code) || errorContexts.has(error)) {
    return;
  }
  // A missing key or token is about what was asked, not where: only a missing secret says where.
  if (error instanceof NotFoundError && !error.secret) return;
  let context = ` (store ${target.store}, workspace "${target.workspace}")`;
  if (secrets && error instanceof NotFoundError && error.secret) {
    const suggestion = await closeName(secrets, error.secret).catch(() => undefined);
    if (suggestion !== undefined) context += `; did you mean "${suggestion}"?`;
  }
  errorContexts.set(error, context);
}

function actor(): string | undefined {
  if (process.env.ENVKEEP_ACTOR) return process.env.ENVKEEP_ACTOR;
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return undefined;
  }
}

/**
 * Opens a manager on the configured store: `--store`, else `ENVKEEP_STORE`, else the embedded
 * default (SQLite at `./.envkeep/secrets.db`). The master key comes from `ENVKEEP_MASTER_KEYS` or
 * `ENVKEEP_MASTER_KEY`; its absence is reported before any store is touched, as is a bad
 * `--max-versions` / `ENVKEEP_MAX_VERSIONS` (the history bound of its writes).
 */
export async function openManager(
  options: GlobalOptions,
  extras: ManagerExtras = {},
): Promise<SecretManager> {
  const maxVersions = resolveMaxVersions(options.maxVersions);
  if (!hasMasterKey()) {
    throw new InvalidError(
      "no master key: set ENVKEEP_MASTER_KEY (create one with `envkeep key generate`)",
    );
  }
  const who = actor();
  return SecretManager.open({
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.workspace === undefined ? {} : { workspace: options.workspace }),
    ...(options.env === undefined ? {} : { environment: options.env }),
    ...(who === undefined ? {} : { actor: who }),
    ...(maxVersions === undefined ? {} : { maxVersions }),
    ...extras,
    // Resolve store packages from the CLI, which depends on all of them.
    importModule: importStorePackage,
  });
}

/**
 * Runs `body` with a manager and always closes it. With `--verbose` it first says where it works;
 * a SQLite store this command created is reported once, with its path; an envkeep error gets the
 * store and workspace (and, for a missing secret, a close name) added to its message.
 */
export async function withManager<T>(
  options: GlobalOptions,
  body: (secrets: SecretManager) => Promise<T>,
): Promise<T> {
  const target = describeTarget(options);
  if (options.verbose) sayWhere(target);
  const newFile = defaultStoreToBeCreated(options);
  let secrets: SecretManager | undefined;
  try {
    secrets = await openManager(options);
    return await body(secrets);
  } catch (error) {
    await recordContext(error, target, secrets);
    throw error;
  } finally {
    await secrets?.close().catch(() => {});
    if (newFile !== undefined && existsSync(newFile)) {
      writeLine(`envkeep: created a new SQLite store at ${newFile} (mode 0600)`, process.stderr);
    }
  }
}

/**
 * Runs `body` with the bare store, no manager and no master key: for reading metadata as stored
 * (unauthenticated, and said so by the caller). A SQLite file that does not exist is not created
 * to be read: `absent()` answers instead. Errors get the store and workspace like
 * {@link withManager}'s.
 */
export async function withStoreOnly<T>(
  options: GlobalOptions,
  body: (store: SecretStore, target: Target) => Promise<T>,
  absent: (target: Target) => T,
): Promise<T> {
  const target = describeTarget(options);
  if (options.verbose) sayWhere(target);
  let store: SecretStore | undefined;
  try {
    const url = resolveStoreUrl(options.store);
    const location = parseStoreUrl(url);
    if (
      location.kind === "sqlite" &&
      location.path !== ":memory:" &&
      !existsSync(path.resolve(location.path))
    ) {
      return absent(target);
    }
    store = await openStore(url, { importModule: importStorePackage });
    return await body(store, target);
  } catch (error) {
    await recordContext(error, target, undefined);
    throw error;
  } finally {
    await store?.close().catch(() => {});
  }
}

/** How many records sealed under keys this manager lacks the key check looks past. */
const KEY_CHECK_LIMIT = 5;

/**
 * Refuses to write with a master key that opens none of the newest secrets of the environment
 * (when it holds any): a wrong `ENVKEEP_MASTER_KEY` must not seal new data under a key nobody
 * else has. `list` authenticates each record's metadata with the master key, so one listed record
 * proves the key. Only records sealed under a key not held count against it: a record damaged in
 * any other way (forged, truncated) says nothing about the key, and blocks no write.
 */
export async function assertKeyOpensEnvironment(
  secrets: SecretManager,
  environment: string | undefined,
  operation: string,
): Promise<void> {
  const foreign: DamagedSecret[] = [];
  const fail = () => {
    const [first] = foreign;
    return new InvalidError(
      first?.error instanceof UnknownKeyError
        ? describeForeignEnvironment(first.error, first.environment)
        : "the master key opens none of the newest secrets: check ENVKEEP_MASTER_KEY",
    );
  };
  let recent: Awaited<ReturnType<SecretManager["list"]>>;
  try {
    recent = await secrets.list({
      maxObjects: 1,
      ...(environment === undefined ? {} : { environment }),
      onDamaged: (record) => {
        if (!(record.error instanceof UnknownKeyError)) return;
        foreign.push(record);
        if (foreign.length >= KEY_CHECK_LIMIT) throw fail();
      },
    });
  } catch (error) {
    // This check is the write's first store call: a store that cannot be reached is reported
    // as the write failing, not as a "list" the user never asked for.
    if (error instanceof StoreError) {
      throw new StoreError(error.store, `${operation} failed`, { cause: error.cause ?? error });
    }
    throw error;
  }
  if (recent.length === 0 && foreign.length > 0) throw fail();
}

import { type AuditOptions, AuditTrail } from "./audit.js";
import { type CacheOptions, checkCacheOptions, RecordCache } from "./cache/record-cache.js";
import { Keyring, type KeyringOptions } from "./crypto/keyring.js";
import { openVerified } from "./crypto/sealed-record.js";
import { resolveEnvironment, resolveWorkspace } from "./environment.js";
import { InvalidError } from "./errors.js";
import { type SecretInfo, toSecretInfo } from "./info.js";
import { type KeyStatus, keyStatus } from "./key-status.js";
import { mergeLayers } from "./merge.js";
import {
  checkMaxVersions,
  checkVersion,
  type DamagedVersion,
  listVersions,
  readVersion,
  rollbackSecret,
  type SecretVersion,
} from "./records/history.js";
import {
  cursorAfter,
  type DamagedSecret,
  laterPosition,
  listRecords,
  parseCursor,
} from "./records/listing.js";
import { SealedRecords } from "./records/sealed-records.js";
import {
  createSecret,
  deleteSecret,
  type IfExists,
  notFound,
  updateSecret,
} from "./records/writes.js";
import { type RotateOptions, type RotationReport, rotateKeys } from "./rotation.js";
import {
  assertRequiredKeys,
  type ExplainedEnv,
  explainLayers,
  explainStartFailure,
} from "./run/explain.js";
import {
  assertCommand,
  childEnvironment,
  type RunOptions,
  type SpawnedProcess,
  type SpawnOptions,
  spawnWithEnv,
} from "./run/spawn.js";
import { type LoadedSecret, loadSecret, type NamedSecretSource, Secret } from "./secret.js";
import type { SecretRef, SecretScope, SecretStore, StoredRecord } from "./store.js";
import { type OpenStoreOptions, openConfiguredStore } from "./store-url.js";
import { AccessTokens } from "./tokens/access-tokens.js";
import {
  assertEnvironmentName,
  assertKey,
  assertSecretName,
  checkActor,
  checkLimits,
  checkOptions,
  normalizeChanges,
  normalizeListOptions,
  type SecretLimits,
  snapshotEntries,
} from "./validation/validate.js";

export type { IfExists } from "./records/writes.js";

/** Records of managers made by `withActor`: the parent's, written as another actor. */
const sharedRecords = new WeakMap<object, SealedRecords>();

/** Managers `withActor` keeps per actor (a server's callers), before it starts afresh. */
const MAX_ACTOR_VIEWS = 1000;

/** True for a name a user can give an environment (reserved `en-…` names are not). */
function isEnvironmentName(name: string): boolean {
  try {
    assertEnvironmentName(name);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link SecretManager}. */
export interface SecretManagerOptions extends KeyringOptions, AuditOptions {
  /** Where sealed records live: `memoryStore()`, `sqliteStore({ path })`, `redisStore({ url })`… */
  store: SecretStore;
  /** Workspace of every call. @default process.env.ENVKEEP_WORKSPACE ?? "default" */
  workspace?: string;
  /** Default environment of calls that name none. @default process.env.ENVKEEP_ENVIRONMENT ?? "main" */
  environment?: string;
  /** Recorded as `createdBy` / `updatedBy` on the secrets this manager writes. @default undefined */
  actor?: string;
  /** Per-secret size limits. @default { maxKeys: 1000, maxBytes: 1048576 } */
  limits?: SecretLimits;
  /**
   * Old versions kept per secret besides the current one (0 to 1000; 0 keeps none). The oldest
   * beyond it are dropped in the same write that adds a new one. @default 10
   */
  maxVersions?: number;
  /**
   * Opt-in cache of `info` and `resolve` reads, kept fresh by the store's change feed: a repeated
   * read of an unchanged secret is served from memory. It holds sealed records only (`resolve`
   * still decrypts each time); a write through this manager is seen at once, a write by another
   * process within the store's bound (SQLite: at the next read; Redis: 100 ms); while the feed is
   * down nothing is served. Off on a store without a change feed (`store.changes`). See the
   * README's "Cache" section. @default undefined (off)
   */
  cache?: CacheOptions;
}

/** Module-private: a keyring a derived manager shares (see `SecretManager.withCache`). */
const SHARED_KEYRING = Symbol("shared keyring");

/** Options of {@link SecretManager.create}. */
export interface CreateOptions {
  /** @default the manager's environment */
  environment?: string;
  /**
   * `"fail"` throws `AlreadyExistsError`; `"skip"` keeps the stored secret and returns its info;
   * `"overwrite"` replaces the whole contents (keeps `secretId`/`createdAt`, bumps `version`).
   * @default "fail"
   */
  ifExists?: IfExists;
  /** Modal's `allow_existing`: `true` means `ifExists: "skip"`. @default false */
  allowExisting?: boolean;
}

/** Options of {@link SecretManager.list}. */
export interface ListOptions {
  /** @default the manager's environment */
  environment?: string;
  /** Return at most this many (a non-negative integer). @default all */
  maxObjects?: number;
  /** Only secrets created strictly before this time (a `Date` or an ISO 8601 string). */
  createdBefore?: Date | string;
  /** Continue after the last secret of an earlier page: its `nextCursor` (see `listPage`). */
  cursor?: string;
  /**
   * Called for each record left out because it failed its checks (tampered, moved, under a key
   * not held…); the list goes on with the rest. @default damaged records are left out silently
   */
  onDamaged?: (damaged: DamagedSecret) => void;
}

/** Options of {@link SecretManager.update}. */
export interface UpdateOptions {
  /** @default the manager's environment */
  environment?: string;
  /** Check-and-set: apply only if the stored version is this one, else `ConflictError`. */
  ifVersion?: number;
}

/** Options of {@link SecretManager.delete}. */
export interface DeleteOptions {
  /** @default the manager's environment */
  environment?: string;
  /** Do nothing (instead of `NotFoundError`) when the secret does not exist. @default false */
  allowMissing?: boolean;
}

/** Options of {@link SecretManager.fromName}. */
export interface FromNameOptions {
  /** @default the manager's environment */
  environment?: string;
  /** Keys the secret must hold; a missing one is a `NotFoundError` at hydration. @default [] */
  requiredKeys?: readonly string[];
  /**
   * Pin the handle to this version (current or kept in the history): a read-only handle whose
   * reads always give that version's contents. @default the current version, read at each use
   */
  version?: number;
}

/** Options of {@link SecretManager.versions}. */
export interface VersionsOptions {
  /** @default the manager's environment */
  environment?: string;
  /**
   * Called for each old version left out because it failed its checks (tampered, swapped, under
   * a key not held). @default damaged versions are left out silently
   */
  onDamaged?: (damaged: DamagedVersion) => void;
}

/** Options of {@link SecretManager.rollback}. */
export interface RollbackOptions {
  /** @default the manager's environment */
  environment?: string;
  /** Check-and-set: apply only if the current version is this one, else `ConflictError`. */
  ifVersion?: number;
}

/** Options of {@link SecretManager.resolve}. */
export interface ResolveOptions {
  /** Plain variables applied after every secret (they win). @default {} */
  env?: Record<string, string>;
  /**
   * Also return, for each key, which layer supplied it and which earlier layers it overrode
   * (names only, never values). @default false
   */
  explain?: boolean;
}

/** Options of {@link SecretManager.open}: those of the constructor, with a store URL allowed. */
export interface OpenOptions extends Omit<SecretManagerOptions, "store">, OpenStoreOptions {
  /**
   * A store, or a store URL for `openStore` (`memory:`, `sqlite:<path>`, `redis://…`).
   * @default process.env.ENVKEEP_STORE ?? "sqlite:./.envkeep/secrets.db"
   */
  store?: SecretStore | string;
}

/**
 * Keeps named, encrypted secrets in one workspace of a store, and resolves secrets into
 * environments for the code a host runs.
 *
 * @example
 * ```ts
 * import { SecretManager, Secret } from "@envkeep/core";
 * import { memoryStore } from "@envkeep/store-memory";
 *
 * const secrets = new SecretManager({ store: memoryStore(), masterKey: process.env.KEY, environment: "dev" });
 * await secrets.create("api-keys", { API_KEY: "sk-1" });
 * const env = await secrets.resolve([secrets.fromName("api-keys"), Secret.fromObject({ A: "1" })]);
 * ```
 */
export class SecretManager {
  /** The store this manager writes to. */
  readonly store: SecretStore;
  /** The workspace of every call. */
  readonly workspace: string;
  /** The manager's default environment, if it was given one. */
  readonly environment: string | undefined;
  /** Recorded as `createdBy` / `updatedBy`. */
  readonly actor: string | undefined;
  readonly #records: SealedRecords;
  readonly #limits: SecretLimits;
  readonly #named: NamedSecretSource;
  readonly #maxVersions: number;
  readonly #audit: AuditTrail;
  readonly #options: SecretManagerOptions;
  readonly #actorViews = new Map<string, SecretManager>();
  #tokens: AccessTokens | undefined;

  /**
   * @throws {InvalidError} when no master key is given or set in the environment, when a key is
   * malformed, or when the workspace or environment name is invalid.
   */
  constructor(options: SecretManagerOptions) {
    if (!options || typeof options !== "object" || !options.store) {
      throw new InvalidError("SecretManager needs a store, e.g. { store: memoryStore() }");
    }
    this.store = options.store;
    this.workspace = resolveWorkspace(options.workspace);
    if (options.environment !== undefined) resolveEnvironment(options.environment, undefined);
    this.environment = options.environment;
    this.actor = checkActor(options.actor);
    this.#limits = checkLimits(options.limits);
    this.#maxVersions = checkMaxVersions(options.maxVersions);
    this.#audit = new AuditTrail(options);
    this.#options = options;
    const parent = sharedRecords.get(options);
    if (parent) {
      this.#records = parent.withActor(this.actor);
    } else {
      const cache = RecordCache.on(this.store, checkCacheOptions(options.cache));
      const shared = (options as { [SHARED_KEYRING]?: Keyring })[SHARED_KEYRING];
      const keyring = shared instanceof Keyring ? shared : Keyring.fromOptions(options);
      this.#records = new SealedRecords(this.store, keyring, this.actor, cache);
    }
    this.#named = {
      read: (name, environment, version) => this.#readNamed(name, environment, version),
      info: (name, environment, version) =>
        version === undefined
          ? this.info(name, { environment })
          : this.#versionInfo(name, environment, version),
      update: (name, changes, opts) => this.update(name, changes, opts),
    };
  }

  /**
   * A manager like this one (same store, keys, workspace, options) that records another actor:
   * for a server that acts for several callers, e.g. the HTTP API passes each token's id. It
   * shares this manager's in-process write queue, so writes as different actors queue instead of
   * racing. Closing either closes the shared store.
   *
   * @example
   * ```ts
   * await secrets.withActor(`token:${tokenId}`).update("db", { PGPASSWORD: "…" });
   * ```
   */
  withActor(actor: string): SecretManager {
    const known = this.#actorViews.get(actor);
    if (known) return known;
    const options: SecretManagerOptions = { ...this.#options, actor };
    sharedRecords.set(options, this.#records);
    const view = new SecretManager(options);
    if (this.#actorViews.size >= MAX_ACTOR_VIEWS) this.#actorViews.clear();
    this.#actorViews.set(actor, view);
    return view;
  }

  /**
   * Creates a manager whose store is given by URL (or `ENVKEEP_STORE`, or the embedded default:
   * SQLite at `./.envkeep/secrets.db`). The master key, workspace and environment are checked
   * before the store is opened. `close()` closes the store.
   *
   * @throws {InvalidError} for a bad URL or option, a missing master key, or a store package that
   * is not installed (the message names it).
   * @example
   * ```ts
   * const secrets = await SecretManager.open({ store: "sqlite:./.envkeep/secrets.db", environment: "dev" });
   * try {
   *   await secrets.run({ secrets: [secrets.fromName("api-keys")] }, (env) => callApi(env.API_KEY));
   * } finally {
   *   await secrets.close();
   * }
   * ```
   */
  static async open(options: OpenOptions = {}): Promise<SecretManager> {
    if (!options || typeof options !== "object") throw new InvalidError("open expects options");
    const { store, importModule, ...rest } = options;
    if (store !== undefined && typeof store !== "string")
      return new SecretManager({ ...rest, store });
    const opened = await openConfiguredStore(store, importModule ? { importModule } : {}, () => {
      Keyring.fromOptions(rest);
      resolveWorkspace(rest.workspace);
      if (rest.environment !== undefined) resolveEnvironment(rest.environment, undefined);
    });
    try {
      return new SecretManager({ ...rest, store: opened });
    } catch (error) {
      await opened.close().catch(() => {});
      throw error;
    }
  }

  /**
   * The access tokens of this workspace (for the HTTP API): create, list, revoke, verify. They
   * are kept, sealed, in the same store, so every process on it sees the same tokens.
   *
   * @example
   * ```ts
   * const { token } = await secrets.tokens.create({ name: "ci", scope: "read", environments: ["prod"] });
   * ```
   */
  get tokens(): AccessTokens {
    this.#tokens ??= new AccessTokens(this.#records, this.workspace);
    return this.#tokens;
  }

  /** Id of the master key that seals new writes (not secret). */
  get primaryKeyId(): string {
    return this.#records.keyring.primary.id;
  }

  /**
   * Creates a named secret.
   *
   * @example
   * ```ts
   * await secrets.create("db", { PGPASSWORD: "…" }, { environment: "prod", ifExists: "fail" });
   * ```
   */
  async create(
    name: string,
    entries: Record<string, string>,
    options: CreateOptions = {},
  ): Promise<SecretInfo> {
    options = checkOptions(options, "create");
    const ref = this.#ref(name, options.environment);
    const contents = snapshotEntries(entries, `secret "${ref.name}"`, this.#limits);
    const ifExists = this.#ifExists(options);
    const record = await createSecret(this.#records, ref, contents, ifExists, {
      keep: this.#maxVersions,
      onWritten: (written) =>
        this.#audit.emit(written.version === 1 ? "create" : "update", written, this.actor),
    });
    return toSecretInfo(record);
  }

  /**
   * Lists secrets of one environment, newest first (ties by name), without values. Each record's
   * metadata is authenticated; a record that fails its checks (tampered, moved, sealed under a key
   * this manager does not hold) is left out and passed to `onDamaged`.
   *
   * @example
   * ```ts
   * const recent = await secrets.list({
   *   maxObjects: 10,
   *   createdBefore: "2026-01-01",
   *   onDamaged: ({ name, error }) => log.warn(`left out ${name}: ${error.message}`),
   * });
   * ```
   */
  async list(options: ListOptions = {}): Promise<SecretInfo[]> {
    return (await this.listPage(options)).secrets;
  }

  /**
   * One page of `list`, with a cursor for the next: pass `nextCursor` back as `cursor` to go on
   * exactly where this page ended (secrets created in the same millisecond included). No
   * `nextCursor` means there is nothing more.
   *
   * @example
   * ```ts
   * let page = await secrets.listPage({ maxObjects: 50 });
   * while (page.nextCursor) page = await secrets.listPage({ maxObjects: 50, cursor: page.nextCursor });
   * ```
   */
  async listPage(
    options: ListOptions = {},
  ): Promise<{ secrets: SecretInfo[]; nextCursor?: string }> {
    options = checkOptions(options, "list");
    const { maxObjects, createdBefore } = normalizeListOptions(options);
    const { onDamaged } = options;
    if (onDamaged !== undefined && typeof onDamaged !== "function") {
      throw new InvalidError("invalid onDamaged: expected a function");
    }
    const before = laterPosition(
      options.cursor === undefined ? undefined : parseCursor(options.cursor),
      createdBefore === undefined ? undefined : { createdAt: createdBefore },
    );
    const page = await listRecords(this.#records, this.#scope(options.environment), {
      ...(maxObjects === undefined ? {} : { maxObjects }),
      ...(before === undefined ? {} : { before }),
      ...(onDamaged === undefined ? {} : { onDamaged }),
    });
    const last = page.records.at(-1);
    return {
      secrets: page.records.map(toSecretInfo),
      ...(page.more && last ? { nextCursor: cursorAfter(last) } : {}),
    };
  }

  /**
   * Names of the environments of this workspace that hold (or once held) secrets, sorted. The
   * reserved environments envkeep keeps for itself (`en-…`, e.g. access tokens) are never listed.
   *
   * @example
   * ```ts
   * for (const environment of await secrets.environments()) console.log(environment);
   * ```
   */
  async environments(): Promise<string[]> {
    const names = await this.#records.call(() => this.store.environments(this.workspace));
    return names.filter(isEnvironmentName).sort();
  }

  /**
   * Deletes a named secret, irreversibly.
   *
   * @example
   * ```ts
   * await secrets.delete("old-credentials", { allowMissing: true });
   * ```
   */
  async delete(name: string, options: DeleteOptions = {}): Promise<void> {
    options = checkOptions(options, "delete");
    const ref = this.#ref(name, options.environment);
    // For the audit trail: what is deleted, when it can be read (a damaged record is deleted too).
    const last = this.#audit.enabled
      ? await this.#records.read(ref).catch(() => undefined)
      : undefined;
    const removed = await deleteSecret(this.#records, ref);
    if (!removed && !options.allowMissing) throw notFound(ref);
    if (removed) {
      this.#audit.emit("delete", last ?? { ...ref, keys: [] }, this.actor);
    }
  }

  /**
   * Merges changes into a named secret like `dict.update`: a string sets a key, `null` removes
   * it, `undefined` is ignored. Concurrent updates from any number of processes never lose a
   * change; with `ifVersion` it is a check-and-set (`ConflictError` when stale). An update that
   * changes nothing keeps the version.
   *
   * @example
   * ```ts
   * await secrets.update("api-keys", { API_KEY: "sk-2", OLD_KEY: null }, { ifVersion: 1 });
   * ```
   */
  async update(
    name: string,
    changes: Record<string, string | null | undefined>,
    options: UpdateOptions = {},
  ): Promise<SecretInfo> {
    options = checkOptions(options, "update");
    const ref = this.#ref(name, options.environment);
    const normalized = normalizeChanges(changes, `update of secret "${ref.name}"`);
    const { ifVersion } = options;
    if (ifVersion !== undefined && !(Number.isSafeInteger(ifVersion) && ifVersion >= 1)) {
      throw new InvalidError("invalid ifVersion: expected a positive integer");
    }
    const record = await updateSecret(this.#records, ref, normalized, {
      ifVersion,
      limits: this.#limits,
      keep: this.#maxVersions,
      onWritten: (written) => this.#audit.emit("update", written, this.actor),
    });
    return toSecretInfo(record);
  }

  /**
   * The kept versions of a named secret, newest first, the current one included: each one's
   * number, time, actor, key names and which keys it added, changed and removed. Never values.
   *
   * @example
   * ```ts
   * for (const v of await secrets.versions("db")) console.log(v.version, v.updatedBy, v.change);
   * ```
   */
  async versions(name: string, options: VersionsOptions = {}): Promise<SecretVersion[]> {
    options = checkOptions(options, "versions");
    const ref = this.#ref(name, options.environment);
    const { onDamaged } = options;
    if (onDamaged !== undefined && typeof onDamaged !== "function") {
      throw new InvalidError("invalid onDamaged: expected a function");
    }
    return listVersions(this.#records, ref, onDamaged);
  }

  /**
   * Writes the contents of a kept version as the next version (version 8 = contents of 3):
   * nothing is lost, the version it replaces goes into the history. With `ifVersion`, a
   * check-and-set. Rolling back to contents the secret already holds changes nothing.
   *
   * @throws {NotFoundError} when the secret or that version is not kept.
   * @throws {ConflictError} when `ifVersion` is stale.
   * @example
   * ```ts
   * await secrets.rollback("db", 3, { ifVersion: 7 }); // writes version 8 = contents of 3
   * ```
   */
  async rollback(
    name: string,
    version: number,
    options: RollbackOptions = {},
  ): Promise<SecretInfo> {
    options = checkOptions(options, "rollback");
    const ref = this.#ref(name, options.environment);
    checkVersion(version);
    const { ifVersion } = options;
    if (ifVersion !== undefined) checkVersion(ifVersion, "ifVersion");
    const record = await rollbackSecret(this.#records, ref, version, {
      ifVersion,
      limits: this.#limits,
      keep: this.#maxVersions,
      onWritten: (written) => this.#audit.emit("rollback", written, this.actor),
    });
    return toSecretInfo(record);
  }

  /**
   * Metadata of a named secret (never values).
   *
   * @example
   * ```ts
   * const { version, keys, updatedAt } = await secrets.info("api-keys");
   * ```
   */
  async info(name: string, options: { environment?: string } = {}): Promise<SecretInfo> {
    options = checkOptions(options, "info");
    const ref = this.#ref(name, options.environment);
    const read = this.#records.readCached(ref);
    const verified = read instanceof Promise ? await read : read;
    if (!verified) throw notFound(ref);
    return toSecretInfo(verified.record);
  }

  /**
   * A lazy handle to a named secret. Nothing is read until it is hydrated (by `hydrate()`, or by
   * `resolve`). Each `resolve` reads the current contents, so an update takes effect at once.
   *
   * @example
   * ```ts
   * const db = secrets.fromName("db", { requiredKeys: ["PGPASSWORD"] });
   * const env = await secrets.resolve([db]);
   * ```
   */
  fromName(name: string, options: FromNameOptions = {}): Secret {
    options = checkOptions(options, "fromName");
    const ref = this.#ref(name, options.environment);
    const requiredKeys = options.requiredKeys ?? [];
    if (!Array.isArray(requiredKeys))
      throw new InvalidError("requiredKeys must be an array of keys");
    for (const key of requiredKeys) assertKey(key);
    const { version } = options;
    if (version !== undefined) checkVersion(version);
    return Secret.named(this.#named, ref.name, ref.environment, requiredKeys, version);
  }

  /**
   * Merges secrets into one environment record: applied in order, the later one wins, `env`
   * last. Named secrets are read (in parallel) at the time of the call.
   *
   * @example
   * ```ts
   * const env = await secrets.resolve([secrets.fromName("api-keys"), Secret.fromObject({ A: "1" })], {
   *   env: { PORT: "8080" },
   * });
   * ```
   */
  async resolve(
    secrets: readonly Secret[],
    options: ResolveOptions & { explain: true },
  ): Promise<ExplainedEnv>;
  async resolve(
    secrets: readonly Secret[],
    options?: ResolveOptions & { explain?: false },
  ): Promise<Record<string, string>>;
  async resolve(
    secrets: readonly Secret[],
    options: ResolveOptions = {},
  ): Promise<Record<string, string> | ExplainedEnv> {
    options = checkOptions(options, "resolve");
    if (!Array.isArray(secrets))
      throw new InvalidError("resolve expects an array of Secret handles");
    const extra = options.env === undefined ? {} : snapshotEntries(options.env, "env option");
    for (const secret of secrets) {
      if (!(secret instanceof Secret)) throw new InvalidError("resolve expects Secret handles");
    }
    const loaded =
      secrets.length === 1
        ? [await loadSecret(secrets[0] as Secret)]
        : await Promise.all(secrets.map((secret) => loadSecret(secret)));
    if (options.explain) {
      return explainLayers([...loaded, { entries: extra, origin: { kind: "env" } }]);
    }
    // One layer and no env: its entries are already a fresh object of this call (a named
    // secret's are decrypted per call, an ephemeral one's copied), so they are the result.
    if (loaded.length === 1 && options.env === undefined)
      return (loaded[0] as LoadedSecret).entries;
    return mergeLayers([...loaded.map((layer) => layer.entries), extra]);
  }

  /**
   * Calls `fn` with the resolved environment (same merge as `resolve`: the later secret wins,
   * `env` last). `process.env` is not modified. Missing `requiredKeys` (or a named secret's
   * required keys) throw `NotFoundError` before `fn` is called.
   *
   * @example
   * ```ts
   * const reply = await secrets.run({ secrets: [secrets.fromName("openai")] }, (env) =>
   *   new OpenAI({ apiKey: env.OPENAI_API_KEY }).models.list(),
   * );
   * ```
   */
  async run<T>(
    options: RunOptions,
    fn: (env: Record<string, string>) => T | Promise<T>,
  ): Promise<Awaited<T>> {
    if (typeof fn !== "function") throw new InvalidError("run expects a function to call");
    const { env } = await this.#resolveForRun(options);
    return await fn(env);
  }

  /**
   * Starts a child process whose environment is this process's (unless `inheritEnv: false`;
   * never the master key variables) overlaid by the resolved secrets and `env`. Values never go
   * on the command line. Resolves once the child has started; `exit` settles when it ends.
   * Missing required keys throw `NotFoundError` and nothing is started.
   *
   * @example
   * ```ts
   * const { child, exit } = await secrets.spawn("node", ["worker.js"], {
   *   secrets: [secrets.fromName("db", { requiredKeys: ["PGPASSWORD"] })],
   *   env: { LOG_LEVEL: "info" },
   *   stdio: "inherit",
   * });
   * const { code } = await exit;
   * ```
   */
  async spawn(
    command: string,
    args: readonly string[] = [],
    options: SpawnOptions = {},
  ): Promise<SpawnedProcess> {
    options = checkOptions(options, "spawn");
    assertCommand(command, args);
    const { secrets, env, requiredKeys, inheritEnv = true, ...spawnOptions } = options;
    const resolved = await this.#resolveForRun({
      ...(secrets === undefined ? {} : { secrets }),
      ...(env === undefined ? {} : { env }),
      ...(requiredKeys === undefined ? {} : { requiredKeys }),
    });
    try {
      return await spawnWithEnv(
        command,
        args,
        childEnvironment(resolved.env, inheritEnv),
        spawnOptions,
      );
    } catch (error) {
      throw explainStartFailure(error, resolved.explain);
    }
  }

  async #resolveForRun(options: RunOptions): Promise<ExplainedEnv> {
    if (!options || typeof options !== "object") throw new InvalidError("expected run options");
    const requiredKeys = options.requiredKeys ?? [];
    if (!Array.isArray(requiredKeys))
      throw new InvalidError("requiredKeys must be an array of keys");
    for (const key of requiredKeys) assertKey(key);
    const explained = await this.resolve(options.secrets ?? [], {
      env: options.env ?? {},
      explain: true,
    });
    assertRequiredKeys(explained.env, requiredKeys);
    return explained;
  }

  /**
   * Re-wraps every secret of the workspace (or of one environment) under the primary master key.
   * Safe while other processes read and write: each secret is rewritten by compare-and-set and a
   * concurrent update is never lost. Resumable: secrets already under the primary key are
   * skipped, so running it again finishes an interrupted run. Afterwards the old keys can be
   * dropped from the keyring.
   *
   * @example
   * ```ts
   * const secrets = new SecretManager({ store, keyring: [newKey, oldKey] });
   * const report = await secrets.rotate({ onProgress: ({ done, total }) => bar.update(done / total) });
   * // report.failed is empty → start with { masterKey: newKey } from now on
   * ```
   */
  async rotate(options: RotateOptions = {}): Promise<RotationReport> {
    options = checkOptions(options, "rotate");
    return rotateKeys(this.#records, this.workspace, options, {
      onRewrapped: (record) => this.#audit.emit("rotate", record, this.actor),
    });
  }

  /**
   * How many records of the workspace each master key seals (access tokens included), from the
   * key id each record states: which keys a rotation still needs, and whether an old key can go.
   * Reads metadata only; opens nothing.
   *
   * @example
   * ```ts
   * const { keys } = await secrets.keyStatus();
   * // [{ keyId: "kNew…", records: 40, held: true, primary: true }, { keyId: "kOld…", records: 2, … }]
   * ```
   */
  async keyStatus(): Promise<KeyStatus> {
    return keyStatus(this.#records, this.workspace);
  }

  /** Ids of the master keys this manager holds, primary first (never the keys). */
  get keyIds(): string[] {
    return this.#records.keyring.ids;
  }

  /**
   * A manager like this one (same store, master keys, workspace, default environment, actor,
   * limits, history bound and audit listener) with the cache on (see {@link SecretManagerOptions.cache}). Writes through either are
   * seen by the other at once (they share the store). `close()` of either closes the store.
   *
   * @example
   * ```ts
   * const reads = secrets.withCache({ ttlMs: 5_000 });
   * const info = await reads.info("api-keys"); // a repeated call is served from memory
   * ```
   */
  withCache(cache: CacheOptions): SecretManager {
    return new SecretManager({
      ...this.#options,
      cache,
      [SHARED_KEYRING]: this.#records.keyring,
    } as SecretManagerOptions);
  }

  /** Whether this manager's `cache` option is in effect (on, and the store has a change feed). */
  get caching(): boolean {
    return this.#records.caching;
  }

  /** Closes the store (and stops the cache's change watch). */
  async close(): Promise<void> {
    await this.#records.closeCache();
    await this.#records.call(() => this.store.close());
  }

  /** Names, never values. */
  toString(): string {
    return `SecretManager(store=${this.store.name}, workspace=${this.workspace})`;
  }

  /**
   * Reads a handle of `fromName`: its name and environment were validated when it was made (no
   * other code holds `#named`), so they are not validated again on every read. The current
   * version may come from the cache; a pinned one is read from the history.
   */
  async #readNamed(name: string, environment: string, version: number | undefined) {
    const ref: SecretRef = { workspace: this.workspace, environment, name };
    let found: { record: StoredRecord; entries: Record<string, string> } | undefined;
    if (version === undefined) {
      const verified = await this.#records.readCached(ref);
      found = verified && { record: verified.record, entries: openVerified(verified) };
    } else {
      found = await readVersion(this.#records, ref, version);
    }
    if (!found) throw notFound(ref);
    this.#audit.emit("read", found.record, this.actor);
    return { info: toSecretInfo(found.record), entries: found.entries };
  }

  async #versionInfo(name: string, environment: string, version: number): Promise<SecretInfo> {
    const found = await readVersion(this.#records, this.#ref(name, environment), version);
    return toSecretInfo(found.record);
  }

  #ref(name: string, environment: string | undefined): SecretRef {
    assertSecretName(name);
    return {
      workspace: this.workspace,
      environment: resolveEnvironment(environment, this.environment),
      name,
    };
  }

  #scope(environment: string | undefined): SecretScope {
    return {
      workspace: this.workspace,
      environment: resolveEnvironment(environment, this.environment),
    };
  }

  #ifExists(options: CreateOptions): IfExists {
    const ifExists = options.ifExists ?? (options.allowExisting ? "skip" : "fail");
    if (!["fail", "skip", "overwrite"].includes(ifExists)) {
      throw new InvalidError(
        `invalid ifExists ${JSON.stringify(ifExists)}: use "fail", "skip" or "overwrite"`,
      );
    }
    return ifExists;
  }
}

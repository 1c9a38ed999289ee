import { inspect } from "node:util";
import { type DotenvOptions, loadDotenv } from "./dotenv/load-dotenv.js";
import { InvalidError, NotFoundError } from "./errors.js";
import { newSecretId } from "./ids.js";
import type { SecretInfo } from "./info.js";
import { assertKey, snapshotEntries } from "./validation/validate.js";

/** What a named handle needs from its manager (kept narrow to avoid an import cycle). */
export interface NamedSecretSource {
  /**
   * Reads and opens the named secret (its current version, or `version`); throws
   * `NotFoundError` when it is missing.
   */
  read(
    name: string,
    environment: string,
    version?: number,
  ): Promise<{ info: SecretInfo; entries: Record<string, string> }>;
  info(name: string, environment: string, version?: number): Promise<SecretInfo>;
  update(
    name: string,
    changes: Record<string, string | null | undefined>,
    options: { environment: string; ifVersion?: number },
  ): Promise<SecretInfo>;
}

type Origin =
  | { kind: "ephemeral"; entries: Record<string, string> }
  | { kind: "dotenv"; path: string | undefined; options: DotenvOptions }
  | {
      kind: "named";
      source: NamedSecretSource;
      name: string;
      environment: string;
      requiredKeys: readonly string[];
      /** Pinned to this version (read-only), or the current version when absent. */
      version?: number;
    };

/** Where the values of one layer of a resolved environment came from. */
export type SecretOrigin =
  | { kind: "named"; name: string; environment: string; version: number; secretId: string }
  | { kind: "ephemeral"; secretId: string }
  | { kind: "dotenv"; secretId: string };

/** The contents of one loaded secret plus where they came from. */
export interface LoadedSecret {
  entries: Record<string, string>;
  origin: SecretOrigin;
}

const loaders = new WeakMap<Secret, () => Promise<LoadedSecret>>();

/**
 * Loads a secret's current contents. Internal to envkeep (not exported from the package): the
 * public way to read values is `SecretManager.resolve`.
 */
export function loadSecret(secret: Secret): Promise<LoadedSecret> {
  const load = loaders.get(secret);
  if (!load) throw new InvalidError("not an envkeep Secret");
  return load();
}

function checkRequiredKeys(
  keys: readonly string[],
  required: readonly string[],
  name: string,
): void {
  const missing = required.filter((key) => !keys.includes(key));
  if (missing.length > 0) {
    throw new NotFoundError(`secret "${name}" is missing required keys: ${missing.join(", ")}`);
  }
}

/**
 * A secret handle: a named secret of a store (lazy, from `SecretManager.fromName`), or an
 * ephemeral one built in-process (`Secret.fromObject`, `fromDict`, `fromLocalEnviron`,
 * `fromDotenv`) that is never stored.
 *
 * A handle never shows its values: `String()`, `JSON.stringify()` and `util.inspect()` print
 * only its name and key names. Pass handles to `SecretManager.resolve` (or `run` / `spawn`) to
 * use the values.
 */
export class Secret {
  readonly #origin: Origin;
  #secretId: string | undefined;
  #keys: string[] | undefined;
  #info: SecretInfo | undefined;

  private constructor(origin: Origin) {
    this.#origin = origin;
    if (origin.kind === "ephemeral") {
      this.#secretId = newSecretId();
      this.#keys = Object.keys(origin.entries).sort();
    } else if (origin.kind === "dotenv") {
      this.#secretId = newSecretId();
    }
    loaders.set(this, () => this.#load());
  }

  /**
   * An ephemeral secret from a plain object. Every value must be a string (JS SDK semantics),
   * else {@link InvalidError}.
   *
   * @example
   * ```ts
   * const config = Secret.fromObject({ LOG_LEVEL: "info", REGION: "eu-west-1" });
   * ```
   */
  static fromObject(entries: Record<string, string>): Secret {
    return new Secret({
      kind: "ephemeral",
      entries: snapshotEntries(entries, "Secret.fromObject entries"),
    });
  }

  /**
   * An ephemeral secret from a dict whose `null`/`undefined` values are dropped (Python SDK
   * semantics). Any other non-string value is an {@link InvalidError}.
   *
   * @example
   * ```ts
   * const s = Secret.fromDict({ TOKEN: process.env.TOKEN, DEBUG: null }); // DEBUG is dropped
   * ```
   */
  static fromDict(entries: Record<string, string | null | undefined> = {}): Secret {
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) {
      throw new InvalidError("invalid Secret.fromDict entries: expected a plain object");
    }
    const kept = Object.fromEntries(
      Object.entries(entries).filter(([, value]) => value !== null && value !== undefined),
    );
    return new Secret({
      kind: "ephemeral",
      entries: snapshotEntries(kept, "Secret.fromDict entries"),
    });
  }

  /**
   * An ephemeral secret that copies `keys` from the current process environment, now. A missing
   * variable is an {@link InvalidError} naming it.
   *
   * @example
   * ```ts
   * const aws = Secret.fromLocalEnviron(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
   * ```
   */
  static fromLocalEnviron(keys: readonly string[]): Secret {
    if (!Array.isArray(keys))
      throw new InvalidError("Secret.fromLocalEnviron expects an array of keys");
    for (const key of keys) assertKey(key);
    const missing = keys.filter((key) => process.env[key] === undefined);
    if (missing.length > 0) {
      throw new InvalidError(
        `Secret.fromLocalEnviron: not set in this process: ${missing.join(", ")}`,
      );
    }
    const entries = Object.fromEntries(keys.map((key) => [key, process.env[key] as string]));
    return new Secret({
      kind: "ephemeral",
      entries: snapshotEntries(entries, "Secret.fromLocalEnviron entries"),
    });
  }

  /**
   * A lazy ephemeral secret read from a dotenv file when it is used. With no `path`, searches
   * upward from the current directory for `filename`; with a `path` (file or directory), upward
   * from there. A `path` that does not exist is a {@link NotFoundError}; no file found → an empty
   * secret. `$VAR`, `${VAR}` and `${VAR:-default}` are expanded against the file's earlier keys,
   * then what a child process would inherit (never the master keys or a store URL holding
   * credentials: those expand to ""); `$(…)` is never executed; `process.env` is never changed.
   * Files over 1 MiB, unreadable lines, invalid keys and values over the limits are an
   * {@link InvalidError} naming the file and line, never a value (see the core README).
   *
   * @example
   * ```ts
   * const local = Secret.fromDotenv();                                // ./.env or a parent's
   * const dev = Secret.fromDotenv("./config", { filename: ".env.dev" });
   * ```
   */
  static fromDotenv(path?: string, options: DotenvOptions = {}): Secret {
    return new Secret({ kind: "dotenv", path, options });
  }

  /** @internal A lazy handle to a named secret; use `SecretManager.fromName`. */
  static named(
    source: NamedSecretSource,
    name: string,
    environment: string,
    requiredKeys: readonly string[],
    version?: number,
  ): Secret {
    return new Secret({
      kind: "named",
      source,
      name,
      environment,
      requiredKeys: [...requiredKeys],
      ...(version === undefined ? {} : { version }),
    });
  }

  /** The secret's id. For a named handle, known once it is hydrated. */
  get secretId(): string {
    if (this.#secretId === undefined) {
      throw new InvalidError(`secret ${this.#label()} is not hydrated yet: await hydrate() first`);
    }
    return this.#secretId;
  }

  /** The name of a named secret; `undefined` for an ephemeral one. */
  get name(): string | undefined {
    return this.#origin.kind === "named" ? this.#origin.name : undefined;
  }

  /** The environment of a named secret; `undefined` for an ephemeral one. */
  get environment(): string | undefined {
    return this.#origin.kind === "named" ? this.#origin.environment : undefined;
  }

  /** The version a named handle is pinned to (read-only); `undefined` when it follows the current one. */
  get pinnedVersion(): number | undefined {
    return this.#origin.kind === "named" ? this.#origin.version : undefined;
  }

  /** True when the handle stands for a stored, named secret. */
  get isNamed(): boolean {
    return this.#origin.kind === "named";
  }

  /** True once the handle's identity and key names are known. */
  get isHydrated(): boolean {
    return this.#keys !== undefined;
  }

  /** Key names, sorted; known once hydrated. */
  get keys(): string[] {
    if (this.#keys === undefined) {
      throw new InvalidError(`secret ${this.#label()} is not hydrated yet: await hydrate() first`);
    }
    return [...this.#keys];
  }

  /**
   * Loads the secret and checks it: a missing named secret, or missing required keys, throws
   * {@link NotFoundError} naming them. Rarely needed: `resolve`, `run` and `spawn` hydrate.
   *
   * @example
   * ```ts
   * const db = secrets.fromName("db", { requiredKeys: ["PGPASSWORD"] });
   * await db.hydrate();
   * console.log(db.secretId, db.keys);
   * ```
   */
  async hydrate(): Promise<this> {
    await this.#load();
    return this;
  }

  /** Current metadata of a named secret, or of its pinned version (read fresh from the store). */
  async info(): Promise<SecretInfo> {
    const origin = this.#origin;
    if (origin.kind !== "named") {
      throw new InvalidError("an ephemeral secret is not stored and has no info");
    }
    const info = await origin.source.info(origin.name, origin.environment, origin.version);
    this.#remember(info);
    return info;
  }

  /**
   * Merges `changes` into a named secret like `dict.update`: a string sets a key, `null` removes
   * it, `undefined` is ignored. See `SecretManager.update`.
   */
  async update(
    changes: Record<string, string | null | undefined>,
    options: { ifVersion?: number } = {},
  ): Promise<SecretInfo> {
    const origin = this.#origin;
    if (origin.kind !== "named") {
      throw new InvalidError("an ephemeral secret cannot be updated; build a new one instead");
    }
    if (origin.version !== undefined) {
      throw new InvalidError(
        `secret "${origin.name}" is pinned to version ${origin.version}, which is read-only: update the secret by name, or roll back to it`,
      );
    }
    const info = await origin.source.update(origin.name, changes, {
      environment: origin.environment,
      ...(options.ifVersion === undefined ? {} : { ifVersion: options.ifVersion }),
    });
    this.#remember(info);
    return info;
  }

  #remember(info: SecretInfo): void {
    this.#info = info;
    this.#secretId = info.secretId;
    this.#keys = [...info.keys];
  }

  async #load(): Promise<LoadedSecret> {
    const origin = this.#origin;
    switch (origin.kind) {
      case "ephemeral":
        return {
          entries: { ...origin.entries },
          origin: { kind: "ephemeral", secretId: this.secretId },
        };
      case "dotenv": {
        const entries = await loadDotenv(origin.path, origin.options);
        this.#keys = Object.keys(entries).sort();
        return { entries, origin: { kind: "dotenv", secretId: this.secretId } };
      }
      case "named": {
        const { info, entries } = await origin.source.read(
          origin.name,
          origin.environment,
          origin.version,
        );
        checkRequiredKeys(info.keys, origin.requiredKeys, origin.name);
        this.#remember(info);
        return {
          entries,
          origin: {
            kind: "named",
            name: info.name,
            environment: info.environment,
            version: info.version,
            secretId: info.secretId,
          },
        };
      }
    }
  }

  #label(): string {
    const origin = this.#origin;
    return origin.kind === "named"
      ? `"${origin.name}"${origin.version === undefined ? "" : `@${origin.version}`} (environment "${origin.environment}")`
      : `(${origin.kind})`;
  }

  /** Names the secret and its key names; never a value. */
  toString(): string {
    const keys = this.#keys ? ` keys=[${this.#keys.join(",")}]` : "";
    const version = this.#info ? ` version=${this.#info.version}` : "";
    return `Secret(${this.#label()}${keys}${version})`;
  }

  /** JSON shows identity and key names only. */
  toJSON(): Record<string, unknown> {
    return {
      kind: this.#origin.kind,
      name: this.name,
      environment: this.environment,
      secretId: this.#secretId,
      keys: this.#keys,
    };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

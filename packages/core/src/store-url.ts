import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidError, SecretsError, StoreError } from "./errors.js";
import type { SecretStore } from "./store.js";

/** The store used when neither an option nor `ENVKEEP_STORE` names one: SQLite in the working directory. */
export const DEFAULT_STORE_URL = "sqlite:./.envkeep/secrets.db";

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /**
   * Loads a store package by name (`"@envkeep/store-sqlite"`, …). Pass `(name) => import(name)`
   * from your own module when the store packages are installed next to it but not next to
   * `@envkeep/core` (strict pnpm layouts).
   * @default `import(name)`, then resolution from `process.cwd()`
   */
  importModule?: (specifier: string) => Promise<unknown>;
}

/** Where a store URL points, parsed. Never holds a password in `display`. */
export type StoreLocation =
  | { kind: "memory"; package: "@envkeep/store-memory"; display: string }
  | {
      kind: "sqlite";
      package: "@envkeep/store-sqlite";
      display: string;
      path: string;
      table?: string;
      busyTimeoutMs?: number;
    }
  | {
      kind: "redis";
      package: "@envkeep/store-redis";
      display: string;
      /**
       * One server (`redis://`, `rediss://`), a Redis Cluster (`redis+cluster://`,
       * `rediss+cluster://`) or the primary Redis Sentinel names (`redis+sentinel://`,
       * `rediss+sentinel://`).
       */
      topology: "server" | "cluster" | "sentinel";
      /** The URL for `redisStore({ url })`: the store options below taken out. */
      url: string;
      prefix?: string;
      timeoutMs?: number;
      connectTimeoutMs?: number;
      /** Replicas that must confirm each write (Redis `WAIT`); see the Redis store. */
      waitForReplicas?: number;
    };

const SUPPORTED =
  "memory:, sqlite:<path>, sqlite://<path>, redis://…, rediss://…, redis+cluster://… or redis+sentinel://…";

/** Options of every Redis store URL, taken out of the URL handed to the store. */
const REDIS_STORE_OPTIONS = ["prefix", "timeoutMs", "connectTimeoutMs", "waitForReplicas"] as const;
/** Options a Sentinel URL keeps for the store: the sentinels' own credentials. */
const SENTINEL_OPTIONS = ["sentinelUsername", "sentinelPassword"] as const;

/**
 * `redis+cluster://` and `redis+sentinel://` URLs (and their `rediss+` forms) list several
 * `host[:port]`, which `new URL` does not read: scheme, user info, hosts, path, query.
 */
const MULTI_HOST_REDIS =
  /^(rediss?)\+(cluster|sentinel):\/\/(?:([^/?#]*)@)?([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i;
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[^\s:/?#[\]@,]+)(?::(\d{1,5}))?$/i;

/**
 * The store URL to use: `explicit`, else `ENVKEEP_STORE`, else {@link DEFAULT_STORE_URL}.
 */
export function resolveStoreUrl(
  explicit?: string,
  env: Record<string, string | undefined> = process.env,
): string {
  return explicit ?? (env.ENVKEEP_STORE?.trim() || undefined) ?? DEFAULT_STORE_URL;
}

/**
 * `url` with its credentials replaced by `***`, for messages: the password of `user:password@`
 * (up to the last `@` of the authority, as a URL parser reads it), a user given alone (it may be
 * a token: `redis://token@host`), and the value of query parameters named like credentials.
 */
export function redactStoreUrl(url: string): string {
  return (
    url
      .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i, (_, scheme: string, userinfo: string) => {
        const colon = userinfo.indexOf(":");
        return colon === -1 ? `${scheme}***@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
      })
      // ?password=…, ?token=…, ?auth=…: the value is hidden
      .replace(/([?&][^=&#]*(?:pass|pwd|token|secret|auth|key|cred)[^=&#]*=)[^&#]*/gi, "$1***")
  );
}

function milliseconds(text: string, option: string, display: string): number {
  const value = Number(text);
  if (text === "" || !Number.isInteger(value) || value < 0) {
    throw new InvalidError(`invalid ${option} in store URL ${display}: expected milliseconds`);
  }
  return value;
}

function parseQuery(query: string, allowed: readonly string[], display: string) {
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      throw new InvalidError(
        `unknown option ${JSON.stringify(key)} in store URL ${display}: use ${allowed.join(", ") || "none"}`,
      );
    }
  }
  return params;
}

/**
 * Parses a store URL without opening anything.
 *
 * - `memory:` — a fresh in-process store (lost when the process exits).
 * - `sqlite:<path>` or `sqlite://<path>` (`sqlite:///abs/path` for an absolute path), with
 *   optional `?table=…&busyTimeoutMs=…`.
 * - `redis://[user:password@]host[:port][/db]` or `rediss://…`, with optional
 *   `?prefix=…&timeoutMs=…&connectTimeoutMs=…&waitForReplicas=…`.
 * - `redis+cluster://[user:password@]host[:port][,host[:port]…]` or `rediss+cluster://…`: a Redis
 *   Cluster through any of the listed nodes (port 6379 by default), same options.
 * - `redis+sentinel://[user:password@]host[:port][,host[:port]…]/<primary name>[/db]` or
 *   `rediss+sentinel://…`: the primary these sentinels (port 26379 by default) name; same options,
 *   plus `sentinelUsername`/`sentinelPassword` when the sentinels want credentials of their own
 *   (the user info is the primary's).
 *
 * @throws {InvalidError} for any other scheme or a malformed URL (the message never shows a password).
 */
export function parseStoreUrl(url: string): StoreLocation {
  if (typeof url !== "string" || url.trim() === "") {
    throw new InvalidError(`empty store URL: use ${SUPPORTED}`);
  }
  const text = url.trim();
  const display = JSON.stringify(redactStoreUrl(text));
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === "memory") {
    if (!/^memory:(\/\/)?$/i.test(text)) {
      throw new InvalidError(`invalid store URL ${display}: write just "memory:"`);
    }
    return { kind: "memory", package: "@envkeep/store-memory", display };
  }
  if (scheme === "sqlite") {
    let rest = text.slice("sqlite:".length);
    if (rest.startsWith("//")) rest = rest.slice(2);
    const question = rest.indexOf("?");
    const file = question === -1 ? rest : rest.slice(0, question);
    const params = parseQuery(
      question === -1 ? "" : rest.slice(question + 1),
      ["table", "busyTimeoutMs"],
      display,
    );
    if (file === "") throw new InvalidError(`invalid store URL ${display}: no database path`);
    const location: StoreLocation = {
      kind: "sqlite",
      package: "@envkeep/store-sqlite",
      display,
      path: decodeURIComponent(file),
    };
    const table = params.get("table");
    if (table !== null) location.table = table;
    const timeout = params.get("busyTimeoutMs");
    if (timeout !== null) location.busyTimeoutMs = milliseconds(timeout, "busyTimeoutMs", display);
    return location;
  }
  if (/^rediss?\+(cluster|sentinel)$/.test(scheme ?? "")) return parseMultiHostRedis(text, display);
  if (scheme === "redis" || scheme === "rediss") {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw new InvalidError(`invalid store URL ${display}: not a valid ${scheme}:// URL`);
    }
    const params = parseQuery(parsed.search.slice(1), REDIS_STORE_OPTIONS, display);
    parsed.search = "";
    return redisLocation("server", parsed.toString(), params, display);
  }
  throw new InvalidError(`unsupported store URL ${display}: use ${SUPPORTED}`);
}

/** A Redis location: the store options read from `params`, the rest of the URL for the store. */
function redisLocation(
  topology: "server" | "cluster" | "sentinel",
  url: string,
  params: URLSearchParams,
  display: string,
): StoreLocation {
  const location: StoreLocation = {
    kind: "redis",
    package: "@envkeep/store-redis",
    display,
    topology,
    url,
  };
  const prefix = params.get("prefix");
  if (prefix !== null) location.prefix = prefix;
  for (const option of ["timeoutMs", "connectTimeoutMs"] as const) {
    const value = params.get(option);
    if (value !== null) location[option] = milliseconds(value, option, display);
  }
  const replicas = params.get("waitForReplicas");
  if (replicas !== null) {
    if (!/^\d{1,3}$/.test(replicas)) {
      throw new InvalidError(
        `invalid waitForReplicas in store URL ${display}: expected a whole number of replicas`,
      );
    }
    location.waitForReplicas = Number(replicas);
  }
  return location;
}

/** `redis+cluster://…` and `redis+sentinel://…` (and `rediss+…`): several hosts. */
function parseMultiHostRedis(text: string, display: string): StoreLocation {
  const match = MULTI_HOST_REDIS.exec(text);
  if (!match) throw new InvalidError(`invalid store URL ${display}: not a valid Redis URL`);
  const [, scheme = "", kind = "", userinfo, hosts = "", path = "", query = ""] = match;
  const topology = kind.toLowerCase() as "cluster" | "sentinel";
  for (const entry of hosts.split(",")) {
    const hostPort = HOST_PORT.exec(entry.trim());
    const port = Number(hostPort?.[2] ?? 1);
    if (!hostPort || port < 1 || port > 65_535) {
      throw new InvalidError(
        `invalid store URL ${display}: ${JSON.stringify(entry)} is not a host[:port]`,
      );
    }
  }
  if (topology === "cluster" && !/^\/?0?$/.test(path)) {
    throw new InvalidError(`invalid store URL ${display}: a cluster has only database 0, no path`);
  }
  if (topology === "sentinel" && !/^\/[^/]+(\/\d+)?$/.test(path)) {
    throw new InvalidError(
      `invalid store URL ${display}: name the primary, as in redis+sentinel://host:26379/mymaster[/db]`,
    );
  }
  const kept = topology === "sentinel" ? SENTINEL_OPTIONS : [];
  const params = parseQuery(query, [...REDIS_STORE_OPTIONS, ...kept], display);
  const forStore = new URLSearchParams();
  for (const [key, value] of params) {
    if ((kept as readonly string[]).includes(key)) forStore.append(key, value);
  }
  const rest = forStore.toString();
  const url = `${scheme.toLowerCase()}+${topology}://${userinfo === undefined ? "" : `${userinfo}@`}${hosts}${path}${rest ? `?${rest}` : ""}`;
  return redisLocation(topology, url, params, display);
}

/** Query parameter names that look like they carry a credential. */
const CREDENTIAL_PARAMETER = /pass|pwd|secret|token|auth|cred|key|sig/i;

/**
 * Whether a store URL (the value of `ENVKEEP_STORE`) holds a credential, or might: a user or
 * password (`redis://user:pw@host`, `redis://:pw@host`, `redis://token@host`), a query parameter
 * whose name looks like one (`password`, `token`, `auth`, `secret`, `key`, …), or anything
 * {@link parseStoreUrl} rejects (what an unreadable URL holds can't be told). An empty or
 * blank URL holds none.
 *
 * Such a URL is withheld from child processes and from `.env` expansion (see
 * `withheldVariables`).
 *
 * @example
 * ```ts
 * storeUrlHoldsCredentials("rediss://:pw@cache.internal:6380/0"); // true
 * storeUrlHoldsCredentials("sqlite:./.envkeep/secrets.db"); // false
 * ```
 */
export function storeUrlHoldsCredentials(url: string): boolean {
  const text = url.trim();
  if (text === "") return false;
  let location: StoreLocation;
  try {
    location = parseStoreUrl(text);
  } catch {
    return true;
  }
  if (location.kind === "redis" && location.topology !== "server") {
    return multiHostHoldsCredentials(text);
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return true;
  }
  if (parsed.username !== "" || parsed.password !== "") return true;
  for (const name of parsed.searchParams.keys()) {
    if (CREDENTIAL_PARAMETER.test(name)) return true;
  }
  return false;
}

/** {@link storeUrlHoldsCredentials} of a (valid) `redis+cluster://` or `redis+sentinel://` URL. */
function multiHostHoldsCredentials(text: string): boolean {
  const [, , , userinfo, , , query = ""] = MULTI_HOST_REDIS.exec(text) ?? [];
  if (userinfo !== undefined) return true;
  for (const name of new URLSearchParams(query).keys()) {
    if (CREDENTIAL_PARAMETER.test(name) || name === "sentinelUsername") return true;
  }
  return false;
}

function isModuleNotFound(error: unknown, specifier: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    typeof message === "string" &&
    message.includes(specifier)
  );
}

/**
 * `import(specifier)`; when that fails, the package as installed for the working directory, then
 * for the main script (strict layouts such as pnpm's do not let core see its siblings).
 */
async function importFromHere(specifier: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch (error) {
    if (!isModuleNotFound(error, specifier)) throw error;
    const bases = [process.cwd(), ...(process.argv[1] ? [path.dirname(process.argv[1])] : [])];
    for (const base of bases) {
      let resolved: string;
      try {
        resolved = createRequire(path.join(base, "noop.js")).resolve(specifier);
      } catch {
        continue;
      }
      return import(pathToFileURL(resolved).href);
    }
    throw error;
  }
}

async function loadFactory(
  location: StoreLocation,
  exportName: string,
  importModule: (specifier: string) => Promise<unknown>,
): Promise<(options?: unknown) => SecretStore> {
  let module: unknown;
  try {
    module = await importModule(location.package);
  } catch (error) {
    if (isModuleNotFound(error, location.package)) {
      throw new InvalidError(
        `the store URL ${location.display} needs the package ${location.package}: install ${location.package}`,
        { cause: error },
      );
    }
    throw new StoreError(location.kind, `cannot load ${location.package}`, { cause: error });
  }
  const factory = (module as Record<string, unknown> | undefined)?.[exportName];
  if (typeof factory !== "function") {
    throw new InvalidError(
      `${location.package} does not export ${exportName}(): check its version`,
    );
  }
  return factory as (options?: unknown) => SecretStore;
}

/**
 * Opens the store a URL names, loading its package on demand (core never depends on a store
 * package). Each call opens a new store; close it with `store.close()` (or the manager's
 * `close()`).
 *
 * For SQLite the database file and its missing directories are created (0600 / 0700).
 *
 * @throws {InvalidError} for an unsupported or malformed URL, or when the store's package is not
 * installed (the message says which one to install).
 * @throws {StoreError} when the store cannot be opened.
 * @example
 * ```ts
 * import { openStore } from "@envkeep/core";
 * const store = await openStore(process.env.ENVKEEP_STORE ?? "sqlite:./.envkeep/secrets.db");
 * const shared = await openStore("rediss://:pw@cache.internal:6380/0?prefix=envkeep:");
 * const ha = await openStore("redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster");
 * ```
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<SecretStore> {
  const location = parseStoreUrl(url);
  const importModule = options.importModule ?? importFromHere;
  let create: () => SecretStore | Promise<SecretStore>;
  switch (location.kind) {
    case "memory": {
      const memoryStore = await loadFactory(location, "memoryStore", importModule);
      create = () => memoryStore();
      break;
    }
    case "sqlite": {
      const sqliteStore = await loadFactory(location, "sqliteStore", importModule);
      // The store makes its file's missing directories itself (mode 0700, one level at a time).
      create = () =>
        sqliteStore({
          path: location.path,
          ...(location.table === undefined ? {} : { table: location.table }),
          ...(location.busyTimeoutMs === undefined
            ? {}
            : { busyTimeoutMs: location.busyTimeoutMs }),
        });
      break;
    }
    case "redis": {
      const redisStore = await loadFactory(location, "redisStore", importModule);
      create = () =>
        redisStore({
          url: location.url,
          ...(location.prefix === undefined ? {} : { prefix: location.prefix }),
          ...(location.timeoutMs === undefined ? {} : { timeoutMs: location.timeoutMs }),
          ...(location.connectTimeoutMs === undefined
            ? {}
            : { connectTimeoutMs: location.connectTimeoutMs }),
          ...(location.waitForReplicas === undefined
            ? {}
            : { waitForReplicas: location.waitForReplicas }),
        });
      break;
    }
  }
  try {
    return await create();
  } catch (error) {
    if (error instanceof SecretsError) throw error;
    throw new StoreError(location.kind, `cannot open the store at ${location.display}`, {
      cause: error,
    });
  }
}

/**
 * Opens the store that `store` names (a URL, or `ENVKEEP_STORE`, or the embedded default) after
 * checking `check` (which validates everything else first, so that a bad master key or name
 * never creates a database). Used by `SecretManager.open`.
 */
export async function openConfiguredStore(
  store: string | undefined,
  options: OpenStoreOptions,
  check: () => void,
): Promise<SecretStore> {
  const url = resolveStoreUrl(store);
  parseStoreUrl(url);
  check();
  return openStore(url, options);
}

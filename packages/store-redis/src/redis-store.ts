import {
  type ChangeListener,
  type HistoryQuery,
  InvalidError,
  type ListQuery,
  type SecretRef,
  type SecretScope,
  type SecretStore,
  type StoredEntry,
  type StoredRecord,
  StoreError,
} from "@envkeep/core";
import { changeChannel, changeMessage, redisChanges } from "./changes.js";
import { type RawRedis, type RedisClientLike, RedisConnection } from "./connection.js";
import {
  environmentsKey,
  historyKey,
  indexMember,
  normalizePrefix,
  parseMember,
  recordKey,
  scopeKeys,
  upperBound,
} from "./keys.js";
import {
  CREATE_SCRIPT,
  DELETE_SCRIPT,
  HISTORY_SCRIPT,
  LIST_SCRIPT,
  type LuaScript,
  metaEntry,
  REPLACE_OLD_VERSION_SCRIPT,
  REPLACE_SCRIPT,
} from "./scripts.js";

/** Options of {@link redisStore}. Give `url` or `client`, not both. */
export interface RedisStoreOptions {
  /**
   * Where Redis is. The store creates (and on `close()` disconnects) its own client:
   *
   * - `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS: one server;
   * - `redis+cluster://[user:password@]host[:port][,host[:port]…]` (or `rediss+cluster://`): a
   *   Redis Cluster, reached through any of the listed nodes (port 6379 by default);
   * - `redis+sentinel://[user:password@]host[:port][,host[:port]…]/<primary name>[/db]` (or
   *   `rediss+sentinel://`): the primary the listed sentinels (port 26379 by default) name; the
   *   user info is for the primary and its replicas, `?sentinelUsername=…&sentinelPassword=…` for
   *   sentinels that want credentials of their own.
   * @default "redis://127.0.0.1:6379"
   */
  url?: string;
  /**
   * An existing node-redis client, cluster or Sentinel client (`createClient()` /
   * `createCluster()` / `createSentinel()` of `redis`, `@redis/client` or `@keyv/redis`),
   * connected or not. The store connects it if needed and never disconnects it: `close()` leaves
   * it to its owner.
   * @default undefined
   */
  client?: RedisClientLike;
  /**
   * First part of every key, so that several tenants (or envkeep deployments) share one Redis.
   * No braces or whitespace; a trailing `:` is dropped (keys are `<prefix>:…`).
   * @default "envkeep"
   */
  prefix?: string;
  /**
   * Upper bound of every store call, in milliseconds, including waiting for a (re)connection.
   * A call that cannot finish in time rejects with `StoreError`; its commands that were not sent
   * yet are dropped. The client keeps reconnecting in the background.
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Timeout of one TCP/TLS connection attempt of a client the store creates, in milliseconds.
   * @default Math.min(timeoutMs, 5000)
   */
  connectTimeoutMs?: number;
  /**
   * Longest pause between reconnection attempts of a client the store creates, in milliseconds
   * (attempts back off from 50 ms up to this).
   * @default 1000
   */
  maxReconnectDelayMs?: number;
  /**
   * On a Redis Cluster (the store's own or a caller's): while a master's connection is failing, or
   * after a call timed out, the store re-reads the cluster's slot map at most this often, in
   * milliseconds, until every master of the map answers again — so that the replica that took
   * over a dead master's slots gets their commands. node-redis alone re-reads the map only on a
   * `MOVED` reply, which a dead master never sends. A healthy cluster is never polled.
   * @default 1000
   */
  slotRefreshMs?: number;
  /**
   * After each write (`create`, `replace`, `delete` that changed something), wait until this many
   * replicas have confirmed it (Redis `WAIT`), within the call's `timeoutMs`. A write that fewer
   * replicas confirmed in time rejects with `StoreError` although the primary applied it (its
   * outcome is unknown to the caller, as with any timed-out write). Redis replication is
   * asynchronous: with `0`, a write acknowledged in the last moments before the primary dies may
   * be missing on the replica that takes over; with `1` and one replica per primary it cannot be.
   * While fewer replicas than this are connected (the old primary not back yet after a failover),
   * every write fails. With a caller's `createSentinel()` client, keep its default
   * `masterPoolSize: 1`: `WAIT` counts the writes of the connection it runs on.
   * @default 0
   */
  waitForReplicas?: number;
  /**
   * The staleness bound of the change feed (`store.changes`, used by `SecretManager`'s `cache`
   * option), in milliseconds: a cache on this store serves nothing it cannot vouch was current
   * this long ago. Heartbeats go out every quarter of it. Only on a single server: a cluster or
   * Sentinel store has no change feed (a cache on it stays off).
   * @default 100
   */
  changeLagMs?: number;
}

/** A {@link SecretStore} on Redis. */
export interface RedisStore extends SecretStore {
  readonly name: "redis";
  /** The key prefix of this store (see {@link RedisStoreOptions.prefix}). */
  readonly prefix: string;
}

const STORE = "redis";
const DEFAULT_PREFIX = "envkeep";
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_RECONNECT_DELAY_MS = 1000;
const DEFAULT_SLOT_REFRESH_MS = 1000;
/** Index entries read per round trip when listing. */
const LIST_PAGE = 1000;

/**
 * One deadline for many reads: instead of a timer per call, one timer (running only while reads
 * are pending) fails each read still pending `timeoutMs` after it began, give or take a quarter.
 */
class ReadDeadline {
  readonly #timeoutMs: number;
  readonly #pending = new Set<{ startedAt: number; fail: (error: Error) => void }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  bound<T>(read: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = { startedAt: Date.now(), fail: reject };
      this.#pending.add(entry);
      this.#timer ??= setInterval(() => this.#sweep(), Math.max(1, this.#timeoutMs / 4));
      read.then(
        (value) => {
          this.#pending.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          this.#pending.delete(entry);
          reject(error);
        },
      );
    });
  }

  #sweep(): void {
    const due = Date.now() - this.#timeoutMs * 0.75;
    for (const entry of this.#pending) {
      if (entry.startedAt > due) continue;
      this.#pending.delete(entry);
      const error = new Error(`no answer within ${this.#timeoutMs} ms`);
      error.name = "TimeoutError";
      entry.fail(error);
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

class DeadlineError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = "DeadlineError";
  }
}

function positiveMs(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidError(`redisStore: ${option} must be a positive number of milliseconds`);
  }
  return value;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/** Runs a script by SHA1, loading it with EVAL the first time a server has not seen it. */
async function runScript(
  raw: RawRedis,
  script: LuaScript,
  keys: string[],
  args: string[],
): Promise<unknown> {
  const options = { keys, arguments: args };
  try {
    return await raw.evalSha(script.sha1, options);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await raw.eval(script.source, options);
  }
}

function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("WRONGTYPE");
}

/**
 * A store on Redis, Redis Cluster or Valkey: many host processes on many machines share one
 * server. Records are kept through keyv (`@keyv/redis`, node-redis); create, compare-and-set and
 * delete are Lua scripts that change a record, its metadata and the environment's list index in
 * one atomic step. All keys of one workspace + environment share a hash tag, so every script runs
 * unchanged on a cluster. `list` reads a sorted-set index, never a SCAN.
 *
 * Every call is bounded by `timeoutMs` and rejects with `StoreError` when Redis is unreachable;
 * the client reconnects in the background and the store recovers by itself — on a cluster or
 * behind Sentinel also when a replica takes over from a primary that died.
 *
 * @example
 * ```ts
 * import { generateMasterKey, SecretManager } from "@envkeep/core";
 * import { redisStore } from "@envkeep/store-redis";
 *
 * const secrets = new SecretManager({
 *   store: redisStore({ url: process.env.REDIS_URL, prefix: "acme" }),
 *   masterKey: process.env.ENVKEEP_MASTER_KEY,
 * });
 * await secrets.create("api-keys", { API_KEY: "sk-1" });
 * await secrets.close();
 * ```
 *
 * @example
 * ```ts
 * // An existing cluster client: the store uses it and never disconnects it.
 * import { createCluster } from "@keyv/redis";
 *
 * const cluster = createCluster({ rootNodes: [{ url: "redis://10.0.0.1:7000" }] });
 * const store = redisStore({ client: cluster });
 * ```
 *
 * @example
 * ```ts
 * // A primary found (and followed through failovers) by Redis Sentinel.
 * const store = redisStore({
 *   url: "redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster",
 *   prefix: "acme",
 * });
 * ```
 */
export function redisStore(options: RedisStoreOptions = {}): RedisStore {
  if (options.url !== undefined && options.client !== undefined) {
    throw new InvalidError("redisStore: give either url or client, not both");
  }
  const prefix = normalizePrefix(options.prefix ?? DEFAULT_PREFIX);
  const timeoutMs = positiveMs(options.timeoutMs, DEFAULT_TIMEOUT_MS, "timeoutMs");
  const waitForReplicas = options.waitForReplicas ?? 0;
  if (!Number.isSafeInteger(waitForReplicas) || waitForReplicas < 0) {
    throw new InvalidError("redisStore: waitForReplicas must be a whole number, 0 or more");
  }
  const connection = new RedisConnection({
    url: options.url,
    client: options.client,
    timeoutMs,
    connectTimeoutMs: positiveMs(
      options.connectTimeoutMs,
      Math.min(timeoutMs, 5000),
      "connectTimeoutMs",
    ),
    maxReconnectDelayMs: positiveMs(
      options.maxReconnectDelayMs,
      DEFAULT_MAX_RECONNECT_DELAY_MS,
      "maxReconnectDelayMs",
    ),
    slotRefreshMs: positiveMs(options.slotRefreshMs, DEFAULT_SLOT_REFRESH_MS, "slotRefreshMs"),
  });
  const { keyv, target } = connection;
  let closed = false;

  // The change feed: single servers only (see RedisStoreOptions.changeLagMs).
  const announce = connection.kind === "client";
  const channel = announce ? changeChannel(prefix) : "";
  const announcement = (ref: SecretRef) => (announce ? changeMessage(ref) : "");
  const watches = new Set<{ close(): Promise<void> }>();
  /** Listeners of this store's watches: told of this store's own writes as they complete. */
  const listeners = new Set<ChangeListener>();
  const written = (ref: SecretRef, changed: boolean): boolean => {
    if (changed) {
      const at = { workspace: ref.workspace, environment: ref.environment, name: ref.name };
      for (const listener of listeners) listener(at);
    }
    return changed;
  };
  let beating: Promise<unknown> | undefined;
  const feed = announce
    ? redisChanges({
        prefix,
        lagMs: positiveMs(options.changeLagMs, 100, "changeLagMs"),
        link: {
          subscribe: (to, onMessage, onLost) => connection.subscribe(to, onMessage, onLost),
          // One heartbeat in flight at most: while Redis is away they wait, they do not pile up.
          publish: (to, message) => {
            if (closed) return Promise.reject(new Error("the store is closed"));
            if (beating) return Promise.reject(new Error("a heartbeat is still on its way"));
            const reader = connection.readyReader();
            const sent = reader
              ? reader.publish(to, message)
              : run("publish", (raw) => raw.publish(to, message));
            beating = sent.finally(() => {
              beating = undefined;
            });
            return sent;
          },
        },
      })
    : undefined;
  const changes = feed && {
    reportsBackendEdits: feed.reportsBackendEdits,
    watch: (listener: ChangeListener) => {
      const watch = feed.watch(listener);
      listeners.add(listener);
      const tracked = {
        lagMs: watch.lagMs,
        current: () => !closed && (watch.current() as boolean),
        close: async () => {
          watches.delete(tracked);
          listeners.delete(listener);
          await watch.close();
        },
      };
      watches.add(tracked);
      return tracked;
    },
  };

  /**
   * Runs one store call within the deadline; every failure becomes a StoreError. `confirm(key)`
   * waits for `waitForReplicas` replicas to confirm the call's writes to `key`'s node.
   */
  const run = async <T>(
    what: string,
    work: (raw: RawRedis, confirm: (key: string) => Promise<void>) => Promise<T>,
  ): Promise<T> => {
    if (closed) throw new StoreError(STORE, `${what} failed: the store is closed (${target})`);
    const abort = new AbortController();
    const startedAt = Date.now();
    const confirm = async (key: string) => {
      if (waitForReplicas === 0) return;
      // WAIT's own timeout ends well before the call's deadline, so that its answer is heard
      // (Redis checks it at every server tick: up to 100 ms late with the default hz 10).
      const remaining = timeoutMs - (Date.now() - startedAt);
      const waitMs = Math.max(1, remaining - Math.min(250, remaining / 2));
      const commandOptions = { timeout: timeoutMs, abortSignal: abort.signal };
      const confirmed = await connection.confirmWrites(
        key,
        waitForReplicas,
        waitMs,
        commandOptions,
      );
      if (confirmed < waitForReplicas) {
        throw new StoreError(
          STORE,
          `${what} was applied by the primary but confirmed by ${confirmed} of ${waitForReplicas} replicas within ${timeoutMs} ms: a failover now could lose it (${target})`,
        );
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new DeadlineError(timeoutMs));
      }, timeoutMs);
    });
    let connected = false;
    const attempt = (async () => {
      await connection.ready();
      connected = true;
      const raw = await connection.raw({ timeout: timeoutMs, abortSignal: abort.signal });
      return work(raw, confirm);
    })();
    attempt.catch(() => {}); // settles after the deadline when Redis is away: nobody waits then
    try {
      return await Promise.race([attempt, deadline]);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      if (!(error instanceof DeadlineError)) {
        throw new StoreError(STORE, `${what} failed (${target})`, { cause: error });
      }
      connection.timedOut();
      if (connected) {
        throw new StoreError(STORE, `${what} timed out after ${timeoutMs} ms (${target})`, {
          cause: error,
        });
      }
      throw new StoreError(
        STORE,
        `${what} timed out after ${timeoutMs} ms waiting for a connection (${target})`,
        { cause: connection.lastError ?? error },
      );
    } finally {
      clearTimeout(timer);
    }
  };

  /** Serializes a record the way keyv reads it back (`keyv.get`). */
  const serialize = async (record: StoredRecord): Promise<string> => {
    const data = await keyv.serializeData({ value: record, expires: undefined });
    if (typeof data !== "string") throw new StoreError(STORE, "keyv did not serialize to text");
    return data;
  };

  /**
   * What is stored at `at`, read as the contract asks: the location's identity, the other fields
   * as stored (core checks them), an unreadable marker for anything that is not keyv's stored
   * form of an object. In list results, `position` (the index member's time) is the `createdAt`.
   */
  const entryOf = async (
    at: SecretRef,
    text: string | undefined,
    position?: number,
  ): Promise<StoredEntry> => {
    const location = { workspace: at.workspace, environment: at.environment, name: at.name };
    const positioned = position === undefined ? {} : { createdAt: position };
    const unreadable = (why: string): StoredEntry => ({
      ...location,
      ...positioned,
      unreadable: why,
    });
    if (text === undefined) return unreadable("its key holds no string");
    let record: unknown;
    try {
      record = ((await keyv.deserializeData(text)) as { value?: unknown } | undefined)?.value;
    } catch {
      return unreadable("its value is not keyv's stored form");
    }
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      return unreadable("its value holds no record");
    }
    return { ...(record as StoredRecord), ...location, ...positioned };
  };

  const readDeadline = new ReadDeadline(timeoutMs);

  const getAt = async (raw: RawRedis, ref: SecretRef): Promise<StoredEntry | undefined> => {
    let text: string | null;
    try {
      text = await raw.get(recordKey(prefix, ref));
    } catch (error) {
      if (isWrongType(error)) return entryOf(ref, undefined);
      throw error;
    }
    return text === null ? undefined : entryOf(ref, text);
  };

  const memberOf = (what: string, record: StoredRecord): string => {
    try {
      return indexMember(record.createdAt, record.name);
    } catch (error) {
      throw new StoreError(STORE, `${what} failed: ${(error as Error).message}`, { cause: error });
    }
  };

  const scriptKeys = (ref: SecretRef) => {
    const keys = scopeKeys(prefix, ref);
    return [keys.recordPrefix + ref.name, keys.meta, keys.index, historyKey(prefix, ref)];
  };

  return {
    name: STORE,
    prefix,
    ...(changes ? { changes } : {}),

    get: (ref: SecretRef) => {
      const reader = closed ? undefined : connection.readyReader();
      if (reader === undefined) return run("get", (raw) => getAt(raw, ref));
      // The common case, a ready single server: one GET, bounded by the shared read deadline
      // (node-redis's own timeout stops waiting only before a command is sent).
      return readDeadline.bound(getAt(reader, ref)).catch((error: unknown) => {
        if (error instanceof Error && error.name === "TimeoutError") {
          throw new StoreError(STORE, `get timed out after ${timeoutMs} ms (${target})`, {
            cause: error,
          });
        }
        throw new StoreError(STORE, `get failed (${target})`, { cause: error });
      });
    },

    create: async (record: StoredRecord) => {
      const member = memberOf("create", record);
      const serialized = await serialize(record);
      return run("create", async (raw, confirm) => {
        const environments = environmentsKey(prefix, record.workspace);
        const keys = scriptKeys(record);
        if (connection.isCluster) {
          // Another slot, so not part of the script: added first and idempotently; a stale entry
          // is harmless, a missing one impossible.
          await raw.sAdd(environments, record.environment);
        } else {
          keys.push(environments);
        }
        const meta = metaEntry(record.secretId, record.version, member);
        const args = [
          record.name,
          member,
          serialized,
          meta,
          record.environment,
          channel,
          announcement(record),
        ];
        const created = written(
          record,
          Number(await runScript(raw, CREATE_SCRIPT, keys, args)) === 1,
        );
        if (created) await confirm(keys[0]!);
        // On a cluster the environment set lives on another node: its write is confirmed too.
        if (created && connection.isCluster) await confirm(environments);
        return created;
      });
    },

    replace: async (record: StoredRecord, expectedVersion: number, options = {}) => {
      const member = memberOf("replace", record);
      const serialized = await serialize(record);
      const { history } = options;
      if (history && history.keep > 0 && !history.previous) {
        throw new InvalidError("replace: history.previous is required when history.keep > 0");
      }
      const previous =
        history?.previous && history.keep > 0 ? await serialize(history.previous) : "";
      return run("replace", async (raw, confirm) => {
        const meta = metaEntry(record.secretId, record.version, member);
        const args = [
          record.name,
          member,
          serialized,
          meta,
          record.secretId,
          String(expectedVersion),
          history ? String(history.keep) : "",
          previous,
          channel,
          announcement(record),
        ];
        const keys = scriptKeys(record);
        const replaced = written(
          record,
          Number(await runScript(raw, REPLACE_SCRIPT, keys, args)) === 1,
        );
        if (replaced) await confirm(keys[0]!);
        return replaced;
      });
    },

    delete: (ref: SecretRef) =>
      run("delete", async (raw, confirm) => {
        const keys = scriptKeys(ref);
        const args = [ref.name, channel, announcement(ref)];
        const deleted = written(ref, Number(await runScript(raw, DELETE_SCRIPT, keys, args)) === 1);
        if (deleted) await confirm(keys[0]!);
        return deleted;
      }),

    history: (ref: SecretRef, query: HistoryQuery = {}) =>
      run("history", async (raw) => {
        const version = query.version === undefined ? "" : String(query.version);
        const reply = (await runScript(
          raw,
          HISTORY_SCRIPT,
          [historyKey(prefix, ref)],
          [version],
        )) as string[];
        const found: { version: number; text: string }[] = [];
        for (let i = 0; i + 1 < reply.length; i += 2) {
          found.push({ version: Number(reply[i]), text: reply[i + 1]! });
        }
        found.sort((a, b) => b.version - a.version);
        const entries: StoredEntry[] = [];
        for (const { version: kept, text } of found) {
          const entry = await entryOf(ref, text);
          entries.push("unreadable" in entry ? { ...entry, version: kept } : entry);
        }
        return entries;
      }),

    replaceOldVersion: async (record: StoredRecord, expectedSealed: string) => {
      const serialized = await serialize(record);
      return run("replaceOldVersion", async (raw, confirm) => {
        const key = historyKey(prefix, record);
        const args = [String(record.version), expectedSealed, serialized];
        const replaced =
          Number(await runScript(raw, REPLACE_OLD_VERSION_SCRIPT, [key], args)) === 1;
        if (replaced) await confirm(key);
        return replaced;
      });
    },

    list: (scope: SecretScope, query: ListQuery = {}) =>
      run("list", async (raw) => {
        const { limit } = query;
        let max = upperBound(query.before);
        if (limit === 0 || max === undefined) return [];
        const keys = scopeKeys(prefix, scope);
        const entries: StoredEntry[] = [];
        for (;;) {
          const count = Math.min(
            LIST_PAGE,
            limit === undefined ? LIST_PAGE : limit - entries.length,
          );
          const reply = (await runScript(
            raw,
            LIST_SCRIPT,
            [keys.index],
            [keys.recordPrefix, max, String(count)],
          )) as string[];
          for (let i = 0; i + 2 < reply.length; i += 3) {
            const { createdAt, name } = parseMember(reply[i]!);
            const at = { workspace: scope.workspace, environment: scope.environment, name };
            const status = reply[i + 1];
            entries.push(
              status === "ok"
                ? await entryOf(at, reply[i + 2], createdAt)
                : {
                    ...at,
                    createdAt,
                    unreadable:
                      status === "missing"
                        ? "it is listed but has no record"
                        : "its key holds no string",
                  },
            );
          }
          const members = reply.length / 3;
          if (members < count || (limit !== undefined && entries.length >= limit)) break;
          max = `(${reply[reply.length - 3]}`;
        }
        return entries;
      }),

    count: (scope: SecretScope) => run("count", (raw) => raw.zCard(scopeKeys(prefix, scope).index)),

    environments: (workspace: string) =>
      run("environments", async (raw) => [
        ...(await raw.sMembers(environmentsKey(prefix, workspace))),
      ]),

    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all([...watches].map((watch) => watch.close()));
      await connection.close(timeoutMs);
    },
  };
}

import { InvalidError } from "@envkeep/core";
import type KeyvRedis from "@keyv/redis";
import { createClient, createKeyv, type Keyv, type RedisClientType } from "@keyv/redis";

/**
 * A node-redis client or cluster: what `createClient()` / `createCluster()` of `redis`,
 * `@redis/client` or `@keyv/redis` return (node-redis 5, any modules, scripts or RESP version).
 * Typed by the members the store uses, since node-redis's generic types do not nest.
 */
export interface RedisClientLike {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): unknown;
  withCommandOptions(options: { timeout?: number; abortSignal?: AbortSignal }): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own listener type
  on(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own listener type
  off(event: string, listener: (...args: any[]) => void): unknown;
}

interface EvalOptions {
  keys: string[];
  arguments: string[];
}

/** The few raw commands the store sends itself (on a client or a cluster alike). */
export interface RawRedis {
  evalSha(sha1: string, options: EvalOptions): Promise<unknown>;
  eval(script: string, options: EvalOptions): Promise<unknown>;
  get(key: string): Promise<string | null>;
  zCard(key: string): Promise<number>;
  sAdd(key: string, member: string): Promise<number>;
  sMembers(key: string): Promise<string[] | Set<string>>;
}

interface CommandOptions {
  timeout?: number;
  abortSignal?: AbortSignal;
}

/** What else the store reads of a client or cluster, where present. */
interface ClientShape extends RedisClientLike {
  readonly isReady?: boolean;
  readonly options?: { url?: string; socket?: { host?: string; port?: number; path?: string } };
  readonly slots?: unknown;
}

interface ClusterShape {
  _options?: { rootNodes?: { url?: string; socket?: { host?: string; port?: number } }[] };
}

/** Drops the password (and keeps everything else) of a Redis URL, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "an unparseable Redis URL";
  }
}

/** Where a client points, for error messages: a URL without password, or host:port list. */
function describeClient(client: ClientShape): string {
  if (client.slots !== undefined) {
    const roots = (client as unknown as ClusterShape)._options?.rootNodes ?? [];
    const nodes = roots.map((node) =>
      node.url ? redactUrl(node.url) : `${node.socket?.host ?? "localhost"}:${node.socket?.port}`,
    );
    return `cluster ${nodes.join(",") || "(no root nodes)"}`;
  }
  if (client.options?.url) return redactUrl(client.options.url);
  const socket = client.options?.socket;
  if (socket?.path) return `redis+unix://${socket.path}`;
  return `redis://${socket?.host ?? "localhost"}:${socket?.port ?? 6379}`;
}

/** `createClient`, with a bad URL reported as an `InvalidError` that shows no password. */
function createOwnClient(options: Parameters<typeof createClient>[0] & { url: string }) {
  if (!/^rediss?:\/\//i.test(options.url)) {
    throw new InvalidError(
      `redisStore: the url must start with redis:// or rediss:// (got ${redactUrl(options.url)})`,
    );
  }
  try {
    return createClient(options);
  } catch {
    // No cause: Node's URL errors carry the whole input, password included.
    throw new InvalidError("redisStore: the url is not a valid redis:// or rediss:// URL");
  }
}

export interface ConnectionOptions {
  url: string | undefined;
  client: RedisClientLike | undefined;
  timeoutMs: number;
  connectTimeoutMs: number;
  maxReconnectDelayMs: number;
}

/**
 * One node-redis client or cluster behind a keyv instance: the store reads through keyv and runs
 * its atomic scripts on the raw client (`keyv.store.getClient()`). The client reconnects by itself
 * in the background; callers wait for it at most their own deadline.
 */
export class RedisConnection {
  /** Where the client points, without password. */
  readonly target: string;
  /** keyv over the same client: `get`/`getMany` of serialized records. */
  readonly keyv: Keyv;
  /** True when the store created the client (and so must disconnect it). */
  readonly owned: boolean;
  readonly #client: ClientShape;
  readonly #adapter: KeyvRedis<unknown>;
  /** True for a Redis Cluster client (keys of different scopes live in different slots). */
  readonly isCluster: boolean;
  /** The client's latest error since it was last ready (why it cannot connect, if it cannot). */
  lastError: unknown;
  #readyWait: Promise<void> | undefined;
  #clusterConnect: Promise<void> | undefined;

  constructor(options: ConnectionOptions) {
    if (options.client) {
      this.#client = options.client as unknown as ClientShape;
      this.owned = false;
    } else {
      const url = options.url ?? "redis://127.0.0.1:6379";
      const maxDelay = options.maxReconnectDelayMs;
      this.#client = createOwnClient({
        url,
        socket: {
          connectTimeout: options.connectTimeoutMs,
          // Keep trying in the background for as long as the store lives; calls meanwhile fail
          // at their own deadline instead of waiting for this.
          reconnectStrategy: (retries: number) =>
            Math.min(50 * 2 ** Math.min(retries, 10), maxDelay),
        },
        // Bounds every queued command, keyv's included: nothing waits in the offline queue forever.
        commandOptions: { timeout: options.timeoutMs },
      }) as unknown as ClientShape;
      this.owned = true;
    }
    this.isCluster = this.#client.slots !== undefined;
    this.target = describeClient(this.#client);
    // createKeyv avoids keyv's own key prefix (our keys carry theirs), and throwOnErrors turns
    // keyv's swallowed errors (a miss!) into real failures.
    this.keyv = createKeyv(this.#client as unknown as RedisClientType, { throwOnErrors: true });
    this.#adapter = this.keyv.store as KeyvRedis<unknown>;
    // node-redis and keyv emit 'error' on every failed (re)connection attempt; calls report
    // failures themselves, with the latest connection error as the cause of a timeout.
    this.keyv.on("error", () => {});
    this.#client.on("error", this.#onError);
    this.#client.on("ready", this.#onReady);
  }

  readonly #onError = (error: unknown) => {
    this.lastError = error;
  };

  readonly #onReady = () => {
    this.lastError = undefined;
  };

  /** Resolves once the client can take commands (starting it if needed). */
  async ready(): Promise<void> {
    if (this.isCluster) {
      if (!this.#clusterConnect) {
        this.#clusterConnect = this.#client.isOpen
          ? Promise.resolve()
          : this.#client.connect().then(
              () => undefined,
              (error: unknown) => {
                this.#clusterConnect = undefined;
                throw error;
              },
            );
      }
      return this.#clusterConnect;
    }
    if (this.#client.isReady) return;
    if (!this.#client.isOpen) {
      // connect() stays pending while it retries; it rejects only if the client gives up.
      const attempt = this.#client.connect().then(() => undefined);
      return Promise.race([attempt, this.#waitForReady()]);
    }
    return this.#waitForReady();
  }

  #waitForReady(): Promise<void> {
    this.#readyWait ??= new Promise<void>((resolve, reject) => {
      const settle = () => {
        this.#client.off("ready", onReady);
        this.#client.off("end", onEnd);
        this.#readyWait = undefined;
      };
      const onReady = () => {
        settle();
        resolve();
      };
      const onEnd = () => {
        settle();
        reject(new Error("the Redis client was closed"));
      };
      this.#client.on("ready", onReady);
      this.#client.on("end", onEnd);
    });
    return this.#readyWait;
  }

  /**
   * The raw client of the keyv adapter, with a command timeout and an abort signal: commands still
   * queued when the caller gives up are dropped, never sent later.
   */
  async raw(options: CommandOptions): Promise<RawRedis> {
    const client = (await this.#adapter.getClient()) as unknown as ClientShape;
    return client.withCommandOptions(options) as RawRedis;
  }

  /** Disconnects the client if the store created it; leaves a caller's client alone. */
  async close(timeoutMs: number): Promise<void> {
    this.#client.off("error", this.#onError);
    this.#client.off("ready", this.#onReady);
    if (!this.owned || !this.#client.isOpen) return;
    const client = this.#client;
    if (!client.isReady) {
      client.destroy();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const outcome = await Promise.race([client.close().then(() => "closed" as const), gaveUp]);
      if (outcome === "timeout" && client.isOpen) client.destroy();
    } catch {
      if (client.isOpen) client.destroy();
    } finally {
      clearTimeout(timer);
    }
  }
}

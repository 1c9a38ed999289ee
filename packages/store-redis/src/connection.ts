import { InvalidError } from "@envkeep/core";
import type KeyvRedis from "@keyv/redis";
import {
  createClient,
  createCluster,
  createKeyv,
  createSentinel,
  type Keyv,
  type RedisClientType,
} from "@keyv/redis";
import { type ClusterClientLike, SlotMapRefresher } from "./cluster-refresh.js";
import { parseRedisUrl, type RedisTarget, redactUrl } from "./redis-url.js";
import {
  isSentinelClient,
  type SentinelClientLike,
  sentinelCommands,
} from "./sentinel-commands.js";

export { redactUrl } from "./redis-url.js";

/**
 * A node-redis client, cluster or Sentinel client: what `createClient()` / `createCluster()` /
 * `createSentinel()` of `redis`, `@redis/client` or `@keyv/redis` return (node-redis 5, any
 * modules, scripts or RESP version).
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
  publish(channel: string, message: string): Promise<number>;
}

/** Per-command options of node-redis: a timeout and an abort signal. */
export interface CommandOptions {
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

/** Which kind of node-redis client the store runs on. */
export type ConnectionKind = "client" | "cluster" | "sentinel";

function kindOf(client: ClientShape): ConnectionKind {
  if (client.slots !== undefined) return "cluster";
  return isSentinelClient(client) ? "sentinel" : "client";
}

/** Where a client points, for error messages: a URL without password, or host:port list. */
function describeClient(client: ClientShape, kind: ConnectionKind): string {
  if (kind === "sentinel") return "a Redis Sentinel client";
  if (kind === "cluster") {
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

export interface ConnectionOptions {
  url: string | undefined;
  client: RedisClientLike | undefined;
  timeoutMs: number;
  connectTimeoutMs: number;
  maxReconnectDelayMs: number;
  /** Pause between re-reads of a cluster's slot map while a node is failing. */
  slotRefreshMs: number;
}

/** How often a call waiting for a Sentinel client's primary looks again (a field read, no I/O). */
const PRIMARY_POLL_MS = 50;

/**
 * The client a URL asks for (one server, a cluster or a Sentinel-managed primary), reconnecting
 * with backoff for as long as the store lives and bounding every command by `timeoutMs`. A bad URL
 * is an `InvalidError` that shows no password.
 */
function createOwnClient(url: string, options: ConnectionOptions): ClientShape {
  const target: RedisTarget = parseRedisUrl(url);
  const maxDelay = options.maxReconnectDelayMs;
  const socket = {
    connectTimeout: options.connectTimeoutMs,
    // Keep trying in the background for as long as the store lives; calls meanwhile fail at their
    // own deadline instead of waiting for this.
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), maxDelay),
  };
  // Bounds every queued command, keyv's included: nothing waits in the offline queue forever.
  const commandOptions = { timeout: options.timeoutMs };
  const tls = target.kind !== "client" && target.tls ? { tls: true as const } : {};
  try {
    if (target.kind === "cluster") {
      return createCluster({
        rootNodes: target.nodes.map((node) => ({ socket: { host: node.host, port: node.port } })),
        defaults: { ...target.credentials, socket: { ...socket, ...tls } },
        commandOptions,
      }) as unknown as ClientShape;
    }
    if (target.kind === "sentinel") {
      return createSentinel({
        name: target.masterName,
        sentinelRootNodes: target.sentinels,
        nodeClientOptions: {
          ...target.credentials,
          ...(target.database === undefined ? {} : { database: target.database }),
          socket: { ...socket, ...tls },
        },
        sentinelClientOptions: {
          ...target.sentinelCredentials,
          socket: { connectTimeout: options.connectTimeoutMs, ...tls },
        },
        commandOptions,
        // The primary's connection errors become the client's 'error' events: the cause of a
        // call that timed out waiting for it.
        passthroughClientErrorEvents: true,
      }) as unknown as ClientShape;
    }
    return createClient({ url: target.url, socket, commandOptions }) as unknown as ClientShape;
  } catch {
    // No cause: Node's URL errors carry the whole input, password included.
    throw new InvalidError(`redisStore: the url is not a valid Redis URL (${redactUrl(url)})`);
  }
}

/** Connection errors that mean "nobody is there" rather than "try again shortly". */
const REFUSALS = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH"]);

function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && REFUSALS.has(code);
}

/**
 * One node-redis client, cluster or Sentinel client behind a keyv instance: the store reads through
 * keyv and runs its atomic scripts on the raw client (`keyv.store.getClient()`). The client
 * reconnects by itself in the background; callers wait for it at most their own deadline. On a
 * cluster, a {@link SlotMapRefresher} re-reads the slot map while a master is failing, so that a
 * replica that took over gets its commands.
 */
export class RedisConnection {
  /** Where the client points, without password. */
  readonly target: string;
  /** keyv over the same client: `get`/`getMany` of serialized records. */
  readonly keyv: Keyv;
  /** True when the store created the client (and so must disconnect it). */
  readonly owned: boolean;
  /** A single server's client, a cluster, or a Sentinel client. */
  readonly kind: ConnectionKind;
  readonly #client: ClientShape;
  readonly #adapter: KeyvRedis<unknown>;
  /** Keeps a cluster's slot map current through failovers (clusters only). */
  readonly slotRefresher: SlotMapRefresher | undefined;
  /** The client's latest error since it was last ready (why it cannot connect, if it cannot). */
  lastError: unknown;
  #readyWait: Promise<void> | undefined;
  #reader: RawRedis | undefined;
  #opening: Promise<void> | undefined;
  #primaryWait: Promise<void> | undefined;
  #closed = false;
  #everReady = false;
  #refused: ((error: unknown) => void) | undefined;
  #refusedWait: Promise<never> | undefined;

  constructor(options: ConnectionOptions) {
    if (options.client) {
      this.#client = options.client as unknown as ClientShape;
      this.owned = false;
      this.kind = kindOf(this.#client);
      this.target = describeClient(this.#client, this.kind);
    } else {
      const url = options.url ?? "redis://127.0.0.1:6379";
      this.#client = createOwnClient(url, options);
      this.owned = true;
      this.kind = kindOf(this.#client);
      this.target = redactUrl(url);
    }
    // createKeyv avoids keyv's own key prefix (our keys carry theirs), and throwOnErrors turns
    // keyv's swallowed errors (a miss!) into real failures.
    this.keyv = createKeyv(this.#client as unknown as RedisClientType, { throwOnErrors: true });
    this.#adapter = this.keyv.store as KeyvRedis<unknown>;
    // node-redis and keyv emit 'error' on every failed (re)connection attempt; calls report
    // failures themselves, with the latest connection error as the cause of a timeout.
    this.keyv.on("error", () => {});
    this.#client.on("error", this.#onError);
    this.#client.on("ready", this.#onReady);
    if (this.kind === "cluster") {
      this.slotRefresher = new SlotMapRefresher(this.#client as unknown as ClusterClientLike, {
        intervalMs: options.slotRefreshMs,
        probeTimeoutMs: Math.min(options.timeoutMs, 1000),
        onError: this.#onError,
      });
    }
  }

  /** True for a Redis Cluster client (keys of different scopes live in different slots). */
  get isCluster(): boolean {
    return this.kind === "cluster";
  }

  readonly #onError = (error: unknown) => {
    this.lastError = error;
    if (!this.#everReady && isRefusal(error)) this.#refused?.(error);
  };

  readonly #onReady = () => {
    this.lastError = undefined;
    this.#everReady = true;
  };

  /**
   * A client that has never been ready and whose server refuses the connection (nothing listens
   * on the port, the host does not resolve) fails calls at once instead of waiting out their
   * deadline: that is a wrong URL or a server not started, not a restart to ride out. Once ready,
   * an outage is waited for as usual (the client reconnects in the background).
   */
  #refusedAtStart(): Promise<never> {
    this.#refusedWait ??= new Promise<never>((_, reject) => {
      this.#refused = (error) => {
        this.#refused = undefined;
        this.#refusedWait = undefined;
        reject(error);
      };
    });
    return this.#refusedWait;
  }

  /** Resolves once the client can take commands (starting it if needed). */
  async ready(): Promise<void> {
    if (this.kind === "cluster") return this.#open();
    if (this.kind === "sentinel") {
      await this.#open();
      const sentinel = this.#client as unknown as SentinelClientLike;
      if (sentinel.getMasterNode() === undefined) await this.#waitForPrimary(sentinel);
      return;
    }
    if (this.#client.isReady) return;
    if (!this.#everReady && isRefusal(this.lastError)) throw this.lastError;
    const refused = this.#everReady ? [] : [this.#refusedAtStart()];
    refused[0]?.catch(() => {}); // the race below reports it; unobserved otherwise
    if (!this.#client.isOpen) {
      // connect() stays pending while it retries; it rejects only if the client gives up.
      const attempt = this.#client.connect().then(() => undefined);
      return Promise.race([attempt, this.#waitForReady(), ...refused]);
    }
    return Promise.race([this.#waitForReady(), ...refused]);
  }

  /** Connects a cluster or Sentinel client once (they resolve `connect()` when usable). */
  #open(): Promise<void> {
    this.#opening ??= this.#client.isOpen
      ? Promise.resolve()
      : this.#client.connect().then(
          () => undefined,
          (error: unknown) => {
            this.#opening = undefined;
            // node-redis's Sentinel client stays half-open after a failed connect() (a second one
            // throws "already attempting to open"): undo this attempt so the next call retries.
            if (this.kind === "sentinel") this.#destroy();
            throw error;
          },
        );
    return this.#opening;
  }

  /**
   * Waits until the Sentinel client has a connected primary again. Meanwhile nothing is sent: a
   * command given to node-redis's Sentinel client while its primary is down waits inside the
   * client (asking the sentinels again and again) until a primary is back, whatever its timeout.
   */
  #waitForPrimary(sentinel: SentinelClientLike): Promise<void> {
    this.#primaryWait ??= new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (!this.#closed && sentinel.getMasterNode() === undefined) return;
        clearInterval(timer);
        this.#primaryWait = undefined;
        if (!this.#closed) this.lastError = undefined;
        resolve();
      }, PRIMARY_POLL_MS);
      timer.unref();
    });
    return this.#primaryWait;
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
    if (this.kind === "sentinel") {
      return sentinelCommands(client as unknown as SentinelClientLike, options);
    }
    return client.withCommandOptions(options) as RawRedis;
  }

  /**
   * For reads on a single server whose client is ready right now: its raw commands without
   * per-command options, made once and reused, so that a read costs no timer, timeout signal,
   * abort controller or command-options object of its own; the store bounds these reads with one
   * shared deadline instead. (A read needs no abort signal: one sent after its caller gave up
   * changes nothing.) `undefined` on a cluster or Sentinel client, or while the client is
   * not ready: those reads take the full path (`ready()`, `raw()`).
   */
  readyReader(): RawRedis | undefined {
    if (this.kind !== "client" || this.#closed || !this.#client.isReady) return undefined;
    // `timeout: 0`, not `{}`: node-redis merges a command's options over the client's own, so an
    // empty object would keep the client-wide timeout (an AbortSignal.timeout per read).
    this.#reader ??= this.#client.withCommandOptions({ timeout: 0 }) as RawRedis;
    return this.#reader;
  }

  /**
   * A second connection to the same server (a single server's client only), subscribed to
   * `channel`: each message goes to `onMessage`; every loss of the connection (an error, the
   * server closing it, a reconnection) to `onLost`, since messages published meanwhile are gone.
   * node-redis reconnects it and subscribes again by itself. Resolves to its closer.
   */
  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onLost: () => void,
  ): Promise<() => Promise<void>> {
    if (this.kind !== "client") throw new Error("change subscriptions need a single server");
    const source = this.#client as unknown as { duplicate(overrides?: object): ClientShape };
    const subscriber = source.duplicate({ name: `envkeep-changes:${channel}` }) as ClientShape & {
      subscribe(channel: string, listener: (message: string) => void): Promise<void>;
    };
    subscriber.on("error", onLost);
    subscriber.on("end", onLost);
    const release = async () => {
      subscriber.off("error", onLost);
      subscriber.off("end", onLost);
      subscriber.on("error", () => {});
      if (!subscriber.isOpen) return;
      try {
        await subscriber.close();
      } catch {
        Promise.resolve(subscriber.destroy()).catch(() => {});
      }
    };
    try {
      await subscriber.connect();
      await subscriber.subscribe(channel, onMessage);
    } catch (error) {
      await release();
      throw error;
    }
    return release;
  }

  /**
   * `WAIT replicas timeoutMs` on the connection that just wrote `key` (so it waits for that
   * write): the number of replicas that confirmed every write of that connection so far. On a
   * cluster it goes to the master of `key`'s slot, on a Sentinel client to its primary.
   */
  async confirmWrites(
    key: string,
    replicas: number,
    timeoutMs: number,
    options: CommandOptions,
  ): Promise<number> {
    const client = (await this.#adapter.getClient()) as unknown as ClientShape;
    const args = ["WAIT", String(replicas), String(Math.max(1, Math.floor(timeoutMs)))];
    let reply: unknown;
    if (this.kind === "cluster") {
      const cluster = client as unknown as {
        sendCommand(key: string, readonly: boolean, args: string[], o: CommandOptions): unknown;
      };
      reply = await cluster.sendCommand(key, false, args, options);
    } else if (this.kind === "sentinel") {
      reply = await (client as unknown as SentinelClientLike).sendCommand(false, args, options);
    } else {
      const single = client as unknown as { sendCommand(a: string[], o: CommandOptions): unknown };
      reply = await single.sendCommand(args, options);
    }
    return Number(reply);
  }

  /**
   * A call found no answer within its deadline. On a cluster that may be a master that accepts
   * connections but no longer answers (frozen, cut off) while a replica takes over: re-read the
   * slot map until the calls go through again.
   */
  timedOut(): void {
    this.slotRefresher?.suspect();
  }

  #destroy(): void {
    // A Sentinel client's destroy() is async; nothing waits for it.
    Promise.resolve(this.#client.destroy()).catch(() => {});
  }

  /** Disconnects the client if the store created it; leaves a caller's client alone. */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    // A re-read in flight reconnects nodes: let it end first (it is quick; bounded anyway).
    await this.slotRefresher?.close(Math.min(timeoutMs, 1000));
    this.#client.off("error", this.#onError);
    this.#client.off("ready", this.#onReady);
    if (!this.owned || !this.#client.isOpen) return;
    const client = this.#client;
    // A cluster has no isReady of its own: its nodes reconnect each by itself.
    if (!(this.kind === "cluster" || client.isReady)) {
      this.#destroy();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const outcome = await Promise.race([client.close().then(() => "closed" as const), gaveUp]);
      if (outcome === "timeout" && client.isOpen) this.#destroy();
    } catch {
      if (client.isOpen) this.#destroy();
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Real Redis servers for the tests: the shared one (`REDIS_URL` or 127.0.0.1:6379), or throw-away
 * `redis-server` processes on free loopback ports in temp dirs, which the tests start and stop.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { createClient } from "@keyv/redis";
import { afterAll } from "vitest";
import type { RedisClientLike } from "../../src/index.js";

const run = promisify(execFile);

/** A port nothing listens on right now (and, for cluster nodes, its bus port +10000 too). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    if (port > 0 && port < 55_000) return port;
  }
}

export function redisServerOnPath(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/** True when a Redis answers PING at `url` within `timeoutMs`. */
export async function reachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = createClient({
    url,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: false },
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/** One `redis-server` child process in its own temp dir, on a fixed port (so it can restart). */
export class ThrowawayRedis {
  readonly port: number;
  readonly dir: string;
  readonly #args: string[];
  readonly #sentinelConfig: string | undefined;
  #process: ChildProcess | undefined;
  #watchdog: ChildProcess | undefined;

  private constructor(port: number, args: string[], sentinelConfig?: string) {
    this.port = port;
    this.dir = mkdtempSync(join(tmpdir(), "envkeep-redis-"));
    this.#args = args;
    this.#sentinelConfig = sentinelConfig;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The URL with the server's password, if it has one. */
  get #pingUrl(): string {
    const at = this.#args.indexOf("--requirepass");
    const password = at >= 0 ? this.#args[at + 1] : undefined;
    return password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${this.port}` : this.url;
  }

  /**
   * Starts a server on `port` (a free one by default). `durable` keeps an fsync-always AOF in
   * the temp dir, so every acknowledged write survives a crash and restart.
   */
  static async start(
    options: {
      port?: number;
      durable?: boolean;
      extraArgs?: string[];
      /** Runs a sentinel (`redis-server <file> --sentinel`) with this configuration file. */
      sentinelConfig?: string;
    } = {},
  ): Promise<ThrowawayRedis> {
    const port = options.port ?? (await freePort());
    const persistence = options.sentinelConfig
      ? []
      : options.durable
        ? ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        : ["--appendonly", "no", "--save", ""];
    const server = new ThrowawayRedis(
      port,
      [...persistence, ...(options.extraArgs ?? [])],
      options.sentinelConfig,
    );
    await server.resume();
    return server;
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.running ? this.#process?.pid : undefined;
  }

  /** `redis-cli` on this server (with its password, if it has one); resolves its output. */
  async cli(...args: string[]): Promise<string> {
    const at = this.#args.indexOf("--requirepass");
    const auth = at >= 0 ? ["--no-auth-warning", "-a", this.#args[at + 1] ?? ""] : [];
    const { stdout } = await run("redis-cli", ["-p", String(this.port), ...auth, ...args], {
      timeout: 5_000,
    });
    return stdout;
  }

  /** One field of `INFO <section>`, e.g. `info("replication", "role")`. */
  async info(section: string, field: string): Promise<string | undefined> {
    const text = await this.cli("info", section);
    return new RegExp(`^${field}:(.*)$`, "m").exec(text)?.[1]?.trim();
  }

  get running(): boolean {
    const child = this.#process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** (Re)starts the process on the same port and dir; resolves when it answers PING. */
  async resume(): Promise<void> {
    if (this.running) return;
    // A sentinel rewrites its configuration file: write it once, keep it across restarts.
    const config = join(this.dir, "sentinel.conf");
    if (this.#sentinelConfig !== undefined && !existsSync(config)) {
      writeFileSync(config, this.#sentinelConfig);
    }
    const mode = this.#sentinelConfig === undefined ? [] : [config, "--sentinel"];
    const child = spawn(
      "redis-server",
      [
        ...mode,
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--daemonize",
        "no",
        "--logfile",
        "",
        "--loglevel",
        "warning",
        ...this.#args,
      ],
      { stdio: "ignore" },
    );
    this.#process = child;
    // If this test process dies without its afterAll (a crash, an OOM), take the server with it.
    this.#watchdog = spawn(
      "sh",
      [
        "-c",
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${child.pid} 2>/dev/null`,
      ],
      { detached: true, stdio: "ignore" },
    );
    this.#watchdog.unref();
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}`))),
    );
    exited.catch(() => {});
    const deadline = Date.now() + 10_000;
    while (!(await Promise.race([reachable(this.#pingUrl, 500), exited]))) {
      if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
      await sleep(50);
    }
  }

  /** Stops the process: `SIGKILL` is a crash, `SIGTERM` a clean shutdown. */
  async halt(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    this.#watchdog?.kill("SIGKILL");
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  }

  /** Freezes the process (`SIGSTOP`): connections stay open, nothing answers. */
  freeze(): void {
    this.#process?.kill("SIGSTOP");
  }

  /** Lets a frozen process run again (`SIGCONT`). */
  thaw(): void {
    this.#process?.kill("SIGCONT");
  }

  /** Stops the process for good and removes its dir. */
  async stop(): Promise<void> {
    this.thaw();
    await this.halt("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `check` every 100 ms until it returns a value other than `undefined`/`false`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  withinMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms: ${what}`);
    await sleep(100);
  }
}

/** A line of `CLUSTER NODES`. */
export interface ClusterNodeLine {
  id: string;
  port: number;
  flags: string[];
  /** The id of its master, for a replica. */
  masterId: string | undefined;
  /** Its slot ranges, for a master: `[from, to]`. */
  slots: [number, number][];
}

/**
 * A Redis Cluster of `size` masters and `replicas` replicas of each, each node a
 * {@link ThrowawayRedis} (so it can be killed, frozen and restarted on its port and dir: it keeps
 * its `nodes.conf`, so a restarted master rejoins as a replica of the one that replaced it).
 */
export class ThrowawayCluster {
  readonly nodes: ThrowawayRedis[];
  /** `cluster-node-timeout` of every node, in ms. */
  readonly nodeTimeoutMs: number;

  private constructor(nodes: ThrowawayRedis[], nodeTimeoutMs: number) {
    this.nodes = nodes;
    this.nodeTimeoutMs = nodeTimeoutMs;
  }

  get rootNodes(): { url: string }[] {
    return this.nodes.map((node) => ({ url: node.url }));
  }

  static async start(
    size = 3,
    options: { replicas?: number; nodeTimeoutMs?: number; extraArgs?: string[] } = {},
  ): Promise<ThrowawayCluster> {
    const replicas = options.replicas ?? 0;
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
    const nodes: ThrowawayRedis[] = [];
    const cluster = new ThrowawayCluster(nodes, nodeTimeoutMs);
    try {
      for (let i = 0; i < size * (1 + replicas); i += 1) {
        const port = await freePort();
        const busPort = await freePort();
        nodes.push(
          await ThrowawayRedis.start({
            port,
            extraArgs: [
              "--cluster-enabled",
              "yes",
              "--cluster-port",
              String(busPort),
              "--cluster-config-file",
              "nodes.conf",
              "--cluster-node-timeout",
              String(nodeTimeoutMs),
              ...(options.extraArgs ?? []),
            ],
          }),
        );
      }
      const at = options.extraArgs?.indexOf("--requirepass") ?? -1;
      const auth = at >= 0 ? ["--no-auth-warning", "-a", options.extraArgs?.[at + 1] ?? ""] : [];
      await run("redis-cli", [
        ...auth,
        "--cluster",
        "create",
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ]);
      for (const node of nodes) {
        await waitFor(`cluster_state:ok on ${node.port}`, async () =>
          (await node.cli("cluster", "info")).includes("cluster_state:ok"),
        );
      }
      await cluster.waitForReplicaLinks();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /**
   * Waits until every running replica has synced with its master (`master_link_status:up`): a
   * replica that never synced cannot take over.
   */
  async waitForReplicaLinks(withinMs = 20_000): Promise<void> {
    for (const node of this.nodes.filter((n) => n.running)) {
      await waitFor(
        `replica ${node.port} in sync`,
        async () =>
          (await node.info("replication", "role")) === "master" ||
          (await node.info("replication", "master_link_status")) === "up",
        withinMs,
      );
    }
  }

  /** `CLUSTER NODES` as a running node sees it. */
  async topology(): Promise<ClusterNodeLine[]> {
    const node = this.nodes.find((n) => n.running);
    if (!node) throw new Error("no node of the cluster runs");
    return (await node.cli("cluster", "nodes"))
      .split("\n")
      .filter((line) => line.trim())
      .map((line) => {
        const [id = "", address = "", flags = "", master = "-", , , , , ...slots] = line
          .trim()
          .split(" ");
        return {
          id,
          port: Number(address.split("@")[0]?.split(":")[1]),
          flags: flags.split(","),
          masterId: master === "-" ? undefined : master,
          slots: slots
            .filter((range) => !range.startsWith("["))
            .map((range) => {
              const [from, to = from] = range.split("-").map(Number);
              return [from ?? 0, to ?? 0] as [number, number];
            }),
        };
      });
  }

  /** The node on `port`. */
  node(port: number): ThrowawayRedis {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no node on ${port}`);
    return node;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}

/**
 * A primary, one replica and three sentinels (quorum 2) watching them under the name
 * {@link ThrowawaySentinels.masterName}, each a {@link ThrowawayRedis} on its own loopback port.
 * With a `password`, the primary and replica require it (and use it towards each other); the
 * sentinels themselves take none.
 */
export class ThrowawaySentinels {
  readonly masterName = "envkeep-primary";
  readonly primary: ThrowawayRedis;
  readonly replica: ThrowawayRedis;
  readonly sentinels: ThrowawayRedis[];
  readonly downAfterMs: number;

  private constructor(
    primary: ThrowawayRedis,
    replica: ThrowawayRedis,
    sentinels: ThrowawayRedis[],
    downAfterMs: number,
  ) {
    this.primary = primary;
    this.replica = replica;
    this.sentinels = sentinels;
    this.downAfterMs = downAfterMs;
  }

  static async start(
    options: { password?: string; downAfterMs?: number; failoverTimeoutMs?: number } = {},
  ): Promise<ThrowawaySentinels> {
    const downAfterMs = options.downAfterMs ?? 1000;
    const auth = options.password
      ? ["--requirepass", options.password, "--masterauth", options.password]
      : [];
    const started: ThrowawayRedis[] = [];
    try {
      const primary = await ThrowawayRedis.start({ extraArgs: auth });
      started.push(primary);
      const replica = await ThrowawayRedis.start({
        extraArgs: [...auth, "--replicaof", "127.0.0.1", String(primary.port)],
      });
      started.push(replica);
      await waitFor(
        "the replica in sync",
        async () => (await replica.info("replication", "master_link_status")) === "up",
      );
      const name = "envkeep-primary";
      const config = [
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 2000}`,
        `sentinel parallel-syncs ${name} 1`,
        ...(options.password ? [`sentinel auth-pass ${name} ${options.password}`] : []),
        "",
      ].join("\n");
      const sentinels: ThrowawayRedis[] = [];
      for (let i = 0; i < 3; i += 1) {
        const sentinel = await ThrowawayRedis.start({ sentinelConfig: config });
        started.push(sentinel);
        sentinels.push(sentinel);
      }
      const group = new ThrowawaySentinels(primary, replica, sentinels, downAfterMs);
      // Every sentinel knows the others and the replica before anything fails.
      for (const sentinel of sentinels) {
        await waitFor("the sentinels to see each other and the replica", async () => {
          const text = await sentinel.cli("sentinel", "master", name);
          const field = (key: string) =>
            Number(new RegExp(`^${key}\\n(\\d+)$`, "m").exec(text)?.[1]);
          return field("num-other-sentinels") === 2 && field("num-slaves") === 1;
        });
      }
      return group;
    } catch (error) {
      await Promise.all(started.map((server) => server.stop()));
      throw error;
    }
  }

  /** The sentinels' addresses, as `createSentinel({ sentinelRootNodes })` takes them. */
  get rootNodes(): { host: string; port: number }[] {
    return this.sentinels.map((sentinel) => ({ host: "127.0.0.1", port: sentinel.port }));
  }

  /** The port of the primary the sentinels name now. */
  async primaryPort(): Promise<number> {
    const sentinel = this.sentinels.find((s) => s.running) ?? this.sentinels[0]!;
    const reply = await sentinel.cli("sentinel", "get-master-addr-by-name", this.masterName);
    return Number(reply.trim().split("\n")[1]);
  }

  /** The server on `port` (the primary or the replica). */
  server(port: number): ThrowawayRedis {
    if (port === this.primary.port) return this.primary;
    if (port === this.replica.port) return this.replica;
    throw new Error(`no data node on ${port}`);
  }

  async stop(): Promise<void> {
    await Promise.all([this.primary, this.replica, ...this.sentinels].map((s) => s.stop()));
  }
}

/** The admin commands the tests use, on a client or a cluster alike. */
export interface AdminRedis {
  readonly isOpen: boolean;
  type(key: string): Promise<string>;
  get(key: string): Promise<string | null>;
  hGetAll(key: string): Promise<Record<string, string>>;
  zRange(key: string, start: number, stop: number): Promise<string[]>;
  sMembers(key: string): Promise<string[]>;
  unlink(key: string): Promise<number>;
  exists(key: string): Promise<number>;
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
}

interface ClusterAdmin {
  masters: unknown[];
  nodeClient(master: unknown): Promise<AdminRedis>;
}

/** A client or cluster, typed as the few commands the tests send. */
export function admin(client: RedisClientLike): AdminRedis {
  return client as unknown as AdminRedis;
}

/** The clients that hold keys: the client itself, or every master of a cluster. */
async function nodeClients(client: RedisClientLike): Promise<AdminRedis[]> {
  if ("masters" in client) {
    const cluster = client as unknown as ClusterAdmin;
    return Promise.all(cluster.masters.map((master) => cluster.nodeClient(master)));
  }
  return [admin(client)];
}

/** The keys matching a `SCAN` pattern, on a server or every master of a cluster. */
export async function keysOf(client: RedisClientLike, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of await nodeClients(client)) {
    for await (const batch of node.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
      keys.push(...batch);
    }
  }
  return keys.sort();
}

/** Everything Redis holds under `prefix`, as text (for the suite's leak checks). */
export async function dumpPrefix(client: RedisClientLike, prefix: string): Promise<string> {
  const redis = admin(client);
  const lines: string[] = [];
  for (const key of await keysOf(client, `${prefix}:*`)) {
    const type = await redis.type(key);
    let value: unknown;
    if (type === "string") value = await redis.get(key);
    else if (type === "hash") value = await redis.hGetAll(key);
    else if (type === "zset") value = await redis.zRange(key, 0, -1);
    else if (type === "set") value = await redis.sMembers(key);
    lines.push(`${key} ${type} ${JSON.stringify(value)}`);
  }
  return lines.join("\n");
}

/** Removes every key that starts with `prefix` (a test run's own keys). */
export async function dropPrefix(client: RedisClientLike, prefix: string): Promise<number> {
  const keys = await keysOf(client, `${prefix}*`);
  for (const key of keys) await admin(client).unlink(key);
  return keys.length;
}

/**
 * The Redis the tests use: `REDIS_URL`, else 127.0.0.1:6379, else a throw-away server when
 * `redis-server` is on the PATH. Resolves `{ skip }` when none is available, and throws instead
 * when `CI` is set (skipping is a failure there).
 */
export async function testRedis(): Promise<
  { url: string; stop: () => Promise<void>; skip?: undefined } | { skip: string }
> {
  const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  if (await reachable(url, 2000)) return { url, stop: async () => {} };
  if (redisServerOnPath()) {
    const server = await ThrowawayRedis.start();
    return { url: server.url, stop: () => server.stop() };
  }
  const skip =
    `no Redis at ${url} and no redis-server on the PATH: start Redis ` +
    "(e.g. `redis-server --port 6379 --save ''`) or set REDIS_URL=redis://host:port to run these tests";
  if (process.env.CI) throw new Error(`CI is set, so not skipping: ${skip}`);
  return { skip };
}

/** A unique key prefix for one test run. */
export function runPrefix(label: string): string {
  return `envkeep-test-${label}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

const adminClient = (url: string) => createClient({ url });

/**
 * For one test file: an admin client on the test Redis and a prefix of its own. After the file,
 * everything under the prefix is dropped, the client closed and a throw-away server stopped.
 */
export async function useTestPrefix(
  redis: { url: string; stop: () => Promise<void> },
  label: string,
): Promise<{ admin: ReturnType<typeof adminClient>; prefix: string }> {
  const prefix = runPrefix(label);
  const admin = adminClient(redis.url);
  await admin.connect();
  afterAll(async () => {
    await dropPrefix(admin, prefix);
    admin.destroy();
    await redis.stop();
  });
  return { admin, prefix };
}

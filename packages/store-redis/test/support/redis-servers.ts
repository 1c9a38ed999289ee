/**
 * Real Redis servers for the tests: the shared one (`REDIS_URL` or 127.0.0.1:6379), or throw-away
 * `redis-server` processes on free loopback ports in temp dirs, which the tests start and stop.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
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
  #process: ChildProcess | undefined;
  #watchdog: ChildProcess | undefined;

  private constructor(port: number, args: string[]) {
    this.port = port;
    this.dir = mkdtempSync(join(tmpdir(), "envkeep-redis-"));
    this.#args = args;
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
    options: { port?: number; durable?: boolean; extraArgs?: string[] } = {},
  ): Promise<ThrowawayRedis> {
    const port = options.port ?? (await freePort());
    const persistence = options.durable
      ? ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
      : ["--appendonly", "no", "--save", ""];
    const server = new ThrowawayRedis(port, [...persistence, ...(options.extraArgs ?? [])]);
    await server.resume();
    return server;
  }

  get running(): boolean {
    const child = this.#process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** (Re)starts the process on the same port and dir; resolves when it answers PING. */
  async resume(): Promise<void> {
    if (this.running) return;
    const child = spawn(
      "redis-server",
      [
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

/** A Redis Cluster of `size` masters (no replicas), each a {@link ThrowawayRedis}. */
export class ThrowawayCluster {
  readonly nodes: ThrowawayRedis[];

  private constructor(nodes: ThrowawayRedis[]) {
    this.nodes = nodes;
  }

  get rootNodes(): { url: string }[] {
    return this.nodes.map((node) => ({ url: node.url }));
  }

  static async start(size = 3): Promise<ThrowawayCluster> {
    const nodes: ThrowawayRedis[] = [];
    const cluster = new ThrowawayCluster(nodes);
    try {
      for (let i = 0; i < size; i += 1) {
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
              "2000",
            ],
          }),
        );
      }
      await run("redis-cli", [
        "--cluster",
        "create",
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ]);
      const deadline = Date.now() + 20_000;
      for (const node of nodes) {
        for (;;) {
          const { stdout } = await run("redis-cli", ["-p", String(node.port), "cluster", "info"]);
          if (stdout.includes("cluster_state:ok")) break;
          if (Date.now() > deadline) throw new Error("the cluster did not become ok");
          await sleep(100);
        }
      }
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
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

async function keysOf(client: RedisClientLike, pattern: string): Promise<string[]> {
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

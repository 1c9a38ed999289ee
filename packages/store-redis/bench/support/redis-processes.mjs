// Throw-away Redis processes for the failover benchmark: cluster nodes, a primary with a replica,
// sentinels — each on a free loopback port in its own temp dir, killed when the benchmark ends
// (and by a watchdog if the benchmark process dies). Not a benchmark itself: bench.mjs files are
// the .mjs files directly in bench/.
import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

export function redisToolsOnPath() {
  return ["redis-server", "redis-cli"].every(
    (tool) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0,
  );
}

export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address();
        server.close(() => resolve(port));
      });
    });
    if (port < 55_000) return port;
  }
}

/** Polls `check` every 50 ms until it returns something truthy. */
export async function waitFor(what, check, withinMs = 30_000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

/** One redis-server process (or sentinel, with `sentinelConfig`). */
export class RedisProcess {
  constructor(port, args, sentinelConfig) {
    this.port = port;
    this.args = args;
    this.dir = mkdtempSync(join(tmpdir(), "envkeep-bench-redis-"));
    this.sentinelConfig = sentinelConfig;
  }

  static async start(args = [], sentinelConfig) {
    const server = new RedisProcess(await freePort(), args, sentinelConfig);
    await server.resume();
    return server;
  }

  async resume() {
    const mode = [];
    if (this.sentinelConfig) {
      const file = join(this.dir, "sentinel.conf");
      writeFileSync(file, this.sentinelConfig);
      mode.push(file, "--sentinel");
    } else {
      mode.push("--save", "", "--appendonly", "no");
    }
    this.child = spawn(
      "redis-server",
      [
        ...mode,
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--logfile",
        "",
        "--loglevel",
        "warning",
        ...this.args,
      ],
      { stdio: "ignore" },
    );
    spawn(
      "sh",
      [
        "-c",
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${this.child.pid} 2>/dev/null`,
      ],
      { detached: true, stdio: "ignore" },
    ).unref();
    await waitFor(`redis on ${this.port}`, async () => (await this.cli("ping")).includes("PONG"));
  }

  async cli(...args) {
    const { stdout } = await run("redis-cli", ["-p", String(this.port), ...args], {
      timeout: 5000,
    });
    return stdout;
  }

  async info(section, field) {
    return new RegExp(`^${field}:(.*)$`, "m").exec(await this.cli("info", section))?.[1]?.trim();
  }

  kill() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGKILL");
      return exited;
    }
    return Promise.resolve();
  }

  async stop() {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** 3 masters + 3 replicas, every replica in sync. */
export async function startCluster(nodeTimeoutMs) {
  const nodes = [];
  try {
    for (let i = 0; i < 6; i += 1) {
      const bus = await freePort();
      nodes.push(
        await RedisProcess.start([
          "--cluster-enabled",
          "yes",
          "--cluster-port",
          String(bus),
          "--cluster-config-file",
          "nodes.conf",
          "--cluster-node-timeout",
          String(nodeTimeoutMs),
        ]),
      );
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes",
    ]);
    for (const node of nodes) {
      await waitFor("cluster_state:ok", async () =>
        (await node.cli("cluster", "info")).includes("cluster_state:ok"),
      );
      await waitFor(
        "replicas in sync",
        async () =>
          (await node.info("replication", "role")) === "master" ||
          (await node.info("replication", "master_link_status")) === "up",
      );
    }
    return nodes;
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
}

/** A primary, its replica (in sync) and three sentinels that know each other. */
export async function startSentinels(name, downAfterMs) {
  const all = [];
  try {
    const primary = await RedisProcess.start();
    all.push(primary);
    const replica = await RedisProcess.start(["--replicaof", "127.0.0.1", String(primary.port)]);
    all.push(replica);
    await waitFor(
      "replica in sync",
      async () => (await replica.info("replication", "master_link_status")) === "up",
    );
    const config = [
      `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} ${Math.max(2000, downAfterMs * 2)}`,
      "",
    ].join("\n");
    const sentinels = [];
    for (let i = 0; i < 3; i += 1) {
      const sentinel = await RedisProcess.start([], config);
      all.push(sentinel);
      sentinels.push(sentinel);
    }
    for (const sentinel of sentinels) {
      await waitFor("sentinels know each other", async () => {
        const text = await sentinel.cli("sentinel", "master", name);
        return /^num-other-sentinels\n2$/m.test(text) && /^num-slaves\n1$/m.test(text);
      });
    }
    return { primary, replica, sentinels, all };
  } catch (error) {
    await Promise.all(all.map((server) => server.stop()));
    throw error;
  }
}

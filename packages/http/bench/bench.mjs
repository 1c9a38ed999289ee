// Throughput and latency of the HTTP API next to a bare Hono "hello" route, in one run, with
// autocannon: GET /v1/secrets/{name} and GET /v1/secrets?max_objects=10 on SQLite and on Redis.
// The servers run in a child process (@hono/node-server, as `envkeep serve` runs them; no access
// log), autocannon in this one: each gets a core of its own on a 2-core machine. Rounds are
// interleaved and each figure is the median of its rounds. Goal: the metadata GET keeps >= 50 %
// of the bare route's requests/s.
// Runs the BUILT packages: `pnpm bench` at the root builds everything first.
// Redis: REDIS_URL, else 127.0.0.1:6379, else a throw-away `redis-server` on a free port.
import { fork, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import { machineLine, median, tenKeys } from "../../../scripts/bench-kit.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONNECTIONS = 10;

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The child: three servers (bare, SQLite, Redis) on free ports; reports them, then waits. */
async function serveAll({ redisUrl, dir }) {
  const { serve } = await import("@hono/node-server");
  const { Hono } = await import("hono");
  const { generateMasterKey, SecretManager } = await import("@envkeep/core");
  const { createApi } = await import("@envkeep/http");
  const { sqliteStore } = await import("@envkeep/store-sqlite");
  const { redisStore } = await import("@envkeep/store-redis");

  const listen = (fetch) =>
    new Promise((resolve) => {
      const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve(info.port));
      servers.push(server);
    });
  const servers = [];
  const bare = new Hono();
  bare.get("/hello", (c) => c.text("hello"));

  const prefix = `envkeep-http-bench-${process.pid}`;
  const managers = {
    sqlite: new SecretManager({
      store: sqliteStore({ path: path.join(dir, "secrets.db") }),
      masterKey: generateMasterKey(),
      workspace: "bench",
    }),
    redis: new SecretManager({
      store: redisStore({ url: redisUrl, prefix }),
      masterKey: generateMasterKey(),
      workspace: "bench",
    }),
  };
  const ports = { bare: await listen(bare.fetch) };
  const tokens = {};
  for (const [name, manager] of Object.entries(managers)) {
    await manager.create("ten-keys", tenKeys);
    for (let i = 0; i < 100; i++) await manager.create(`secret-${i}`, { KEY: `value-${i}` });
    tokens[name] = (await manager.tokens.create({ name: "bench", scope: "read" })).token;
    ports[name] = await listen(createApi({ manager }).fetch);
    // The ceiling: the same store read (no envkeep: no token, no checks, no crypto) over Hono.
    const raw = new Hono();
    raw.get("/raw/:name", async (c) =>
      c.json(
        await manager.store.get({
          workspace: "bench",
          environment: "main",
          name: c.req.param("name"),
        }),
      ),
    );
    ports[`${name}-raw`] = await listen(raw.fetch);
  }
  process.send?.({ ports, tokens });
  process.on("message", async (message) => {
    if (message !== "stop") return;
    for (const server of servers) server.close();
    // Leave nothing behind in a shared Redis.
    for (let i = 0; i < 100; i++) await managers.redis.delete(`secret-${i}`).catch(() => {});
    await managers.redis.delete("ten-keys").catch(() => {});
    for (const { id } of await managers.redis.tokens.list()) {
      await managers.redis.tokens.revoke(id).catch(() => {});
    }
    for (const manager of Object.values(managers)) await manager.close();
    process.exit(0);
  });
}

/** True when something accepts TCP connections at `url`'s host and port. */
function listening(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const probe = createConnection({ host: hostname, port: Number(port || 6379) });
    probe.setTimeout(1000, () => probe.destroy());
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("close", () => resolve(false));
  });
}

/** The Redis to measure on, and how to stop it if this script started it. */
async function benchRedis() {
  const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  if (await listening(url)) return { url, stop: () => {} };
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const local = `redis://127.0.0.1:${port}`;
  while (!(await listening(local))) await sleep(50);
  return { url: local, stop: () => child.kill("SIGTERM") };
}

function load(url, token) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: SECONDS,
        headers: { authorization: `Bearer ${token}` },
      },
      (error, result) => {
        if (error) return reject(error);
        if (result.non2xx > 0 || result.errors > 0) {
          return reject(new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`));
        }
        resolve(result);
      },
    );
  });
}

async function main() {
  const redis = await benchRedis();
  const dir = mkdtempSync(path.join(tmpdir(), "envkeep-http-bench-"));
  const child = fork(import.meta.filename, ["--serve"], {
    env: { ...process.env, BENCH_REDIS_URL: redis.url, BENCH_DIR: dir },
  });
  try {
    const { ports, tokens } = await new Promise((resolve, reject) => {
      child.once("message", resolve);
      child.once("exit", (code) => reject(new Error(`the server process exited with ${code}`)));
    });
    const base = (name) => `http://127.0.0.1:${ports[name]}`;
    const targets = [
      ["bare Hono GET /hello", `${base("bare")}/hello`, tokens.sqlite],
      ["SQLite raw store.get over Hono", `${base("sqlite-raw")}/raw/ten-keys`, tokens.sqlite],
      ["SQLite GET /v1/secrets/{name}", `${base("sqlite")}/v1/secrets/ten-keys`, tokens.sqlite],
      [
        "SQLite GET /v1/secrets?max_objects=10",
        `${base("sqlite")}/v1/secrets?max_objects=10`,
        tokens.sqlite,
      ],
      ["Redis  raw store.get over Hono", `${base("redis-raw")}/raw/ten-keys`, tokens.redis],
      ["Redis  GET /v1/secrets/{name}", `${base("redis")}/v1/secrets/ten-keys`, tokens.redis],
      [
        "Redis  GET /v1/secrets?max_objects=10",
        `${base("redis")}/v1/secrets?max_objects=10`,
        tokens.redis,
      ],
    ];
    console.log(machineLine());
    console.log(
      `autocannon: ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} interleaved rounds; medians of the rounds`,
    );
    for (const [, url, token] of targets) await load(url, token); // warm-up
    const samples = targets.map(() => ({ rps: [], mean: [], p50: [], p99: [] }));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, [, url, token]] of targets.entries()) {
        const result = await load(url, token);
        samples[i].rps.push(result.requests.average);
        samples[i].mean.push(result.latency.average);
        samples[i].p50.push(result.latency.p50);
        samples[i].p99.push(result.latency.p99);
      }
    }
    const bareRps = median(samples[0].rps);
    const column = (text) => String(text).padStart(10);
    console.log(
      `${"route".padEnd(40)}${column("req/s")}${column("mean")}${column("p50")}${column("p99")}   vs bare`,
    );
    const ratios = {};
    for (const [i, [label]] of targets.entries()) {
      const rps = median(samples[i].rps);
      ratios[label] = rps / bareRps;
      const ms = (values) => `${median(values).toFixed(2)} ms`;
      console.log(
        `${label.padEnd(40)}${column(rps.toFixed(0))}${column(ms(samples[i].mean))}${column(`${median(samples[i].p50)} ms`)}${column(`${median(samples[i].p99)} ms`)}   ${(100 * ratios[label]).toFixed(0).padStart(4)} %`,
      );
    }
    for (const store of ["SQLite", "Redis "]) {
      const ratio = ratios[`${store} GET /v1/secrets/{name}`];
      const ofRaw = ratio / ratios[`${store} raw store.get over Hono`];
      console.log(
        `goal: ${store.trim()} metadata GET >= 50 % of bare: ${(100 * ratio).toFixed(0)} % ${ratio >= 0.5 ? "(met)" : "(NOT met)"}; ${(100 * ofRaw).toFixed(0)} % of a raw store read over the same server`,
      );
    }
  } finally {
    child.send("stop");
    await new Promise((resolve) => child.once("exit", resolve));
    rmSync(dir, { recursive: true, force: true });
    redis.stop();
  }
}

if (process.argv.includes("--serve")) {
  await serveAll({ redisUrl: process.env.BENCH_REDIS_URL, dir: process.env.BENCH_DIR });
} else {
  await main();
}

// Benchmark of @envkeep/store-redis: envkeep's per-operation cost next to raw keyv (@keyv/redis) on
// the same server, and list({ maxObjects: 10 }) with 1,000 vs 100,000 secrets in the environment.
// Runs the BUILT packages: `pnpm --filter @envkeep/core build && pnpm --filter @envkeep/store-redis build`
// (or `pnpm bench` at the root, which builds everything first).
// Redis: REDIS_URL, else 127.0.0.1:6379, else a throw-away `redis-server` on a free port.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { generateMasterKey, SecretManager } from "@envkeep/core";
import { createClient, createKeyv } from "@keyv/redis";
import {
  compareHistory,
  compareListing,
  compareWithRaw,
  fillSealed,
  machineLine,
  ROUNDS,
  tenKeys,
} from "../../../scripts/bench-kit.mjs";
import { redisStore } from "../dist/index.js";

async function reachable(url) {
  const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
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

/** The Redis to measure on, and how to stop it if this script started it. */
async function benchRedis() {
  const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  if (await reachable(url)) return { url, stop: () => {} };
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const failed = await new Promise((resolve) => {
    child.once("error", () => resolve(true));
    setTimeout(() => resolve(false), 300);
  });
  const own = `redis://127.0.0.1:${port}`;
  if (failed || !(await reachable(own))) {
    child.kill("SIGKILL");
    return undefined;
  }
  return { url: own, stop: () => child.kill("SIGKILL") };
}

const redis = await benchRedis();
if (!redis) {
  console.log(
    "skipped: no Redis at REDIS_URL / 127.0.0.1:6379 and no redis-server on the PATH (set REDIS_URL to run it)",
  );
  process.exit(0);
}

const prefix = `envkeep-bench-${process.pid}`;

console.log(machineLine());
console.log(
  "caveat: timings depend on machine load and on the network round trip to Redis (here loopback); compare ratios from one run, not absolute figures across machines.",
);
console.log(`medians over ${ROUNDS} rounds; Redis at ${redis.url.replace(/\/\/[^@]*@/, "//")}\n`);

const store = redisStore({ url: redis.url, prefix });
const benchKey = generateMasterKey();
const managerOptions = {
  store,
  masterKey: benchKey,
  workspace: "bench",
  environment: "ops",
};
const secrets = new SecretManager(managerOptions);
// The same store with the opt-in cache: what a repeated read of an unchanged secret costs.
const cached = new SecretManager({ ...managerOptions, cache: { ttlMs: 60_000 } });
const raw = createKeyv(redis.url, { namespace: `${prefix}-raw`, throwOnErrors: true });
const admin = createClient({ url: redis.url });
await admin.connect();

try {
  // ---- per-operation cost ---------------------------------------------------------------------
  await secrets.create("ten-keys", tenKeys);
  const size = await admin.strLen(`${prefix}:{bench/ops}:r:ten-keys`);
  // A raw value of the same stored size (keyv stores {"value": …} like the store's record keys).
  const rawValue = "v".repeat(size - '{"value":""}'.length);
  await raw.set("ten-keys", rawValue);
  await compareWithRaw({ secrets, cached, raw, rawValue, size, createOps: 300, label: "redis" });
  await compareHistory({
    SecretManager,
    store: secrets.store,
    masterKey: benchKey,
    updateOps: 300,
  });

  // ---- list at scale --------------------------------------------------------------------------
  // Real sealed records, each sealed for its own name (a listing shows only records that
  // authenticate), written through the store's own create script, 1,000 in flight at a time.
  async function fill(environment, count) {
    await fillSealed({
      SecretManager,
      masterKey: benchKey,
      environment,
      count,
      batch: 1_000,
      write: (records) => Promise.all(records.map((record) => store.create(record))),
    });
  }
  const fillStart = performance.now();
  await fill("small", 1_000);
  await fill("large", 100_000);
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const memory = (await admin.info("memory")).match(/used_memory_human:(\S+)/)?.[1] ?? "?";
  console.log(
    `\nlist({ maxObjects: 10 }) — filled 101,000 records in ${fillSeconds.toFixed(1)} s (create script, 1,000 in flight); Redis used_memory ${memory}`,
  );
  await compareListing({ secrets, countOps: 100, countNote: "ZCARD, constant time" });
} finally {
  // Remove everything this run wrote.
  let removed = 0;
  for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length > 0) removed += await admin.unlink(keys);
  }
  console.log(`\ncleaned up ${removed} keys`);
  admin.destroy();
  await raw.disconnect();
  await secrets.close();
  redis.stop();
}

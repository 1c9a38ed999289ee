// Failover benchmark of @envkeep/store-redis: how long after a Redis primary dies does the store
// write again, beside the Redis timeout that decides when Redis itself fails over.
//
// - Redis Cluster: 3 masters + 3 replicas; a store from a redis+cluster:// URL writes from 4 loops
//   over 40 environments (hash tags over many slots); the master holding the most keys is killed
//   (SIGKILL). Measured: kill → first successful write, started after the kill, to that master's
//   slots. Beside it, once: a bare node-redis cluster client doing the same.
// - Redis Sentinel: a primary, its replica, three sentinels; a store from a redis+sentinel:// URL
//   writes from 4 loops; the primary is killed. Measured: kill → first successful write started
//   after the kill, and kill → the sentinels naming the new primary.
//
// Each run starts fresh throw-away servers on loopback ports (redis-server and redis-cli needed)
// and stops them. Runs the BUILT packages (`pnpm bench` at the root builds first).
import { generateMasterKey, SecretManager } from "@envkeep/core";
import { createClient, createCluster } from "@keyv/redis";
import { machineLine } from "../../../scripts/bench-kit.mjs";
import { redisStore } from "../dist/index.js";
import {
  redisToolsOnPath,
  startCluster,
  startSentinels,
  waitFor,
} from "./support/redis-processes.mjs";

const RUNS = 3;
const CLUSTER_TIMEOUTS_MS = [1000, 5000];
const SENTINEL_TIMEOUTS_MS = [1000, 5000];
const ENVIRONMENTS = Array.from({ length: 40 }, (_, i) => `e${i}`);
/** A run that has not recovered within this after the kill counts as stuck. */
const GIVE_UP_MS = 60_000;

if (!redisToolsOnPath()) {
  console.log("skipped: redis-server and redis-cli are not on the PATH (install Redis to run it)");
  process.exit(0);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Writes from 4 loops until stopped; keeps when each acknowledged write started and ended. */
function writeLoad(secrets) {
  const acknowledged = [];
  let stopped = false;
  const loop = async (writer) => {
    for (let i = 0; !stopped; i += 1) {
      const environment = ENVIRONMENTS[(writer + i * 4) % ENVIRONMENTS.length];
      const startedAt = Date.now();
      try {
        await secrets.create(`w${writer}-${i}`, { V: String(i) }, { environment });
        acknowledged.push({ environment, startedAt, at: Date.now() });
        await new Promise((resolve) => setImmediate(resolve));
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const loops = [0, 1, 2, 3].map(loop);
  return {
    acknowledged,
    firstAfter: (since, environments) =>
      acknowledged.find((w) => w.startedAt > since && environments.has(w.environment)),
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

const until = (check, withinMs) =>
  waitFor("recovery", async () => check(), withinMs).catch(() => undefined);

async function clusterRun(nodeTimeoutMs, withBareClient) {
  const nodes = await startCluster(nodeTimeoutMs);
  const store = redisStore({
    url: `redis+cluster://127.0.0.1:${nodes[0].port},127.0.0.1:${nodes[1].port}`,
    prefix: "envkeep-bench-failover",
    timeoutMs: 500,
  });
  const bare = withBareClient
    ? createCluster({
        rootNodes: [{ url: `redis://127.0.0.1:${nodes[0].port}` }],
        commandOptions: { timeout: 500 },
      })
    : undefined;
  bare?.on("error", () => {});
  await bare?.connect();
  const secrets = new SecretManager({
    store,
    masterKey: generateMasterKey(),
    workspace: "bench",
    environment: "dev",
  });
  const load = writeLoad(secrets);
  try {
    await until(() => load.acknowledged.length >= 400, 30_000);
    // The master holding the most keys, and the environments (and a bare key) it serves.
    const masters = [];
    for (const node of nodes) {
      if ((await node.info("replication", "role")) !== "master") continue;
      masters.push({ node, keys: Number((await node.cli("dbsize")).trim()) });
    }
    masters.sort((a, b) => b.keys - a.keys);
    const victim = masters[0].node;
    const admin = createClient({ url: `redis://127.0.0.1:${victim.port}` });
    await admin.connect();
    const ranges = (await admin.clusterSlots()).filter(
      (shard) => shard.master.port === victim.port,
    );
    const serves = (slot) => ranges.some((range) => slot >= range.from && slot <= range.to);
    const dead = new Set();
    for (const environment of ENVIRONMENTS) {
      if (serves(await admin.clusterKeySlot(`{bench/${environment}}`))) dead.add(environment);
    }
    let bareKey;
    for (let i = 0; !bareKey; i += 1) {
      if (serves(await admin.clusterKeySlot(`bare-${i}`))) bareKey = `bare-${i}`;
    }
    admin.destroy();

    let killedAt = Number.POSITIVE_INFINITY;
    let bareRecoveredAt;
    let bareStopped = false;
    const bareLoop = (async () => {
      while (bare && !bareStopped && bareRecoveredAt === undefined) {
        const startedAt = Date.now();
        try {
          await bare.set(bareKey, "1");
          if (startedAt > killedAt) bareRecoveredAt = Date.now();
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })();
    killedAt = Date.now();
    await victim.kill();
    const first = await until(() => load.firstAfter(killedAt, dead), GIVE_UP_MS);
    let bareMs;
    if (bare) {
      // Give the bare client as long again as the store took, and 10 s more.
      const storeMs = (first?.at ?? Date.now()) - killedAt;
      await until(() => bareRecoveredAt, storeMs + 10_000);
      bareStopped = true;
      await bareLoop;
      bareMs =
        bareRecoveredAt === undefined ? `> ${Date.now() - killedAt}` : bareRecoveredAt - killedAt;
    }
    return { ms: first ? first.at - killedAt : Number.POSITIVE_INFINITY, bareMs };
  } finally {
    await load.stop();
    await secrets.close();
    bare?.destroy();
    await Promise.all(nodes.map((node) => node.stop()));
  }
}

async function sentinelRun(downAfterMs) {
  const name = "envkeep-bench";
  const group = await startSentinels(name, downAfterMs);
  const store = redisStore({
    url: `redis+sentinel://${group.sentinels.map((s) => `127.0.0.1:${s.port}`).join(",")}/${name}`,
    prefix: "envkeep-bench-failover",
    timeoutMs: 500,
  });
  const secrets = new SecretManager({
    store,
    masterKey: generateMasterKey(),
    workspace: "bench",
    environment: "dev",
  });
  const load = writeLoad(secrets);
  try {
    await until(() => load.acknowledged.length >= 300, 30_000);
    const killedAt = Date.now();
    await group.primary.kill();
    let promotedAt;
    const watch = (async () => {
      while (promotedAt === undefined && Date.now() - killedAt < GIVE_UP_MS) {
        const reply = await group.sentinels[0].cli("sentinel", "get-master-addr-by-name", name);
        if (Number(reply.trim().split("\n")[1]) === group.replica.port) promotedAt = Date.now();
        else await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const first = await until(() => load.firstAfter(killedAt, new Set(ENVIRONMENTS)), GIVE_UP_MS);
    await watch;
    return {
      ms: first ? first.at - killedAt : Number.POSITIVE_INFINITY,
      promotedMs: (promotedAt ?? Number.POSITIVE_INFINITY) - killedAt,
    };
  } finally {
    await load.stop();
    await secrets.close();
    await Promise.all(group.all.map((server) => server.stop()));
  }
}

console.log(machineLine());
console.log(
  `failover: kill (SIGKILL) → first successful write started after the kill, median of ${RUNS} runs; each run on fresh throw-away servers on loopback; store timeoutMs 500, slotRefreshMs 1000 (default)\n`,
);
console.log("| setup | Redis timeout | runs (ms) | median |");
console.log("|---|---|---|---|");
let bareLine;
for (const timeout of CLUSTER_TIMEOUTS_MS) {
  const runs = [];
  for (let i = 0; i < RUNS; i += 1) {
    const result = await clusterRun(timeout, i === 0 && timeout === CLUSTER_TIMEOUTS_MS[0]);
    runs.push(result.ms);
    if (result.bareMs !== undefined) {
      bareLine = `node-redis cluster client alone, same kill (cluster-node-timeout ${timeout} ms): ${result.bareMs} ms to its first write to the dead master's slots`;
    }
  }
  console.log(
    `| Redis Cluster 3+3, busiest master killed | \`cluster-node-timeout\` ${timeout} ms | ${runs.join(", ")} | ${median(runs)} ms |`,
  );
}
for (const timeout of SENTINEL_TIMEOUTS_MS) {
  const runs = [];
  const promoted = [];
  for (let i = 0; i < RUNS; i += 1) {
    const result = await sentinelRun(timeout);
    runs.push(result.ms);
    promoted.push(result.promotedMs);
  }
  console.log(
    `| Sentinel (primary + replica + 3 sentinels), primary killed | \`down-after-milliseconds\` ${timeout} ms | ${runs.join(", ")} (sentinels named the new primary after ${promoted.join(", ")}) | ${median(runs)} ms |`,
  );
}
if (bareLine) console.log(`\n${bareLine}`);

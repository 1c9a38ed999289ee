import { generateMasterKey, SecretManager } from "@envkeep/core";
import { runStoreSuite } from "@envkeep/store-test-suite";
import { createCluster } from "@keyv/redis";
import { afterAll, describe, expect, it } from "vitest";
import { type RedisStore, redisStore } from "../src/index.js";
import { rediscoverSlots } from "../src/node-redis-cluster.js";
import { redisRawBackend } from "./support/raw-backend.js";
import {
  dropPrefix,
  dumpPrefix,
  redisServerOnPath,
  runPrefix,
  ThrowawayCluster,
} from "./support/redis-servers.js";
import { defineRedisStoreTests } from "./support/redis-store-tests.js";

// A real 3-node Redis Cluster (3 masters, no replicas) on spare loopback ports, started and
// stopped by this file. Every scope's keys share a hash tag, so the same scripts run here.
const skip = redisServerOnPath()
  ? undefined
  : "redis-server is not on the PATH: install Redis (the redis-server and redis-cli binaries) to run the cluster tests";
if (skip && process.env.CI) throw new Error(`CI is set, so not skipping: ${skip}`);

if (skip !== undefined) {
  describe("store compliance: redis cluster", () => {
    it.skip(skip, () => {});
  });
} else {
  const cluster = await ThrowawayCluster.start(3);
  const prefix = runPrefix("cluster");
  const admin = createCluster({ rootNodes: cluster.rootNodes });
  const stores: RedisStore[] = [];
  // One cluster client per store, like separate hosts; the test owns (and closes) them.
  const clusterStore = (storePrefix: string) => {
    const client = createCluster({ rootNodes: cluster.rootNodes });
    const store = redisStore({ client, prefix: storePrefix });
    const close = store.close;
    return Object.assign(store, {
      close: async () => {
        await close();
        if (client.isOpen) await client.close();
      },
    });
  };
  afterAll(async () => {
    try {
      if (admin.isOpen) {
        await dropPrefix(admin, prefix);
        await admin.close();
      }
    } finally {
      await cluster.stop();
    }
  });
  await admin.connect();

  let count = 0;
  runStoreSuite({
    name: "redis cluster (3 masters)",
    createStore: () => {
      const store = clusterStore(`${prefix}-${++count}`);
      stores.push(store);
      return store;
    },
    readRaw: (store) => dumpPrefix(admin, (store as RedisStore).prefix),
    backend: redisRawBackend(admin),
    additionalTests: (ctx) => {
      defineRedisStoreTests(ctx, { admin, prefix, newStore: clusterStore });

      it("spreads scopes over the masters", async () => {
        const secrets = ctx.manager();
        for (let i = 0; i < 12; i += 1) {
          await secrets.create("s", { A: "1" }, { environment: `env${i}` });
        }
        const perMaster = await Promise.all(
          admin.masters.map(async (master) => {
            const node = await admin.nodeClient(master);
            const keys = [];
            for await (const batch of node.scanIterator({
              MATCH: `${(ctx.store() as RedisStore).prefix}:*`,
            })) {
              keys.push(...batch);
            }
            return keys.length;
          }),
        );
        expect(perMaster.filter((n) => n > 0).length).toBeGreaterThan(1);
      });
    },
  });

  /** `CLUSTER SLOTS` calls each node has answered so far. */
  const clusterSlotsCalls = async () =>
    Promise.all(
      cluster.nodes.map(async (node) => {
        const stats = await node.cli("info", "commandstats");
        return Number(/^cmdstat_cluster\|slots:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
      }),
    );

  describe("slot map re-reads", () => {
    it("rediscoverSlots(cluster, node) re-reads the slot map from that node (node-redis's MOVED path)", async () => {
      const client = await admin.nodeClient(admin.masters[0]!);
      const port = admin.masters[0]!.port;
      const at = cluster.nodes.findIndex((node) => node.port === port);
      const before = await clusterSlotsCalls();
      await rediscoverSlots(admin, client);
      const after = await clusterSlotsCalls();
      expect(after[at], "CLUSTER SLOTS on the node asked").toBe((before[at] ?? 0) + 1);
    });

    it("a healthy cluster is never polled: no CLUSTER SLOTS beyond the client's first one", async () => {
      const before = await clusterSlotsCalls();
      const store = redisStore({
        url: `redis+cluster://127.0.0.1:${cluster.nodes[0]!.port}`,
        prefix: `${prefix}-healthy`,
        slotRefreshMs: 50,
      });
      try {
        const secrets = new SecretManager({
          store,
          masterKey: generateMasterKey(),
          workspace: "ws",
          environment: "dev",
        });
        for (let i = 0; i < 20; i += 1) {
          await secrets.create(`s${i}`, { A: "1" }, { environment: `e${i}` });
          await secrets.list({ environment: `e${i}` });
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
      } finally {
        await store.close();
      }
      const after = await clusterSlotsCalls();
      const sum = (calls: number[]) => calls.reduce((a, b) => a + b, 0);
      expect(sum(after) - sum(before)).toBe(1);
    });
  });
}

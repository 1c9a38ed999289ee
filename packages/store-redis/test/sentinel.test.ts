import { inspect } from "node:util";
import { generateMasterKey, SecretManager, StoreError } from "@envkeep/core";
import { runStoreSuite } from "@envkeep/store-test-suite";
import { createClient, createSentinel } from "@keyv/redis";
import { afterAll, describe, expect, it } from "vitest";
import { type RedisStore, redisStore } from "../src/index.js";
import { redisRawBackend } from "./support/raw-backend.js";
import {
  dumpPrefix,
  freePort,
  redisServerOnPath,
  runPrefix,
  ThrowawaySentinels,
  waitFor,
} from "./support/redis-servers.js";
import { defineRedisStoreTests, expectConsistent } from "./support/redis-store-tests.js";
import { WriteLoad } from "./support/write-load.js";

// Redis Sentinel, for real: a password-protected primary, its replica and three sentinels on spare
// loopback ports, started and stopped by this file. The compliance suite runs through a
// createSentinel() client; then two stores (one from a redis+sentinel:// URL, one handed a
// createSentinel() client) write from loops while the primary is killed, and must write again
// once the sentinels have promoted the replica, losing nothing they acknowledged.
const PASSWORD = "sentinel-ha-pw-2b9f";
const DOWN_AFTER_MS = 1000;
const TIMEOUT_MS = 500;
/** Once the sentinels name the new primary, writes must go through within this. */
const AFTER_PROMOTION_MS = 5000;

const skip = redisServerOnPath()
  ? undefined
  : "redis-server is not on the PATH: install Redis (redis-server runs the sentinels too) to run the Sentinel tests";
if (skip && process.env.CI) throw new Error(`CI is set, so not skipping: ${skip}`);

if (skip !== undefined) {
  describe("redis sentinel", () => {
    it.skip(skip, () => {});
  });
} else {
  const group = await ThrowawaySentinels.start({ password: PASSWORD, downAfterMs: DOWN_AFTER_MS });
  const prefix = runPrefix("sentinel");
  const sentinelUrl = `redis+sentinel://:${PASSWORD}@${group.rootNodes
    .map((node) => `${node.host}:${node.port}`)
    .join(",")}/${group.masterName}`;
  const newSentinelClient = () => {
    const client = createSentinel({
      name: group.masterName,
      sentinelRootNodes: group.rootNodes,
      nodeClientOptions: { password: PASSWORD },
    });
    client.on("error", () => {});
    return client;
  };
  /**
   * A store on its own createSentinel() client, which its close() closes too (like a host).
   * `sent` gets the time of every command the store hands to the client.
   */
  const sentinelStore = (storePrefix: string, timeoutMs?: number, sent?: number[]) => {
    const client = newSentinelClient();
    if (sent) {
      const sendCommand = client.sendCommand.bind(client);
      client.sendCommand = ((...args: Parameters<typeof sendCommand>) => {
        sent.push(Date.now());
        return sendCommand(...args);
      }) as typeof client.sendCommand;
    }
    const store = redisStore({ client, prefix: storePrefix, ...(timeoutMs ? { timeoutMs } : {}) });
    const close = store.close;
    return Object.assign(store, {
      close: async () => {
        await close();
        if (client.isOpen) await client.close();
      },
    });
  };
  // Raw reads go to the first primary: the suite runs before anything fails. The servers are
  // throw-away, so nothing needs dropping at the end.
  const admin = createClient({ url: group.primary.url, password: PASSWORD });
  admin.on("error", () => {});
  await admin.connect();
  afterAll(async () => {
    admin.destroy();
    await group.stop();
  });

  let count = 0;
  runStoreSuite({
    name: "redis sentinel (primary + replica + 3 sentinels)",
    createStore: () => sentinelStore(`${prefix}-${++count}`),
    readRaw: (store) => dumpPrefix(admin, (store as RedisStore).prefix),
    backend: redisRawBackend(admin),
    additionalTests: (ctx) => {
      defineRedisStoreTests(ctx, {
        admin,
        prefix,
        newStore: (p) => redisStore({ url: sentinelUrl, prefix: p }),
      });

      it("a redis+sentinel:// URL store and a createSentinel() store see the same data", async () => {
        const byUrl = redisStore({ url: sentinelUrl, prefix: (ctx.store() as RedisStore).prefix });
        try {
          const secrets = ctx.manager();
          await secrets.create("shared", { A: "1" });
          const other = ctx.manager({ store: byUrl });
          expect(await other.resolve([other.fromName("shared")])).toEqual({ A: "1" });
        } finally {
          await byUrl.close();
        }
      });
    },
  });

  describe("redis sentinel failover", () => {
    it("no sentinel answers: calls fail in bounded time with StoreError, never showing the password", async () => {
      const ports = [await freePort(), await freePort()];
      const store = redisStore({
        url: `redis+sentinel://:${PASSWORD}@127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}/nowhere?sentinelPassword=${PASSWORD}`,
        timeoutMs: TIMEOUT_MS,
      });
      try {
        const started = Date.now();
        const error = await store.count({ workspace: "ws", environment: "dev" }).catch((e) => e);
        expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1500);
        expect(error).toBeInstanceOf(StoreError);
        expect(error.message).toMatch(/waiting for a connection/);
        expect(error.message).toContain(`127.0.0.1:${ports[0]}`);
        expect(inspect(error, { depth: 5 })).not.toContain(PASSWORD);
      } finally {
        await store.close();
      }
    });

    it("waitForReplicas: 1 — a write the replica has not confirmed is not reported as done", async () => {
      const store = redisStore({
        url: sentinelUrl,
        prefix: `${prefix}-wait`,
        timeoutMs: TIMEOUT_MS,
        waitForReplicas: 1,
      });
      const secrets = new SecretManager({
        store,
        masterKey: generateMasterKey(),
        workspace: "ws",
        environment: "dev",
      });
      try {
        await secrets.create("a", { A: "1" });
        await secrets.update("a", { B: "2" });
        group.replica.freeze();
        let error: unknown;
        try {
          const started = Date.now();
          error = await secrets.create("b", { B: "1" }).catch((e) => e);
          expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
        } finally {
          group.replica.thaw();
        }
        expect(error).toBeInstanceOf(StoreError);
        expect(String((error as Error).message)).toMatch(/confirmed by 0 of 1 replicas/);
        // The primary did apply it: its outcome was unknown to the caller, as after any timeout.
        expect(await store.count({ workspace: "ws", environment: "dev" })).toBe(2);
        await waitFor("the replica to answer again", async () =>
          (await group.replica.cli("ping")).includes("PONG"),
        );
        await secrets.create("c", { C: "1" });
        await secrets.delete("c");
      } finally {
        await store.close();
      }
    });

    it("the primary killed: once the sentinels promote the replica, both stores write again, nothing acknowledged lost", async () => {
      const failoverPrefix = `${prefix}-failover`;
      const masterKey = generateMasterKey();
      const fromUrl = redisStore({
        url: sentinelUrl,
        prefix: failoverPrefix,
        timeoutMs: TIMEOUT_MS,
        maxReconnectDelayMs: 200,
      });
      const sent: number[] = [];
      const fromClient = sentinelStore(failoverPrefix, TIMEOUT_MS, sent);
      const managers = [
        ["url", fromUrl],
        ["client", fromClient],
      ].map(([label, store]) => ({
        label: label as string,
        secrets: new SecretManager({
          store: store as RedisStore,
          masterKey,
          workspace: "ws",
          environment: "dev",
        }),
      }));
      const environments = Array.from({ length: 8 }, (_, i) => `e${i}`);
      const load = new WriteLoad(managers, environments);
      let handedWhilePrimaryDown = -1;
      const oldPort = await group.primaryPort();
      try {
        await load.until("warm-up writes", () => load.acknowledged.length >= 300, 20_000);
        const killedAt = Date.now();
        await group.server(oldPort).halt("SIGKILL");
        const deadAt = Date.now();
        await waitFor("the sentinels to promote the replica", async () =>
          (await group.primaryPort()) !== oldPort ? true : undefined,
        );
        const promotedAt = Date.now();
        // Commands handed to the client from shortly after the kill (when its connection to the
        // primary has dropped) until the sentinels named another primary.
        handedWhilePrimaryDown = sent.filter((at) => at > deadAt + 250 && at < promotedAt).length;
        await load.until(
          "writes through the new primary",
          () =>
            managers.every(({ label }) => load.firstAfter(deadAt, new Set(environments), label)),
          AFTER_PROMOTION_MS + 5000,
        );
        for (const { label } of managers) {
          const first = load.firstAfter(deadAt, new Set(environments), label);
          const at = first?.at ?? Number.POSITIVE_INFINITY;
          console.log(
            `sentinel kill: ${label} store wrote again ${at - killedAt} ms after the kill, ${at - promotedAt} ms after the sentinels named the new primary (${promotedAt - killedAt} ms after the kill)`,
          );
          expect(at - promotedAt, `${label} store, after the promotion`).toBeLessThanOrEqual(
            AFTER_PROMOTION_MS,
          );
        }
        // Every operation works on both stores.
        for (const { secrets } of managers) {
          const store = secrets.store as RedisStore;
          const name = `probe-${Math.random().toString(36).slice(2, 8)}`;
          await secrets.create(name, { A: "1" });
          expect(await secrets.resolve([secrets.fromName(name)])).toEqual({ A: "1" });
          await secrets.update(name, { B: "2" });
          expect((await secrets.list({ maxObjects: 3 })).length).toBeGreaterThan(0);
          expect(await store.count({ workspace: "ws", environment: "dev" })).toBeGreaterThan(0);
          expect(await store.environments("ws")).toContain("dev");
          await secrets.delete(name);
        }
      } finally {
        await load.stop();
      }
      expect(load.failures.length).toBeGreaterThan(0);
      load.expectBoundedFailures(TIMEOUT_MS + 2000, PASSWORD);
      // Calls wait (at most their timeout) for a primary instead of being handed to node-redis,
      // whose Sentinel client keeps every command it gets while its primary is down, whatever
      // the command's timeout, asking the sentinels again for each: that queue would grow for as
      // long as the outage lasts.
      expect(handedWhilePrimaryDown, "commands handed over while no primary").toBe(0);
      for (const { label, secrets } of managers) {
        expect(await load.expectAllPresent(label, secrets)).toBeGreaterThan(0);
      }
      const newPrimary = group.server(await group.primaryPort());
      const fresh = createClient({ url: newPrimary.url, password: PASSWORD });
      await fresh.connect();
      try {
        for (const environment of environments) {
          await expectConsistent(fresh, fromUrl, "ws", environment);
        }
      } finally {
        fresh.destroy();
        await fromUrl.close();
        await fromClient.close();
      }
    }, 90_000);
  });
}

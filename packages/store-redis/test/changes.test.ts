import { generateMasterKey, SecretManager } from "@envkeep/core";
import { countingStore } from "@envkeep/store-test-suite";
import { afterEach, describe, expect, it } from "vitest";
import { type RedisStore, redisStore } from "../src/index.js";
import { testRedis, useTestPrefix, waitFor } from "./support/redis-servers.js";

// The Redis store's change feed when its subscription is cut: the cache stops serving at once,
// never serves what it read before, sees what was written meanwhile, and comes back by itself.
const redis = await testRedis();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(redis.skip !== undefined)("redis change feed", async () => {
  if (redis.skip !== undefined) return;
  const { admin, prefix } = await useTestPrefix(redis, "changes");
  let n = 0;
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const closing of open.splice(0)) await closing.close();
  });
  const store = (p: string) => {
    const opened = redisStore({ url: redis.url, prefix: p, maxReconnectDelayMs: 200 });
    open.push(opened);
    return opened;
  };
  /** Kills every subscriber connection of `p`'s change channel; resolves how many. */
  const killSubscribers = async (p: string) => {
    const list = String(await admin.sendCommand(["CLIENT", "LIST"]));
    const ids = list
      .split("\n")
      .filter((line) => line.includes(` name=envkeep-changes:${p}:changes `))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
    for (const id of ids) await admin.sendCommand(["CLIENT", "KILL", "ID", id]);
    return ids.length;
  };

  it("a killed subscription stops the cache at once; a write made meanwhile is seen; caching resumes", async () => {
    const p = `${prefix}-${++n}`;
    const masterKey = generateMasterKey();
    const counting = countingStore(store(p));
    const cached = new SecretManager({
      store: counting,
      masterKey,
      workspace: "ws",
      environment: "dev",
      cache: { ttlMs: 60_000 },
    });
    const writer = new SecretManager({ store: store(p), masterKey, workspace: "ws" });
    await writer.create("S", { K: "1" }, { environment: "dev" });
    const watch = (counting as unknown as RedisStore).changes?.watch(() => {});
    expect(watch).toBeDefined();
    open.push(watch as { close(): Promise<void> });
    const served = async () => {
      const before = counting.calls.get("get") ?? 0;
      const value = await cached.resolve([cached.fromName("S")]);
      return { value, fromCache: (counting.calls.get("get") ?? 0) === before };
    };
    await waitFor("the cache to serve", async () => (await served()).fromCache);

    expect(await killSubscribers(p)).toBe(2); // the cache's and this test's
    // The loss is noticed: the watch stops vouching (before node-redis reconnects it).
    await waitFor("the watch to stop vouching", async () => watch?.current() === false, 5_000);
    // A write now: its announcement may be lost with the connection.
    await writer.update("S", { K: "2" }, { environment: "dev" });
    await sleep((watch?.lagMs ?? 100) + 5);
    expect((await served()).value).toEqual({ K: "2" });
    // Back by itself: served from the cache again, and still right.
    await waitFor("the cache to serve again", async () => (await served()).fromCache);
    expect((await served()).value).toEqual({ K: "2" });
    await writer.update("S", { K: "3" }, { environment: "dev" });
    await sleep((watch?.lagMs ?? 100) + 5);
    expect((await served()).value).toEqual({ K: "3" });
  }, 60_000);

  it("with Redis unreachable the cache serves nothing: reads fail like uncached ones", async () => {
    const p = `${prefix}-${++n}`;
    const masterKey = generateMasterKey();
    const plain = store(p);
    // A store whose commands all time out fast: a client paused by CLIENT PAUSE stands in for a
    // Redis that stopped answering (its subscription included).
    const paused = redisStore({ url: redis.url, prefix: p, timeoutMs: 300 });
    open.push(paused);
    const cached = new SecretManager({
      store: paused,
      masterKey,
      workspace: "ws",
      environment: "dev",
      cache: { ttlMs: 60_000 },
    });
    const writer = new SecretManager({ store: plain, masterKey, workspace: "ws" });
    await writer.create("S", { K: "1" }, { environment: "dev" });
    const watch = paused.changes?.watch(() => {});
    open.push(watch as { close(): Promise<void> });
    await waitFor("the watch to vouch", async () => watch?.current() === true);
    expect(await cached.info("S")).toMatchObject({ version: 1 });
    await admin.sendCommand(["CLIENT", "PAUSE", "1500", "ALL"]);
    try {
      await sleep((watch?.lagMs ?? 100) + 50);
      expect(watch?.current()).toBe(false);
      const error = await cached.info("S").then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ code: "STORE_UNAVAILABLE" });
    } finally {
      await admin.sendCommand(["CLIENT", "UNPAUSE"]);
    }
    await waitFor("the cache to serve again", async () => watch?.current() === true);
    expect(await cached.info("S")).toMatchObject({ version: 1 });
  }, 60_000);
});

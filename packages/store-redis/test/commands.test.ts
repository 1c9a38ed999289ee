import { createClient } from "@keyv/redis";
import { afterAll, describe, expect, it, vi } from "vitest";
import { redisStore } from "../src/index.js";
import { redisServerOnPath, ThrowawayRedis } from "./support/redis-servers.js";

// Which commands the store really sends, read from a throw-away server's INFO commandstats
// (nobody else talks to it): list is an index range read, never a SCAN/KEYS of the keyspace.
const skip = redisServerOnPath()
  ? undefined
  : "redis-server is not on the PATH: install Redis to run the command-level tests";
if (skip && process.env.CI) throw new Error(`CI is set, so not skipping: ${skip}`);

let server: ThrowawayRedis | undefined;
afterAll(async () => {
  await server?.stop();
});

/** Calls per command since the last CONFIG RESETSTAT, e.g. `{ zrange: 1, mget: 1 }`. */
async function commandCalls(admin: {
  info(section: string): Promise<string>;
}): Promise<Record<string, number>> {
  const info = await admin.info("commandstats");
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls[match[1]!] = Number(match[2]);
  }
  delete calls.info;
  delete calls["config|resetstat"];
  return calls;
}

if (skip !== undefined) {
  describe("commands sent", () => {
    it.skip(skip, () => {});
  });
}

describe.skipIf(skip !== undefined)("commands sent", () => {
  it("list({ limit: 10 }) of 2,000 records is one EVALSHA (a ZRANGE and 10 GETs); each create one EVALSHA", async () => {
    server = await ThrowawayRedis.start();
    const admin = createClient({ url: server.url });
    await admin.connect();
    const store = redisStore({ url: server.url });
    try {
      const base = {
        workspace: "ws",
        environment: "dev",
        keys: ["A"],
        version: 1,
        sealed: "v1.opaque",
      };
      // The first create finds the script missing (NOSCRIPT) and loads it with EVAL …
      await admin.configResetStat();
      await store.create({
        ...base,
        name: "first",
        secretId: "st-first",
        createdAt: 1,
        updatedAt: 1,
      });
      // (commandstats also counts the commands a script runs.)
      expect(await commandCalls(admin)).toMatchObject({ evalsha: 1, eval: 1, set: 1, zadd: 1 });
      await store.delete({ workspace: "ws", environment: "dev", name: "first" });
      // … every later one is a single EVALSHA (one round trip; the environment set included).
      await admin.configResetStat();
      for (let from = 0; from < 2_000; from += 500) {
        await Promise.all(
          Array.from({ length: 500 }, (_, j) => {
            const i = from + j;
            return store.create({
              ...base,
              name: `n${i}`,
              secretId: `st-${i}`,
              createdAt: 1_000 + i,
              updatedAt: 1_000 + i,
            });
          }),
        );
      }
      const writes = await commandCalls(admin);
      expect(writes).toMatchObject({ evalsha: 2_000, set: 2_000, zadd: 2_000, sadd: 2_000 });
      expect(writes.eval).toBeUndefined();

      // The list script is loaded once too; then each page is one atomic script: one round trip.
      await store.list({ workspace: "ws", environment: "dev" }, { limit: 1 });
      await admin.configResetStat();
      const page = await store.list({ workspace: "ws", environment: "dev" }, { limit: 10 });
      expect(page.map((r) => r.name)).toEqual(
        Array.from({ length: 10 }, (_, i) => `n${1_999 - i}`),
      );
      expect(await commandCalls(admin)).toEqual({ evalsha: 1, zrange: 1, get: 10 });

      await admin.configResetStat();
      await store.count({ workspace: "ws", environment: "dev" });
      await store.environments("ws");
      await store.get({ workspace: "ws", environment: "dev", name: "n5" });
      expect(await commandCalls(admin)).toEqual({ zcard: 1, smembers: 1, get: 1 });
    } finally {
      await store.close();
      admin.destroy();
    }
  }, 60_000);

  it("a get on a ready server starts no timeout signal of its own (one shared deadline bounds reads)", async () => {
    server ??= await ThrowawayRedis.start();
    const store = redisStore({ url: server.url, prefix: "deadline-check" });
    const ref = { workspace: "ws", environment: "dev", name: "r" };
    try {
      await store.get(ref); // connects
      const timeouts = vi.spyOn(AbortSignal, "timeout");
      try {
        for (let i = 0; i < 20; i++) expect(await store.get(ref)).toBeUndefined();
        expect(timeouts).not.toHaveBeenCalled();
      } finally {
        timeouts.mockRestore();
      }
    } finally {
      await store.close();
    }
  }, 60_000);
});

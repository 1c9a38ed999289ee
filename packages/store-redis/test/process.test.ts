import { fileURLToPath } from "node:url";
import { generateMasterKey, SecretManager } from "@envkeep/core";
// Imported by path: the lead re-exports these from "@envkeep/store-test-suite".
import { runProcessRaceTests, spawnStoreWorkers } from "@envkeep/store-test-suite";
import { createClient } from "@keyv/redis";
import { afterAll, describe, expect, it } from "vitest";
import { redisStore } from "../src/index.js";
import { dropPrefix, runPrefix, testRedis } from "./support/redis-servers.js";
import { expectConsistent } from "./support/redis-store-tests.js";

// Real child processes (separate hosts, as far as the store can tell) sharing one Redis.
const redis = await testRedis();

if (redis.skip !== undefined) {
  describe("two processes: redis", () => {
    it.skip(redis.skip, () => {});
  });
} else {
  const { url } = redis;
  const prefix = runPrefix("process");
  const admin = createClient({ url });
  await admin.connect();
  afterAll(async () => {
    await dropPrefix(admin, prefix);
    admin.destroy();
    await redis.stop();
  });
  let stores = 0;
  const target = {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    storeModule: "@envkeep/store-redis",
    factoryName: "redisStore",
  };

  runProcessRaceTests({
    name: "redis",
    ...target,
    storeOptions: () => ({ url, prefix: `${prefix}-${++stores}` }),
  });

  describe("a process killed with SIGKILL in the middle of a write loop", () => {
    it("loses no write it reported done and leaves no half-written record", async () => {
      const storePrefix = `${prefix}-${++stores}`;
      const masterKey = generateMasterKey();
      const [writer] = await spawnStoreWorkers({
        ...target,
        storeOptions: { url, prefix: storePrefix },
        masterKey,
        count: 1,
      });
      const names = Array.from({ length: 5_000 }, (_, i) => `crash-${i}`);
      let reported = -1;
      let killing: Promise<void> | undefined;
      const loop = writer!
        .createLoop(names, (index) => {
          reported = Math.max(reported, index);
          if (index >= 150) killing ??= writer!.kill("SIGKILL");
        })
        .catch((error: Error) => error);
      expect(await loop).toBeInstanceOf(Error); // killed before finishing
      await killing;
      expect(reported).toBeGreaterThanOrEqual(150);

      const store = redisStore({ url, prefix: storePrefix });
      const secrets = new SecretManager({
        store,
        masterKey,
        workspace: "race",
        environment: "dev",
      });
      try {
        for (const [i, name] of names.slice(0, reported + 1).entries()) {
          expect(await secrets.resolve([secrets.fromName(name)])).toEqual({ N: String(i) });
        }
        const held = await expectConsistent(admin, store, "race");
        expect(held).toBeGreaterThanOrEqual(reported + 1);
        expect(await secrets.list()).toHaveLength(held);
      } finally {
        await secrets.close();
      }
    }, 120_000);
  });
}

import { fileURLToPath } from "node:url";
import { generateMasterKey, SecretManager } from "@envkeep/core";
import {
  killWriterMidLoop,
  runCacheFreshnessTests,
  runProcessRaceTests,
} from "@envkeep/store-test-suite";
import { describe, expect, it } from "vitest";
import { redisStore } from "../src/index.js";
import { testRedis, useTestPrefix } from "./support/redis-servers.js";
import { expectConsistent } from "./support/redis-store-tests.js";

// Real child processes (separate hosts, as far as the store can tell) sharing one Redis.
const redis = await testRedis();

if (redis.skip !== undefined) {
  describe("two processes: redis", () => {
    it.skip(redis.skip, () => {});
  });
} else {
  const { url } = redis;
  const { admin, prefix } = await useTestPrefix(redis, "process");
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

  runCacheFreshnessTests({
    name: "redis",
    ...target,
    storeOptions: () => ({ url, prefix: `${prefix}-${++stores}` }),
    openStore: (options) => redisStore(options),
  });

  describe("a process killed with SIGKILL in the middle of a write loop", () => {
    it("loses no write it reported done and leaves no half-written record", async () => {
      const storePrefix = `${prefix}-${++stores}`;
      const masterKey = generateMasterKey();
      const done = await killWriterMidLoop({
        ...target,
        storeOptions: { url, prefix: storePrefix },
        masterKey,
      });

      const store = redisStore({ url, prefix: storePrefix });
      const secrets = new SecretManager({
        store,
        masterKey,
        workspace: "race",
        environment: "dev",
      });
      try {
        for (const [i, name] of done.entries()) {
          expect(await secrets.resolve([secrets.fromName(name)])).toEqual({ N: String(i) });
        }
        const held = await expectConsistent(admin, store, "race");
        expect(held).toBeGreaterThanOrEqual(done.length);
        expect(await secrets.list()).toHaveLength(held);
      } finally {
        await secrets.close();
      }
    }, 120_000);
  });
}

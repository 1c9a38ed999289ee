import { runStoreSuite } from "@envkeep/store-test-suite";
import { describe, it } from "vitest";
import { type RedisStore, redisStore } from "../src/index.js";
import { redisRawBackend } from "./support/raw-backend.js";
import { dumpPrefix, testRedis, useTestPrefix } from "./support/redis-servers.js";
import { defineRedisStoreTests } from "./support/redis-store-tests.js";

const redis = await testRedis();

if (redis.skip !== undefined) {
  describe("store compliance: redis", () => {
    it.skip(redis.skip, () => {});
  });
} else {
  const { admin, prefix } = await useTestPrefix(redis, "single");

  let stores = 0;
  runStoreSuite({
    name: "redis",
    createStore: () => redisStore({ url: redis.url, prefix: `${prefix}-${++stores}` }),
    readRaw: (store) => dumpPrefix(admin, (store as RedisStore).prefix),
    reopenStore: (store) => redisStore({ url: redis.url, prefix: (store as RedisStore).prefix }),
    backend: redisRawBackend(admin),
    additionalTests: (ctx) =>
      defineRedisStoreTests(ctx, {
        admin,
        prefix,
        newStore: (p) => redisStore({ url: redis.url, prefix: p }),
      }),
  });
}

import { runStoreSuite } from "@envkeep/store-test-suite";
import { createClient } from "@keyv/redis";
import { afterAll, describe, it } from "vitest";
import { type RedisStore, redisStore } from "../src/index.js";
import { dropPrefix, dumpPrefix, runPrefix, testRedis } from "./support/redis-servers.js";
import { defineRedisStoreTests } from "./support/redis-store-tests.js";

const redis = await testRedis();

if (redis.skip !== undefined) {
  describe("store compliance: redis", () => {
    it.skip(redis.skip, () => {});
  });
} else {
  const prefix = runPrefix("single");
  const admin = createClient({ url: redis.url });
  await admin.connect();
  afterAll(async () => {
    await dropPrefix(admin, prefix);
    admin.destroy();
    await redis.stop();
  });

  let stores = 0;
  runStoreSuite({
    name: "redis",
    createStore: () => redisStore({ url: redis.url, prefix: `${prefix}-${++stores}` }),
    readRaw: (store) => dumpPrefix(admin, (store as RedisStore).prefix),
    additionalTests: (ctx) =>
      defineRedisStoreTests(ctx, {
        admin,
        prefix,
        newStore: (p) => redisStore({ url: redis.url, prefix: p }),
      }),
  });
}

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { cliFlowTests } from "./support/flows.js";
import { clearRedisPrefix, dumpRedisPrefix, startRedis } from "./support/redis.js";

let redis: Awaited<ReturnType<typeof startRedis>>;
const prefixes: string[] = [];
const run = randomBytes(4).toString("hex");

beforeAll(async () => {
  redis = await startRedis();
}, 30_000);

afterAll(async () => {
  for (const prefix of prefixes) await clearRedisPrefix(redis.url, prefix);
  await redis.stop();
});

cliFlowTests("redis", async () => {
  const prefix = `envkeep-cli-${run}-${prefixes.length + 1}`;
  prefixes.push(prefix);
  const url = new URL(redis.url);
  url.searchParams.set("prefix", prefix);
  return { url: url.toString(), raw: () => dumpRedisPrefix(redis.url, prefix) };
});

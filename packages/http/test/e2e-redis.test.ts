/**
 * End to end on Redis: the shared flows, and an outage of a throw-away redis-server.
 * Not skipped when Redis is missing: it fails (`.ci/run` installs redis-server).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { generateMasterKey, TOKEN_CACHE_MS } from "@envkeep/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clearRedisPrefix, dumpRedisPrefix, startRedis } from "../../cli/test/support/redis.js";
import { e2eFlows, typedClient } from "./support/e2e-flows.js";
import { ResponseChecker } from "./support/response-check.js";
import { createToken, ensureBuilt, startServe } from "./support/serve.js";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

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

e2eFlows("redis", async () => {
  const prefix = `envkeep-http-${run}-${prefixes.length + 1}`;
  prefixes.push(prefix);
  const url = new URL(redis.url);
  url.searchParams.set("prefix", prefix);
  return { url: url.toString(), raw: () => dumpRedisPrefix(redis.url, prefix) };
});

describe("a Redis that goes away", () => {
  const checker = new ResponseChecker();
  afterAll(() => checker.assertAllChecked());

  it("requests get 503 STORE_UNAVAILABLE with Retry-After, in bounded time; the server stays up", async () => {
    await ensureBuilt();
    const port = await freePort();
    const redisServer = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    try {
      const url = `redis://127.0.0.1:${port}?timeoutMs=500&connectTimeoutMs=500`;
      const env = { ENVKEEP_MASTER_KEY: generateMasterKey(), ENVKEEP_STORE: url };
      const deadline = Date.now() + 10_000;
      let created: Awaited<ReturnType<typeof createToken>> | undefined;
      while (!created) {
        try {
          created = await createToken(env, ["--name", "t", "--scope", "read"]);
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(100);
        }
      }
      checker.canary(created.token);
      const server = await startServe({ env });
      try {
        const client = typedClient(checker, server.url, created.token);
        expect((await client.GET("/secrets", {})).response.status).toBe(200);
        redisServer.kill("SIGKILL");
        await new Promise((resolve) => redisServer.once("exit", resolve));
        // Past the token cache, so the token itself must be read from the store again.
        await sleep(TOKEN_CACHE_MS + 100);
        for (const target of ["/secrets", "/secrets/{secret_name}"] as const) {
          const start = Date.now();
          const answer =
            target === "/secrets"
              ? await client.GET(target, {})
              : await client.GET(target, { params: { path: { secret_name: "db" } } });
          expect(answer.response.status).toBe(503);
          expect(answer.response.headers.get("retry-after")).toBe("1");
          expect(answer.error?.error).toEqual({
            code: "STORE_UNAVAILABLE",
            message: "the store is unavailable; try again later",
          });
          expect(Date.now() - start).toBeLessThan(5_000);
        }
        expect(server.child.exitCode).toBeNull();
        expect(server.stderr()).toMatch(/ 503 [\d.]+ms token=- error=STORE_UNAVAILABLE\n/);
      } finally {
        await server.stop("SIGKILL");
      }
    } finally {
      redisServer.kill("SIGKILL");
    }
  }, 60_000);
});

import { generateMasterKey, SecretManager, SecretsError, StoreError } from "@envkeep/core";
import { afterAll, describe, expect, it } from "vitest";
import { type RedisStore, redisStore } from "../src/index.js";
import { freePort, redisServerOnPath, runPrefix, ThrowawayRedis } from "./support/redis-servers.js";
import { expectConsistent } from "./support/redis-store-tests.js";

// Outages on throw-away servers this file starts, stops and restarts on their own ports.
// "Bounded time" means no call hangs: each one gets a generous ceiling (the store's timeout + 2 s)
// after which it counts as hung. What is asserted is how it ended (a StoreError, then recovery),
// never how fast: a slow machine must not fail these tests, a hanging call must.
const TIMEOUT_MS = 500;
const CEILING_MS = TIMEOUT_MS + 2_000;
const PASSWORD = "fault-test-pw-7c1e";

const skip = redisServerOnPath()
  ? undefined
  : "redis-server is not on the PATH: install Redis to run the outage tests";
if (skip && process.env.CI) throw new Error(`CI is set, so not skipping: ${skip}`);

const servers: ThrowawayRedis[] = [];
const stores: RedisStore[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
  for (const server of servers) await server.stop();
});

/** What a call that has not settled within {@link CEILING_MS} ends with. */
class StillPendingError extends Error {}

/** How `work` ended, giving up on it as hung after {@link CEILING_MS}. */
async function settle<T>(work: () => Promise<T>) {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StillPendingError(`still pending after ${CEILING_MS} ms`)),
      CEILING_MS,
    );
  });
  try {
    return { ok: true as const, value: await Promise.race([work(), hung]) };
  } catch (error) {
    return { ok: false as const, error };
  } finally {
    clearTimeout(timer);
  }
}

type Settled = Awaited<ReturnType<typeof settle>>;

function expectStoreError(outcome: Settled) {
  expect(outcome.ok).toBe(false);
  if (outcome.ok) return;
  expect(outcome.error, String(outcome.error)).toBeInstanceOf(StoreError);
  expect(outcome.error).toMatchObject({ code: "STORE_UNAVAILABLE", store: "redis" });
}

/** Retries `work` until it succeeds (the store recovering by itself), for at most `withinMs`. */
async function eventually<T>(work: () => Promise<T>, withinMs = 15_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function managerOn(store: RedisStore, masterKey: string, workspace: string) {
  return new SecretManager({ store, masterKey, workspace, environment: "dev" });
}

if (skip !== undefined) {
  describe("redis outages", () => {
    it.skip(skip, () => {});
  });
}

describe.skipIf(skip !== undefined)("redis outages", () => {
  it("Redis unreachable at start: calls fail at once with the refusal, then the same store recovers", async () => {
    const port = await freePort();
    const store = redisStore({
      url: `redis://:${PASSWORD}@127.0.0.1:${port}`,
      prefix: runPrefix("down-at-start"),
      timeoutMs: TIMEOUT_MS,
      maxReconnectDelayMs: 200,
    });
    stores.push(store);
    const secrets = managerOn(store, generateMasterKey(), "ws");
    const scope = { workspace: "ws", environment: "dev" };

    const calls = await Promise.all([
      settle(() => store.get({ ...scope, name: "a" })),
      settle(() => store.count(scope)),
      settle(() => store.list(scope, { limit: 10 })),
      settle(() => store.environments("ws")),
      settle(() => secrets.create("a", { TOKEN: "t-1" })),
      ...Array.from({ length: 20 }, (_, i) => settle(() => secrets.info(`n${i}`))),
    ]);
    for (const call of calls) expectStoreError(call);
    // Nothing listens there and the store was never connected: every call fails at once with
    // the refusal (a wrong URL or a server not started), instead of waiting out its deadline.
    for (const call of calls) {
      const { message, cause } = (call as { error: Error }).error;
      expect(message).toContain(`127.0.0.1:${port}`);
      expect(message).toMatch(/^\[redis\] \w+ failed/);
      expect(message).not.toContain("timed out");
      expect(String(cause)).toContain("ECONNREFUSED");
    }
    for (const call of calls) {
      expect(String((call as { error: Error }).error.message)).not.toContain(PASSWORD);
    }

    const server = await ThrowawayRedis.start({ port, extraArgs: ["--requirepass", PASSWORD] });
    servers.push(server);
    await eventually(() => secrets.create("a", { TOKEN: "t-1" }));
    expect(await secrets.resolve([secrets.fromName("a")])).toEqual({ TOKEN: "t-1" });
    expect(await store.environments("ws")).toEqual(["dev"]);

    // A wrong password: bounded too, the server's refusal as the cause, no password in the message.
    const wrong = redisStore({
      url: `redis://:not-${PASSWORD}@127.0.0.1:${port}`,
      timeoutMs: TIMEOUT_MS,
    });
    stores.push(wrong);
    const refused = await settle(() => wrong.count(scope));
    expectStoreError(refused);
    const error = (refused as { error: StoreError }).error;
    expect(String(error.cause)).toMatch(/WRONGPASS|NOAUTH|invalid/);
    expect(error.message).not.toContain(PASSWORD);
  }, 60_000);

  it("Redis crashing mid-run and restarting on its port: no acknowledged write lost, none half-written", async () => {
    const server = await ThrowawayRedis.start({ durable: true });
    servers.push(server);
    const store = redisStore({
      url: server.url,
      prefix: runPrefix("crash"),
      timeoutMs: TIMEOUT_MS,
      maxReconnectDelayMs: 200,
    });
    stores.push(store);
    const masterKey = generateMasterKey();
    const secrets = managerOn(store, masterKey, "ws");
    await secrets.create("shared", {});

    const acknowledged: string[] = [];
    const acknowledgedKeys: string[] = [];
    const failures: Settled[] = [];
    let phase: "before" | "down" | "after" = "before";
    let afterRestart = 0;
    const giveUpAt = Date.now() + 45_000;
    const worker = async (id: number) => {
      for (let i = 0; (phase !== "after" || afterRestart < 60) && Date.now() < giveUpAt; i += 1) {
        const name = `w${id}-${i}`;
        const created = await settle(() => secrets.create(name, { V: name }));
        if (created.ok) {
          acknowledged.push(name);
          if (phase === "after") afterRestart += 1;
        } else failures.push(created);
        const updated = await settle(() => secrets.update("shared", { [`K_${id}_${i}`]: "1" }));
        if (updated.ok) acknowledgedKeys.push(`K_${id}_${i}`);
        else failures.push(updated);
        // Never spin: let timers (and the test) run between calls.
        await new Promise((resolve) => setTimeout(resolve, phase === "down" ? 20 : 0));
      }
    };
    const workers = Promise.all(Array.from({ length: 4 }, (_, id) => worker(id)));
    try {
      await eventually(async () => {
        if (acknowledged.length < 40) throw new Error("warming up");
      });
      await server.halt("SIGKILL");
      phase = "down";
      await new Promise((resolve) => setTimeout(resolve, 2 * TIMEOUT_MS + 500));
      await server.resume();
    } finally {
      phase = "after";
      await workers;
    }
    expect(afterRestart, "writes acknowledged after the restart").toBeGreaterThanOrEqual(60);

    // While Redis was away, calls failed with envkeep errors; none hung past the ceiling.
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.ok).toBe(false);
      if (failure.ok) continue;
      expect(failure.error, String(failure.error)).toBeInstanceOf(SecretsError);
    }
    expect(failures.some((f) => !f.ok && f.error instanceof StoreError)).toBe(true);

    // Every acknowledged create and update survived the crash, readable and intact.
    expect(acknowledged.length, "creates acknowledged").toBeGreaterThanOrEqual(40 + 60);
    expect(acknowledgedKeys.length, "updates acknowledged").toBeGreaterThan(0);
    const listed = new Set((await secrets.list()).map((info) => info.name));
    for (const name of acknowledged) {
      expect(listed.has(name), name).toBe(true);
      expect(await secrets.resolve([secrets.fromName(name)])).toEqual({ V: name });
    }
    const shared = await secrets.resolve([secrets.fromName("shared")]);
    for (const key of acknowledgedKeys) expect(shared[key], key).toBe("1");
    // And no record is half-written: index, metadata and records agree.
    const { createClient } = await import("@keyv/redis");
    const admin = createClient({ url: server.url });
    await admin.connect();
    try {
      expect(await expectConsistent(admin, store, "ws")).toBe(listed.size);
    } finally {
      admin.destroy();
    }
  }, 90_000);

  it("a frozen Redis (connection open, no answers): calls fail in bounded time, then recover", async () => {
    const server = await ThrowawayRedis.start();
    servers.push(server);
    const store = redisStore({
      url: server.url,
      prefix: runPrefix("frozen"),
      timeoutMs: TIMEOUT_MS,
    });
    stores.push(store);
    const secrets = managerOn(store, generateMasterKey(), "ws");
    await secrets.create("a", { A: "1" });
    server.freeze();
    try {
      const calls = await Promise.all([
        settle(() => secrets.info("a")),
        settle(() => secrets.update("a", { B: "2" })),
        settle(() => secrets.list()),
      ]);
      for (const call of calls) expectStoreError(call);
    } finally {
      server.thaw();
    }
    await eventually(() => secrets.update("a", { C: "3" }));
    const env = await secrets.resolve([secrets.fromName("a")]);
    expect(env.A).toBe("1");
    expect(env.C).toBe("3");
  }, 60_000);

  it("close() while Redis is away returns promptly and later calls fail as closed", async () => {
    const port = await freePort();
    const store = redisStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: TIMEOUT_MS });
    const scope = { workspace: "ws", environment: "dev" };
    expectStoreError(await settle(() => store.count(scope)));
    const closing = await settle(() => store.close());
    expect(closing).toEqual({ ok: true, value: undefined });
    const after = await settle(() => store.count(scope));
    expectStoreError(after);
    expect(String((after as { error: Error }).error.message)).toContain("closed");
  });
});

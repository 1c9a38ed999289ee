import {
  type ChangeWatch,
  IntegrityError,
  type SecretManager,
  type SecretRef,
  type SecretStore,
} from "@envkeep/core";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { countingStore, errorOf } from "./backend-tests.js";
import type { StoreSuiteContext } from "./context.js";
import type { DefineTest } from "./define.js";
import { fuzzRuns } from "./fuzz-runs.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits out a watch's staleness bound, then until it vouches again (bounded): afterwards every
 * change completed before the call must have been reported.
 */
async function caughtUp(watch: ChangeWatch): Promise<void> {
  await sleep(watch.lagMs + 5);
  for (let tries = 0; !(await watch.current()); tries++) {
    if (tries > 400) throw new Error("the change watch never vouched again");
    await sleep(10);
  }
}

/** The cache settings the suite uses: long enough never to expire within a test. */
const CACHE = { ttlMs: 60_000 };

/**
 * The optional change feed (`store.changes`) and the manager's cache on it. Every test passes
 * trivially on a store without a feed, after checking that a cache there stays off.
 */
export function defineChangeTests(ctx: StoreSuiteContext, test: DefineTest): void {
  const feed = () => ctx.store().changes;
  const ref = (name: string): SecretRef => ({
    workspace: ctx.workspace(),
    environment: "dev",
    name,
  });
  /** Another store on the same backend (another connection), when the store package gave one. */
  const other = async (): Promise<SecretStore | undefined> =>
    ctx.options.reopenStore ? await ctx.options.reopenStore(ctx.store()) : undefined;

  describe("change feed and cache", () => {
    test("a cache on a store without a change feed stays off", async () => {
      const secrets = ctx.manager({ cache: CACHE });
      expect(secrets.caching).toBe(feed() !== undefined);
    });

    test("a watch reports every write through the store, and through another store on the backend", async () => {
      const changes = feed();
      if (!changes) return;
      const heard: (SecretRef | undefined)[] = [];
      const watch = changes.watch((changed) => heard.push(changed));
      const reported = (name: string) =>
        heard.some(
          (changed) =>
            changed === undefined ||
            (changed.name === name &&
              changed.environment === "dev" &&
              changed.workspace === ctx.workspace()),
        );
      try {
        await caughtUp(watch);
        const secrets = ctx.manager();
        const second = await other();
        const elsewhere = second && ctx.manager({ store: second });
        try {
          for (const [i, write] of [
            () => secrets.create("A", { K: "1" }),
            () => secrets.update("A", { K: "2" }),
            () => secrets.delete("A"),
            ...(elsewhere
              ? [
                  () => elsewhere.create("A", { K: "3" }),
                  () => elsewhere.update("A", { K: "4" }),
                  () => elsewhere.delete("A"),
                ]
              : []),
          ].entries()) {
            heard.length = 0;
            await write();
            await caughtUp(watch);
            expect(reported("A"), `write ${i} reported`).toBe(true);
          }
        } finally {
          await second?.close();
        }
      } finally {
        await watch.close();
      }
    });

    test("a repeated info or resolve of an unchanged secret is served without a store read", async () => {
      if (!feed()) return;
      const counting = countingStore(ctx.store());
      const secrets = ctx.manager({ store: counting, cache: CACHE });
      await secrets.create("S", { K: "v1" });
      const handle = secrets.fromName("S");
      expect(await secrets.resolve([handle])).toEqual({ K: "v1" });
      // Served once the feed vouches (Redis: after its first heartbeat).
      let before = counting.calls.get("get") ?? 0;
      for (let tries = 0; tries < 400; tries++) {
        before = counting.calls.get("get") ?? 0;
        await secrets.info("S");
        if ((counting.calls.get("get") ?? 0) === before) break;
        await sleep(10);
      }
      for (let i = 0; i < 5; i++) {
        expect(await secrets.resolve([handle])).toEqual({ K: "v1" });
        expect((await secrets.info("S")).version).toBe(1);
      }
      expect(counting.calls.get("get") ?? 0).toBe(before);
      // A write through the manager is seen at once, by both calls.
      await secrets.update("S", { K: "v2" });
      expect(await secrets.resolve([handle])).toEqual({ K: "v2" });
      expect((await secrets.info("S")).version).toBe(2);
      await secrets.delete("S");
      expect(await errorOf(() => secrets.info("S"))).toMatchObject({ code: "NOT_FOUND" });
      await secrets.close();
    });

    test("random writes through this manager, another manager and another store: cached reads match the model", async () => {
      const changes = feed();
      if (!changes) return;
      const second = await other();
      const cached = ctx.manager({ cache: CACHE });
      const writers: SecretManager[] = [
        cached,
        ctx.manager(),
        ...(second ? [ctx.manager({ store: second })] : []),
      ];
      // A write through another store is reported within the feed's bound: wait that long.
      const probe = changes.watch(() => {});
      const lagMs = probe.lagMs;
      await probe.close();
      const names = ["P", "Q"];
      const step = fc.record({
        writer: fc.integer({ min: 0, max: writers.length - 1 }),
        name: fc.constantFrom(...names),
        value: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
      });
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
            const model = new Map<string, string>();
            for (const name of names) await cached.delete(name, { allowMissing: true });
            for (const { writer, name, value } of steps) {
              const secrets = writers[writer] as SecretManager;
              if (value === undefined) await secrets.delete(name, { allowMissing: true });
              else await secrets.create(name, { V: value }, { ifExists: "overwrite" });
              if (value === undefined) model.delete(name);
              else model.set(name, value);
              if (writer === 2 && lagMs > 0) await sleep(lagMs + 5);
              for (const read of names) {
                const expected = model.get(read);
                const got = await cached
                  .resolve([cached.fromName(read)])
                  .catch((error: { code?: string }) => error.code);
                expect(got).toEqual(expected === undefined ? "NOT_FOUND" : { V: expected });
              }
            }
          }),
          { numRuns: Math.min(fuzzRuns(15), 60) },
        );
      } finally {
        await second?.close();
      }
    }, 120_000);

    test("a record edited in the backend behind envkeep's back is still caught", async () => {
      const changes = feed();
      const backend = ctx.options.backend;
      if (!changes || !backend) return;
      // Where the feed does not see such edits, the entry's ttlMs bounds how long it is missed.
      const ttlMs = changes.reportsBackendEdits ? CACHE.ttlMs : 200;
      const secrets = ctx.manager({ cache: { ttlMs } });
      await secrets.create("T", { K: "original" });
      await secrets.create("U", { K: "other" });
      expect(await secrets.resolve([secrets.fromName("T")])).toEqual({ K: "original" });
      const text = await backend.readText(ctx.store(), ref("U"));
      await backend.writeText(ctx.store(), ref("T"), text as string); // U's record put at T
      if (!changes.reportsBackendEdits) {
        // Meanwhile at most the last authenticated record is served, never the edited one.
        const meanwhile = await secrets.resolve([secrets.fromName("T")]).catch(() => undefined);
        expect([undefined, { K: "original" }]).toContainEqual(meanwhile);
        await sleep(ttlMs + 10);
      }
      const error = await errorOf(() => secrets.resolve([secrets.fromName("T")]));
      expect(error).toBeInstanceOf(IntegrityError);
      expect(await errorOf(() => secrets.info("T"))).toBeInstanceOf(IntegrityError);
    });
  });
}

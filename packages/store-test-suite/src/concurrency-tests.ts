import { AlreadyExistsError } from "@envkeep/core";
import { describe, expect } from "vitest";
import type { StoreSuiteContext } from "./context.js";
import type { DefineTest } from "./define.js";
import { pauseNextReplace } from "./paused-store.js";

/** Races within one process; two-process races live in `process-race.ts`. */
export function defineConcurrencyTests(ctx: StoreSuiteContext, test: DefineTest): void {
  describe("concurrency", () => {
    test("50 parallel creates of one name: exactly one succeeds", async () => {
      const secrets = ctx.manager();
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => secrets.create("race", { WINNER: String(i) })),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost.every((r) => r.reason instanceof AlreadyExistsError)).toBe(true);
      const winner = String(results.indexOf(won[0]!));
      expect(await secrets.resolve([secrets.fromName("race")])).toEqual({ WINNER: winner });
    });

    test("50 parallel creates from separate managers (separate hosts): exactly one succeeds", async () => {
      const managers = Array.from({ length: 50 }, () => ctx.manager());
      const results = await Promise.allSettled(
        managers.map((m, i) => m.create("race2", { W: String(i) })),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      const winner = results.indexOf(won[0]!);
      expect(await managers[0]!.resolve([managers[0]!.fromName("race2")])).toEqual({
        W: String(winner),
      });
      expect((await managers[0]!.info("race2")).secretId).toBe(won[0]!.value.secretId);
    });

    test("an update paused between its read and its write while the secret is deleted and re-created lands on the new secret", async () => {
      const other = ctx.manager();
      const old = await other.create("reborn", { OLD: "1" });
      const paused = pauseNextReplace(ctx.store());
      const updating = ctx.manager({ store: paused.store });
      const update = updating.update("reborn", { ADDED: "1" });
      await paused.reached; // it read version 1 of the old secret and merged into it
      await other.delete("reborn");
      const reborn = await other.create("reborn", { NEW: "1" });
      // Same name and version as what the update read: only the secretId tells them apart.
      expect(reborn.secretId).not.toBe(old.secretId);
      expect(reborn.version).toBe(old.version);
      paused.release();

      const updated = await update;
      expect(updated.secretId).toBe(reborn.secretId);
      expect(await other.resolve([other.fromName("reborn")])).toEqual({ NEW: "1", ADDED: "1" });
      expect(await other.info("reborn")).toMatchObject({ secretId: reborn.secretId, version: 2 });
    });

    test("200 parallel updates of distinct keys of one secret: all 200 keys present", async () => {
      const secrets = ctx.manager();
      await secrets.create("counter", {});
      await Promise.all(
        Array.from({ length: 200 }, (_, i) => secrets.update("counter", { [`K${i}`]: String(i) })),
      );
      const env = await secrets.resolve([secrets.fromName("counter")]);
      expect(Object.keys(env)).toHaveLength(200);
      expect((await secrets.info("counter")).version).toBe(201);
    }, 120_000);

    test("concurrent updates from four managers (no shared lock) never lose a change", async () => {
      const managers = Array.from({ length: 4 }, () => ctx.manager());
      await managers[0]!.create("shared", {});
      await Promise.all(
        managers.flatMap((m, host) =>
          Array.from({ length: 25 }, (_, i) => m.update("shared", { [`H${host}_${i}`]: "1" })),
        ),
      );
      const env = await managers[0]!.resolve([managers[0]!.fromName("shared")]);
      expect(Object.keys(env)).toHaveLength(100);
      expect((await managers[0]!.info("shared")).version).toBe(101);
    }, 120_000);

    test("parallel overwrites and updates keep the version sequence gap-free", async () => {
      const a = ctx.manager();
      const b = ctx.manager();
      await a.create("seq", { A: "0" });
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) =>
          a.create("seq", { A: `o${i}` }, { ifExists: "overwrite" }),
        ),
        ...Array.from({ length: 10 }, (_, i) => b.update("seq", { [`B${i}`]: "1" })),
      ]);
      expect((await a.info("seq")).version).toBe(21);
    }, 60_000);
  });
}

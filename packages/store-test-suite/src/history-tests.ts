import {
  type AuditEvent,
  ConflictError,
  generateMasterKey,
  IntegrityError,
  InvalidError,
  isUnreadable,
  NotFoundError,
  type SecretManager,
  type SecretRef,
  type StoredRecord,
} from "@envkeep/core";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { errorOf } from "./backend-tests.js";
import type { StoreSuiteContext } from "./context.js";
import type { DefineTest } from "./define.js";
import { fuzzRuns } from "./fuzz-runs.js";

/** The old versions the store keeps for `name` (environment "dev"), as records, newest first. */
async function kept(ctx: StoreSuiteContext, name: string): Promise<StoredRecord[]> {
  const ref = { workspace: ctx.workspace(), environment: "dev", name };
  const entries = await ctx.store().history(ref);
  return entries.map((entry) => {
    if (isUnreadable(entry)) throw new Error(`unreadable history entry of ${name}`);
    return entry;
  });
}

const refOf = (ctx: StoreSuiteContext, name: string): SecretRef => ({
  workspace: ctx.workspace(),
  environment: "dev",
  name,
});

/** Values of one pinned version. */
const valuesAt = (secrets: SecretManager, name: string, version: number) =>
  secrets.resolve([secrets.fromName(name, { version })]);

/**
 * Versions, history and rollback (issue 14): the store keeps old versions with the same
 * atomicity as the writes, bounded by `maxVersions`, sealed so that none passes for another or
 * for the current record; audit events carry names only.
 */
export function defineHistoryTests(ctx: StoreSuiteContext, test: DefineTest): void {
  describe("versions and history", () => {
    test("versions() lists every kept version newest first with what it changed, never a value", async () => {
      const secrets = ctx.manager({ actor: "alice" });
      await secrets.create("db", { HOST: "h1", PASS: "p1" });
      await ctx.manager({ actor: "bob" }).update("db", { PASS: "p2", PORT: "5432" });
      await secrets.update("db", { HOST: null });
      const versions = await secrets.versions("db");
      expect(versions.map((v) => v.version)).toEqual([3, 2, 1]);
      expect(versions.map((v) => v.updatedBy)).toEqual(["alice", "bob", "alice"]);
      expect(versions[0]).toMatchObject({
        keys: ["PASS", "PORT"],
        change: { added: [], changed: [], removed: ["HOST"] },
      });
      expect(versions[1]!.change).toEqual({ added: ["PORT"], changed: ["PASS"], removed: [] });
      expect(versions[2]!.change).toEqual({ added: ["HOST", "PASS"], changed: [], removed: [] });
      const text = JSON.stringify(versions);
      for (const value of ["h1", "p1", "p2", "5432"]) expect(text).not.toContain(`"${value}"`);
      expect(versions[0]!.updatedAt).toBeInstanceOf(Date);
    });

    test("a pinned handle reads its version's values, is read-only, and reports that version", async () => {
      const secrets = ctx.manager();
      await secrets.create("pin", { A: "1" });
      await secrets.update("pin", { A: "2", B: "x" });
      await secrets.update("pin", { A: "3" });
      expect(await valuesAt(secrets, "pin", 1)).toEqual({ A: "1" });
      expect(await valuesAt(secrets, "pin", 2)).toEqual({ A: "2", B: "x" });
      expect(await valuesAt(secrets, "pin", 3)).toEqual({ A: "3", B: "x" });
      const pinned = await secrets.fromName("pin", { version: 2 }).hydrate();
      expect(pinned.pinnedVersion).toBe(2);
      expect((await pinned.info()).version).toBe(2);
      expect(await errorOf(() => pinned.update({ A: "9" }))).toBeInstanceOf(InvalidError);
      expect(await errorOf(() => valuesAt(secrets, "pin", 4))).toBeInstanceOf(NotFoundError);
      expect(await errorOf(() => valuesAt(secrets, "gone", 1))).toBeInstanceOf(NotFoundError);
      expect(() => secrets.fromName("pin", { version: 0 })).toThrow(InvalidError);
      expect(() => secrets.fromName("pin", { version: 1.5 })).toThrow(InvalidError);
      // later secrets win over a pinned one, like any other layer
      const env = await secrets.resolve([
        secrets.fromName("pin", { version: 1 }),
        secrets.fromName("pin"),
      ]);
      expect(env).toEqual({ A: "3", B: "x" });
    });

    test("rollback writes the old contents as the next version, under check-and-set", async () => {
      const secrets = ctx.manager();
      await secrets.create("rb", { A: "1" });
      await secrets.update("rb", { A: "2" });
      await secrets.update("rb", { A: "3", B: "b" });
      expect(await errorOf(() => secrets.rollback("rb", 1, { ifVersion: 2 }))).toBeInstanceOf(
        ConflictError,
      );
      expect(await errorOf(() => secrets.rollback("rb", 7))).toBeInstanceOf(NotFoundError);
      expect(await errorOf(() => secrets.rollback("nope", 1))).toBeInstanceOf(NotFoundError);
      expect(await errorOf(() => secrets.rollback("rb", 0))).toBeInstanceOf(InvalidError);
      expect((await secrets.info("rb")).version).toBe(3); // nothing changed by the failures
      const info = await secrets.rollback("rb", 1, { ifVersion: 3 });
      expect(info.version).toBe(4);
      expect(await secrets.resolve([secrets.fromName("rb")])).toEqual({ A: "1" });
      const [latest] = await secrets.versions("rb");
      expect(latest!.change).toEqual({ added: [], changed: ["A"], removed: ["B"] });
      // to contents it already holds: nothing to write
      expect((await secrets.rollback("rb", 1)).version).toBe(4);
      expect((await secrets.rollback("rb", 4)).version).toBe(4);
      expect(await valuesAt(secrets, "rb", 3)).toEqual({ A: "3", B: "b" });
    });

    test("the bound holds: maxVersions old versions, the oldest dropped by the write that adds one", async () => {
      const secrets = ctx.manager({ maxVersions: 3 });
      await secrets.create("bound", { N: "0" });
      for (let i = 1; i <= 8; i++) await secrets.update("bound", { N: String(i) });
      expect((await kept(ctx, "bound")).map((r) => r.version)).toEqual([8, 7, 6]);
      expect((await secrets.versions("bound")).map((v) => v.version)).toEqual([9, 8, 7, 6]);
      expect((await secrets.versions("bound")).at(-1)!.change).toBeUndefined();
      expect(await errorOf(() => valuesAt(secrets, "bound", 5))).toBeInstanceOf(NotFoundError);
      // a manager that keeps fewer trims on its next write; one that keeps none drops them all
      await ctx.manager({ maxVersions: 1 }).update("bound", { N: "9" });
      expect((await kept(ctx, "bound")).map((r) => r.version)).toEqual([9]);
      await ctx.manager({ maxVersions: 0 }).update("bound", { N: "10" });
      expect(await kept(ctx, "bound")).toEqual([]);
      expect((await secrets.versions("bound")).map((v) => v.version)).toEqual([11]);
      expect(() => ctx.manager({ maxVersions: -1 })).toThrow(InvalidError);
      expect(() => ctx.manager({ maxVersions: 1.5 })).toThrow(InvalidError);
    });

    test("delete removes the history; a new create starts a new secret with none", async () => {
      const secrets = ctx.manager();
      const first = await secrets.create("again", { A: "1" });
      await secrets.update("again", { A: "2" });
      await secrets.delete("again");
      expect(await kept(ctx, "again")).toEqual([]);
      const second = await secrets.create("again", { B: "1" });
      expect(second.secretId).not.toBe(first.secretId);
      expect((await secrets.versions("again")).map((v) => v.version)).toEqual([1]);
      expect(await errorOf(() => secrets.rollback("again", 1, { ifVersion: 2 }))).toBeInstanceOf(
        ConflictError,
      );
    });

    test("create with ifExists overwrite keeps the overwritten version", async () => {
      const secrets = ctx.manager();
      await secrets.create("ow", { A: "1" });
      await secrets.create("ow", { B: "2" }, { ifExists: "overwrite" });
      expect(await valuesAt(secrets, "ow", 1)).toEqual({ A: "1" });
      expect((await secrets.versions("ow"))[0]!.change).toEqual({
        added: ["B"],
        changed: [],
        removed: ["A"],
      });
    });
  });

  describe("history under concurrency", () => {
    test("concurrent updates from four managers leave a gap-free history: versions 1..N, each once", async () => {
      const managers = Array.from({ length: 4 }, () => ctx.manager({ maxVersions: 100 }));
      await managers[0]!.create("gapless", {});
      await Promise.all(
        managers.flatMap((m, host) =>
          Array.from({ length: 10 }, (_, i) => m.update("gapless", { [`H${host}_${i}`]: "1" })),
        ),
      );
      const versions = (await kept(ctx, "gapless")).map((r) => r.version);
      expect(versions).toEqual(Array.from({ length: 40 }, (_, i) => 40 - i));
      // each old version holds exactly one more key than the one before it
      for (const version of [1, 2, 20, 40]) {
        const values = await valuesAt(managers[1]!, "gapless", version);
        expect(Object.keys(values)).toHaveLength(version - 1);
      }
      const listed = await managers[2]!.versions("gapless");
      expect(listed.map((v) => v.version)).toEqual(Array.from({ length: 41 }, (_, i) => 41 - i));
      for (const v of listed.slice(0, -1)) {
        expect(v.change).toMatchObject({ changed: [], removed: [] });
        expect(v.change!.added).toHaveLength(1);
      }
    }, 120_000);

    test("the bound holds under concurrency", async () => {
      const managers = Array.from({ length: 4 }, () => ctx.manager({ maxVersions: 5 }));
      await managers[0]!.create("bounded", {});
      await Promise.all(
        managers.flatMap((m, host) =>
          Array.from({ length: 8 }, (_, i) => m.update("bounded", { [`K${host}_${i}`]: "1" })),
        ),
      );
      expect((await kept(ctx, "bounded")).map((r) => r.version)).toEqual([32, 31, 30, 29, 28]);
    }, 120_000);

    test("concurrent rollbacks with one ifVersion: exactly one wins", async () => {
      const managers = Array.from({ length: 5 }, () => ctx.manager());
      await managers[0]!.create("cas", { A: "1" });
      await managers[0]!.update("cas", { A: "2" });
      await managers[0]!.update("cas", { A: "3" });
      const results = await Promise.allSettled(
        managers.map((m, i) => m.rollback("cas", 1 + (i % 2), { ifVersion: 3 })),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
      }
      expect((await managers[0]!.info("cas")).version).toBe(4);
      expect((await kept(ctx, "cas")).map((r) => r.version)).toEqual([3, 2, 1]);
    });
  });

  describe("old versions are sealed and bound to identity and version", () => {
    const backend = () => ctx.options.backend;

    test("an old version copied over the current record is an IntegrityError, not a silent rollback", async () => {
      const raw = backend();
      if (!raw) return;
      const secrets = ctx.manager();
      await secrets.create("copied", { A: "old" });
      await secrets.update("copied", { A: "new" });
      const [old] = await kept(ctx, "copied");
      await raw.writeText(ctx.store(), refOf(ctx, "copied"), raw.encode({ ...old! }));
      expect(await errorOf(() => secrets.resolve([secrets.fromName("copied")]))).toBeInstanceOf(
        IntegrityError,
      );
      expect(await errorOf(() => secrets.info("copied"))).toBeInstanceOf(IntegrityError);
    });

    test("one version's record put in another's place is an IntegrityError", async () => {
      const raw = backend();
      if (!raw?.readHistoryText || !raw.writeHistoryText) return;
      const secrets = ctx.manager();
      await secrets.create("swapped", { A: "1" });
      await secrets.update("swapped", { A: "2" });
      await secrets.update("swapped", { A: "3" });
      const ref = refOf(ctx, "swapped");
      const v1 = await raw.readHistoryText(ctx.store(), ref, 1);
      const v2 = await raw.readHistoryText(ctx.store(), ref, 2);
      expect(v1 && v2).toBeTruthy();
      await raw.writeHistoryText(ctx.store(), ref, 1, v2!);
      await raw.writeHistoryText(ctx.store(), ref, 2, v1!);
      expect(await errorOf(() => valuesAt(secrets, "swapped", 1))).toBeInstanceOf(IntegrityError);
      expect(await errorOf(() => valuesAt(secrets, "swapped", 2))).toBeInstanceOf(IntegrityError);
      expect(await errorOf(() => secrets.rollback("swapped", 1))).toBeInstanceOf(IntegrityError);
      // the current version is unharmed
      expect(await secrets.resolve([secrets.fromName("swapped")])).toEqual({ A: "3" });
      // relabelled: version 2's record with version 1's number
      const decoded = raw.decode(v2!)!;
      await raw.writeHistoryText(ctx.store(), ref, 1, raw.encode({ ...decoded, version: 1 }));
      expect(await errorOf(() => valuesAt(secrets, "swapped", 1))).toBeInstanceOf(IntegrityError);
    });

    test("the current record put in the history is an IntegrityError; damaged versions leave versions() working", async () => {
      const raw = backend();
      if (!raw?.writeHistoryText) return;
      const secrets = ctx.manager();
      await secrets.create("moved", { A: "1" });
      await secrets.update("moved", { A: "2" });
      await secrets.update("moved", { A: "3" });
      const before = await kept(ctx, "moved");
      const ref = refOf(ctx, "moved");
      const current = await raw.readText(ctx.store(), ref);
      const decoded = raw.decode(current!)!;
      await raw.writeHistoryText(ctx.store(), ref, 2, raw.encode({ ...decoded, version: 2 }));
      expect(await errorOf(() => valuesAt(secrets, "moved", 2))).toBeInstanceOf(IntegrityError);
      await raw.writeHistoryText(ctx.store(), ref, 1, "not a record");
      expect(await errorOf(() => valuesAt(secrets, "moved", 1))).toBeInstanceOf(IntegrityError);
      const damaged: number[] = [];
      const versions = await secrets.versions("moved", {
        onDamaged: (d) => damaged.push(d.version),
      });
      expect(versions.map((v) => v.version)).toEqual([3]);
      expect(damaged.sort()).toEqual([1, 2]);
      // an old version of another secret of the same name (deleted and created again) is refused
      await secrets.delete("moved");
      await secrets.create("moved", { A: "new" });
      await secrets.update("moved", { A: "newer" });
      const stale = before.find((r) => r.version === 1)!;
      await raw.writeHistoryText(ctx.store(), ref, 1, raw.encode({ ...stale }));
      expect(await errorOf(() => valuesAt(secrets, "moved", 1))).toBeInstanceOf(IntegrityError);
    });
  });

  describe("rotation re-wraps old versions", () => {
    test("rotate() re-wraps and reports old versions; afterwards the old key can go", async () => {
      const oldKey = ctx.masterKey;
      const newKey = generateMasterKey();
      const secrets = ctx.manager();
      await secrets.create("rot", { A: "1" });
      await secrets.update("rot", { A: "2" });
      await secrets.update("rot", { A: "3" });
      const rotator = ctx.manager({ masterKey: undefined, keyring: [newKey, oldKey] });
      const status = await rotator.keyStatus();
      expect(status.keys.map((k) => [k.records, k.oldVersions])).toEqual([
        [0, 0],
        [1, 2],
      ]);
      const report = await rotator.rotate();
      expect(report.rewrapped).toBeGreaterThanOrEqual(1);
      expect(report.oldVersions).toEqual({ rewrapped: 2, alreadyCurrent: 0, failed: [] });
      expect((await rotator.keyStatus()).keys.map((k) => [k.records, k.oldVersions])).toEqual([
        [1, 2],
        [0, 0],
      ]);
      const again = await rotator.rotate();
      expect(again.oldVersions).toEqual({ rewrapped: 0, alreadyCurrent: 2, failed: [] });
      const onlyNew = ctx.manager({ masterKey: newKey });
      expect(await valuesAt(onlyNew, "rot", 1)).toEqual({ A: "1" });
      expect(await valuesAt(onlyNew, "rot", 2)).toEqual({ A: "2" });
      expect((await onlyNew.versions("rot")).map((v) => v.version)).toEqual([3, 2, 1]);
    });
  });

  describe("audit trail", () => {
    test("every write and (with auditReads) every read of values is an event with names only", async () => {
      const canary = `CANARY-${Math.random().toString(36).slice(2)}`;
      const events: AuditEvent[] = [];
      const secrets = ctx.manager({
        actor: "ci",
        onAudit: (event) => events.push(event),
        auditReads: true,
      });
      await secrets.create("aud", { TOKEN: canary });
      await secrets.update("aud", { TOKEN: `${canary}2`, X: "1" });
      await secrets.update("aud", { X: "1" }); // changes nothing: no event
      await secrets.rollback("aud", 1, { ifVersion: 2 });
      await secrets.resolve([secrets.fromName("aud"), secrets.fromName("aud", { version: 2 })]);
      await secrets.run({ secrets: [secrets.fromName("aud")] }, () => undefined);
      await secrets.rotate();
      await secrets.delete("aud");
      const summary = events.map((e) => [e.action, e.version]);
      expect(summary).toEqual([
        ["create", 1],
        ["update", 2],
        ["rollback", 3],
        ["read", 3],
        ["read", 2],
        ["read", 3],
        ["delete", 3],
      ]);
      for (const event of events) {
        expect(event).toMatchObject({
          workspace: ctx.workspace(),
          environment: "dev",
          name: "aud",
          actor: "ci",
        });
        expect(event.at).toBeInstanceOf(Date);
      }
      expect(events[1]!.keys).toEqual(["TOKEN", "X"]);
      expect(JSON.stringify(events)).not.toContain(canary);
    });

    test("reads are not reported without auditReads; a throwing listener never undoes a write", async () => {
      const events: string[] = [];
      const quiet = ctx.manager({ onAudit: (e) => events.push(e.action) });
      await quiet.create("aud2", { A: "1" });
      await quiet.resolve([quiet.fromName("aud2")]);
      expect(events).toEqual(["create"]);
      const throwing = ctx.manager({
        onAudit: () => {
          throw new Error("logger down");
        },
      });
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on("warning", onWarning);
      try {
        expect((await throwing.update("aud2", { A: "2" })).version).toBe(2);
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off("warning", onWarning);
      }
      expect(await quiet.resolve([quiet.fromName("aud2")])).toEqual({ A: "2" });
      expect(() => ctx.manager({ onAudit: "log" as never })).toThrow(InvalidError);
    });

    test("key rotation is reported per re-wrapped secret", async () => {
      const events: AuditEvent[] = [];
      await ctx.manager().create("rot-aud", { A: "1" });
      const rotator = ctx.manager({
        masterKey: undefined,
        keyring: [generateMasterKey(), ctx.masterKey],
        actor: "ops",
        onAudit: (e) => events.push(e),
      });
      await rotator.rotate({ environment: "dev" });
      expect(events.map((e) => [e.action, e.name, e.version, e.actor])).toEqual([
        ["rotate", "rot-aud", 1, "ops"],
      ]);
    });
  });

  describe("history model", () => {
    test("random sequences of update, rollback, delete and create agree with a model", async () => {
      const keep = 3;
      type Op =
        | { kind: "create"; value: string }
        | { kind: "update"; key: "A" | "B"; value: string | null }
        | { kind: "rollback"; back: number; cas: boolean }
        | { kind: "delete" };
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ kind: fc.constant("create" as const), value: fc.string({ maxLength: 4 }) }),
        fc.record({
          kind: fc.constant("update" as const),
          key: fc.constantFrom("A" as const, "B" as const),
          value: fc.option(fc.string({ maxLength: 4 }), { nil: null }),
        }),
        fc.record({
          kind: fc.constant("rollback" as const),
          back: fc.integer({ min: 0, max: 6 }),
          cas: fc.boolean(),
        }),
        fc.record({ kind: fc.constant("delete" as const) }),
      );
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 14 }), async (ops) => {
          const name = `model-${++run}`;
          const secrets = ctx.manager({ maxVersions: keep });
          /** version → values, for the live secret; undefined when there is none. */
          let model: Map<number, Record<string, string>> | undefined;
          let current = 0;
          for (const step of ops) {
            if (step.kind === "create") {
              if (model) {
                expect(await errorOf(() => secrets.create(name, { A: step.value }))).toBeDefined();
                continue;
              }
              await secrets.create(name, { A: step.value });
              model = new Map([[1, { A: step.value }]]);
              current = 1;
            } else if (step.kind === "delete") {
              await secrets.delete(name, { allowMissing: true });
              model = undefined;
              current = 0;
            } else if (step.kind === "update") {
              if (!model) {
                expect(await errorOf(() => secrets.update(name, { A: "x" }))).toBeInstanceOf(
                  NotFoundError,
                );
                continue;
              }
              const next = { ...model.get(current)! };
              if (step.value === null) delete next[step.key];
              else next[step.key] = step.value;
              const info = await secrets.update(name, { [step.key]: step.value });
              if (JSON.stringify(sorted(next)) !== JSON.stringify(sorted(model.get(current)!))) {
                current += 1;
                model.set(current, next);
              }
              expect(info.version).toBe(current);
            } else {
              const target = Math.max(current - step.back, 1);
              const call = () =>
                secrets.rollback(name, target, step.cas && model ? { ifVersion: current } : {});
              if (!model) {
                expect(await errorOf(call)).toBeInstanceOf(NotFoundError);
                continue;
              }
              if (target < current - keep) {
                expect(await errorOf(call)).toBeInstanceOf(NotFoundError);
                continue;
              }
              const wanted = model.get(target)!;
              const info = await call();
              if (JSON.stringify(sorted(wanted)) !== JSON.stringify(sorted(model.get(current)!))) {
                current += 1;
                model.set(current, { ...wanted });
              }
              expect(info.version).toBe(current);
            }
            for (const version of [...(model?.keys() ?? [])]) {
              if (version < current - keep) model!.delete(version);
            }
          }
          if (!model) {
            expect(await errorOf(() => secrets.versions(name))).toBeInstanceOf(NotFoundError);
            expect(await kept(ctx, name)).toEqual([]);
            return;
          }
          const versions = await secrets.versions(name);
          expect(versions.map((v) => v.version)).toEqual([...model.keys()].sort((a, b) => b - a));
          for (const [version, values] of model) {
            expect(await valuesAt(secrets, name, version)).toEqual(values);
          }
        }),
        { numRuns: fuzzRuns(15) },
      );
    }, 120_000);
  });
}

function sorted(values: Record<string, string>): [string, string][] {
  return Object.entries(values).sort(([a], [b]) => (a < b ? -1 : 1));
}

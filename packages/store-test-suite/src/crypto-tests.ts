import {
  generateMasterKey,
  IntegrityError,
  InvalidError,
  type SecretManager,
  type StoredRecord,
} from "@envkeep/core";
import { describe, expect } from "vitest";
import type { StoreSuiteContext } from "./context.js";
import type { DefineTest } from "./define.js";

/** Rewrites the stored record of `name` in place (same version), as an attacker with store access could. */
async function tamper(
  ctx: StoreSuiteContext,
  name: string,
  change: (record: StoredRecord) => StoredRecord,
) {
  const record = await ctx.record(name);
  expect(await ctx.store().replace(change(record), record.version)).toBe(true);
}

function flipCharAt(text: string, index: number): string {
  const at = index < 0 ? text.length + index : index;
  const replacement = text[at] === "A" ? "B" : "A";
  return text.slice(0, at) + replacement + text.slice(at + 1);
}

async function expectIntegrityError(secrets: SecretManager, name: string, environment = "dev") {
  const error = await secrets
    .resolve([secrets.fromName(name, { environment })])
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(IntegrityError);
  expect((error as Error).message).toContain(name);
}

/** Encryption at rest, tamper detection, master keys and rotation. */
export function defineCryptoTests(ctx: StoreSuiteContext, test: DefineTest): void {
  describe("encryption at rest", () => {
    test("the store holds a sealed record under the primary key id, fresh for every write", async () => {
      const secrets = ctx.manager();
      await secrets.create("one", { SAME: "same-value" });
      await secrets.create("two", { SAME: "same-value" });
      const one = await ctx.record("one");
      const two = await ctx.record("two");
      expect(one.sealed.split(".")[1]).toBe(secrets.primaryKeyId);
      expect(one.sealed).not.toContain("same-value");
      const [, , wrapOne, , boxOne] = one.sealed.split(".");
      const [, , wrapTwo, , boxTwo] = two.sealed.split(".");
      expect(wrapOne).not.toBe(wrapTwo);
      expect(boxOne).not.toBe(boxTwo);
      await secrets.update("one", { SAME: "other" });
      const updated = await ctx.record("one");
      expect(updated.sealed.split(".")[2]).not.toBe(wrapOne);
      expect(updated.keys).toEqual(["SAME"]);
    });

    test("a flipped bit, a truncation or a malformed record throws IntegrityError for that secret only", async () => {
      const secrets = ctx.manager();
      for (const name of ["healthy", "flip-box", "flip-wrap", "truncated", "garbage", "empty"]) {
        await secrets.create(name, { K: `value-of-${name}` });
      }
      await tamper(ctx, "flip-box", (r) => ({ ...r, sealed: flipCharAt(r.sealed, -5) }));
      await tamper(ctx, "flip-wrap", (r) => {
        const parts = r.sealed.split(".");
        parts[2] = flipCharAt(parts[2]!, 10);
        return { ...r, sealed: parts.join(".") };
      });
      await tamper(ctx, "truncated", (r) => ({ ...r, sealed: r.sealed.slice(0, -12) }));
      await tamper(ctx, "garbage", (r) => ({ ...r, sealed: "not a sealed record" }));
      await tamper(ctx, "empty", (r) => ({ ...r, sealed: "" }));
      for (const name of ["flip-box", "flip-wrap", "truncated", "garbage", "empty"]) {
        await expectIntegrityError(secrets, name);
      }
      expect(await secrets.resolve([secrets.fromName("healthy")])).toEqual({
        K: "value-of-healthy",
      });
      // list authenticates metadata (not contents): damaged metadata is left out and reported.
      const damaged: string[] = [];
      const listed = await secrets.list({ onDamaged: (d) => damaged.push(d.name) });
      expect(listed.map((info) => info.name).sort()).toEqual(["flip-box", "healthy", "truncated"]);
      expect(damaged.sort()).toEqual(["empty", "flip-wrap", "garbage"]);
      // A corrupt record cannot be updated (its contents are unknown) but can be replaced or deleted.
      await expect(secrets.update("garbage", { K: "x" })).rejects.toThrow(IntegrityError);
      await secrets.create("garbage", { K: "fixed" }, { ifExists: "overwrite" });
      expect(await secrets.resolve([secrets.fromName("garbage")])).toEqual({ K: "fixed" });
      await secrets.delete("empty");
    });

    test("a record moved to another name, environment, workspace or id throws IntegrityError", async () => {
      const secrets = ctx.manager();
      const store = ctx.store();
      const ws = ctx.workspace();
      await secrets.create("source", { K: "moved-value" });
      const original = await ctx.record("source");
      await store.create({ ...original, name: "copy" });
      await store.create({ ...original, environment: "prod" });
      await store.create({ ...original, name: "new-id", secretId: "st-AAAAAAAAAAAAAAAAAAAAAA" });
      await store.create({ ...original, workspace: `${ws}-x` });
      await expectIntegrityError(secrets, "copy");
      await expectIntegrityError(secrets, "source", "prod");
      await expectIntegrityError(secrets, "new-id");
      const other = ctx.manager({ workspace: `${ws}-x` });
      await expectIntegrityError(other, "source");
      expect(await secrets.resolve([secrets.fromName("source")])).toEqual({ K: "moved-value" });
    });

    test("key names in the metadata must match the sealed contents", async () => {
      const secrets = ctx.manager();
      await secrets.create("keys", { A: "1", B: "2" });
      await tamper(ctx, "keys", (r) => ({ ...r, keys: ["A"] }));
      await expectIntegrityError(secrets, "keys");
      await tamper(ctx, "keys", (r) => ({ ...r, keys: ["A", "B", "C"] }));
      await expectIntegrityError(secrets, "keys");
    });

    test("a record sealed under a key the manager does not hold throws IntegrityError", async () => {
      await ctx.manager().create("mine", { K: "v" });
      const stranger = ctx.manager({ masterKey: generateMasterKey() });
      await expectIntegrityError(stranger, "mine");
      await expect(stranger.info("mine")).rejects.toThrow(/does not hold/);
      // Its metadata cannot be authenticated either: listed as damaged, not shown.
      const damaged: string[] = [];
      expect(await stranger.list({ onDamaged: (d) => damaged.push(d.name) })).toEqual([]);
      expect(damaged).toEqual(["mine"]);
      await expect(stranger.update("mine", { K: "x" })).rejects.toThrow(IntegrityError);
    });

    test("no master key is a clear error at construction; a malformed one is InvalidError", () => {
      const saved = { one: process.env.ENVKEEP_MASTER_KEY, many: process.env.ENVKEEP_MASTER_KEYS };
      delete process.env.ENVKEEP_MASTER_KEY;
      delete process.env.ENVKEEP_MASTER_KEYS;
      try {
        expect(() => ctx.manager({ masterKey: undefined })).toThrow(/no master key/);
        expect(() => ctx.manager({ masterKey: "ek1_short" })).toThrow(InvalidError);
        expect(() => ctx.manager({ masterKey: new Uint8Array(31) })).toThrow(InvalidError);
        const key = generateMasterKey();
        const typo = key.slice(0, 10) + (key[10] === "a" ? "b" : "a") + key.slice(11);
        expect(() => ctx.manager({ masterKey: typo })).toThrow(/checksum|malformed/);
        process.env.ENVKEEP_MASTER_KEY = ctx.masterKey;
        expect(ctx.manager({ masterKey: undefined }).primaryKeyId).toBe(ctx.manager().primaryKeyId);
      } finally {
        if (saved.one === undefined) delete process.env.ENVKEEP_MASTER_KEY;
        else process.env.ENVKEEP_MASTER_KEY = saved.one;
        if (saved.many === undefined) delete process.env.ENVKEEP_MASTER_KEYS;
        else process.env.ENVKEEP_MASTER_KEYS = saved.many;
      }
    });
  });

  describe("key rotation", () => {
    test("rotate re-wraps every environment under the new key; the old key can then be dropped", async () => {
      const oldKey = ctx.masterKey;
      const newKey = generateMasterKey();
      const before = ctx.manager();
      for (const environment of ["dev", "prod", "qa"]) {
        for (let i = 0; i < 7; i++)
          await before.create(`s${i}`, { V: `${environment}-${i}` }, { environment });
      }
      const rotating = ctx.manager({ masterKey: undefined, keyring: [newKey, oldKey] });
      const progress: [number, number][] = [];
      const report = await rotating.rotate({
        pageSize: 3,
        onProgress: (p) => progress.push([p.done, p.total]),
      });
      expect(report).toMatchObject({ total: 21, rewrapped: 21, alreadyCurrent: 0, failed: [] });
      expect(report.keyId).toBe(rotating.primaryKeyId);
      expect(progress).toHaveLength(21);
      expect(progress.at(-1)).toEqual([21, 21]);
      expect(progress.every(([done, total], i) => done === i + 1 && total === 21)).toBe(true);

      const after = ctx.manager({ masterKey: newKey });
      for (const environment of ["dev", "prod", "qa"]) {
        for (let i = 0; i < 7; i++) {
          const env = await after.resolve([after.fromName(`s${i}`, { environment })]);
          expect(env).toEqual({ V: `${environment}-${i}` });
        }
        expect((await after.info("s0", { environment })).version).toBe(1);
      }
      await expectIntegrityError(ctx.manager({ masterKey: oldKey }), "s0");
      expect(await rotating.rotate()).toMatchObject({
        total: 21,
        rewrapped: 0,
        alreadyCurrent: 21,
      });
    });

    test("rotate of one environment leaves the others; corrupt records are reported, not fatal", async () => {
      const newKey = generateMasterKey();
      const before = ctx.manager();
      await before.create("a", { V: "1" }, { environment: "dev" });
      await before.create("b", { V: "2" }, { environment: "dev" });
      await before.create("c", { V: "3" }, { environment: "prod" });
      await tamper(ctx, "b", (r) => ({ ...r, sealed: flipCharAt(r.sealed, -3) }));
      const rotating = ctx.manager({ masterKey: undefined, keyring: [newKey, ctx.masterKey] });
      const report = await rotating.rotate({ environment: "dev" });
      expect(report.rewrapped).toBe(1);
      expect(report.failed).toEqual([
        expect.objectContaining({ name: "b", environment: "dev", code: "INTEGRITY" }),
      ]);
      const newOnly = ctx.manager({ masterKey: newKey });
      expect(await newOnly.resolve([newOnly.fromName("a")])).toEqual({ V: "1" });
      await expectIntegrityError(newOnly, "c", "prod");
    });

    test("keyStatus counts records per master key: what a rotation still needs", async () => {
      const oldKey = ctx.masterKey;
      const newKey = generateMasterKey();
      const before = ctx.manager();
      await before.create("a", { V: "1" });
      await before.create("b", { V: "2" }, { environment: "prod" });
      await before.tokens.create({ name: "ci", scope: "read" });
      await tamper(ctx, "a", (r) => r); // unchanged: still counted under the old key
      const rotating = ctx.manager({ masterKey: undefined, keyring: [newKey, oldKey] });
      const start = await rotating.keyStatus();
      expect(start.primaryKeyId).toBe(rotating.primaryKeyId);
      expect(start.heldKeyIds).toEqual(rotating.keyIds);
      expect(start.keys).toEqual([
        { keyId: rotating.keyIds[0], records: 0, oldVersions: 0, held: true, primary: true },
        { keyId: rotating.keyIds[1], records: 3, oldVersions: 0, held: true, primary: false },
      ]);
      await rotating.rotate();
      const done = await rotating.keyStatus();
      expect(done.keys.map((k) => [k.records, k.primary])).toEqual([
        [3, true],
        [0, false],
      ]);
      // A manager holding only the old key sees records under a key it does not hold.
      const oldOnly = await ctx.manager().keyStatus();
      expect(oldOnly.keys).toEqual([
        { keyId: oldOnly.primaryKeyId, records: 0, oldVersions: 0, held: true, primary: true },
        { keyId: done.primaryKeyId, records: 3, oldVersions: 0, held: false, primary: false },
      ]);
      expect(oldOnly.unreadable).toBe(0);
    });

    test("rotation running beside concurrent updates loses no update", async () => {
      const newKey = generateMasterKey();
      const writer = ctx.manager();
      for (let i = 0; i < 20; i++) await writer.create(`r${i}`, { START: "1" });
      const rotating = ctx.manager({ masterKey: undefined, keyring: [newKey, ctx.masterKey] });
      // A second manager on the same store stands in for another process: its own lock, same store.
      const otherHost = ctx.manager({ masterKey: undefined, keyring: [ctx.masterKey, newKey] });
      const updates = Array.from({ length: 20 }, (_, i) =>
        otherHost.update(`r${i}`, { [`U${i}`]: "x" }),
      );
      const [report] = await Promise.all([rotating.rotate({ pageSize: 4 }), ...updates]);
      expect(report.failed).toEqual([]);
      // Updates sealed by the other host after the rotation passed them use its primary (old) key;
      // a second pass picks those up: rotation is resumable and idempotent.
      await rotating.rotate();
      const newOnly = ctx.manager({ masterKey: newKey });
      for (let i = 0; i < 20; i++) {
        expect(await newOnly.resolve([newOnly.fromName(`r${i}`)])).toEqual({
          START: "1",
          [`U${i}`]: "x",
        });
      }
    });
  });
}

import { isUnreadable, type StoredEntry, type StoredRecord, StoreError } from "@envkeep/core";
import { describe, expect } from "vitest";
import type { StoreSuiteContext } from "./context.js";
import type { DefineTest } from "./define.js";

/**
 * A syntactically valid record for store-level tests; `sealed` is opaque to stores, so any string
 * will do.
 */
export function sampleRecord(
  workspace: string,
  overrides: Partial<StoredRecord> = {},
): StoredRecord {
  return {
    workspace,
    environment: "dev",
    name: "alpha",
    secretId: "st-AAAAAAAAAAAAAAAAAAAAAA",
    keys: ["A"],
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    version: 1,
    sealed: "v1.opaque",
    ...overrides,
  };
}

/** The names of listed entries, in order. */
const order = (entries: StoredEntry[]) => entries.map((entry) => entry.name);

/** The sealed strings of listed entries, in order (all must be readable records). */
function sealedOf(entries: StoredEntry[]): string[] {
  return entries.map((entry) => {
    if (isUnreadable(entry)) throw new Error(`unreadable entry ${entry.name}`);
    return entry.sealed;
  });
}

/** The SecretStore contract itself, member by member, without the manager on top. */
export function defineContractTests(ctx: StoreSuiteContext, test: DefineTest): void {
  describe("SecretStore contract", () => {
    test("get of a missing record resolves undefined", async () => {
      const ws = ctx.workspace();
      expect(
        await ctx.store().get({ workspace: ws, environment: "dev", name: "nope" }),
      ).toBeUndefined();
    });

    test("create stores once and returns false when the identity exists", async () => {
      const ws = ctx.workspace();
      const store = ctx.store();
      const first = sampleRecord(ws, { createdBy: "ci", updatedBy: "ci" });
      expect(await store.create(first)).toBe(true);
      expect(await store.create(sampleRecord(ws, { sealed: "v1.other", secretId: "st-B" }))).toBe(
        false,
      );
      expect(await store.get(first)).toEqual(first);
    });

    test("records round-trip exactly, optional fields absent when not set", async () => {
      const ws = ctx.workspace();
      const store = ctx.store();
      const plain = sampleRecord(ws, { name: "plain", keys: [], sealed: "x".repeat(10_000) });
      await store.create(plain);
      const read = await store.get(plain);
      expect(read).toEqual(plain);
      expect(read && "createdBy" in read && read.createdBy !== undefined).toBe(false);
    });

    test("replace is a compare-and-set on secretId and version", async () => {
      const ws = ctx.workspace();
      const store = ctx.store();
      const v1 = sampleRecord(ws);
      await store.create(v1);
      const v2 = {
        ...v1,
        version: 2,
        updatedAt: v1.updatedAt + 1,
        sealed: "v1.second",
        keys: ["A", "B"],
      };
      expect(await store.replace(v2, 2)).toBe(false);
      expect(await store.replace({ ...v2, secretId: "st-other" }, 1)).toBe(false);
      expect(await store.get(v1)).toEqual(v1);
      expect(await store.replace(v2, 1)).toBe(true);
      expect(await store.get(v1)).toEqual(v2);
      expect(await store.replace({ ...v2, version: 3 }, 1)).toBe(false);
      expect(await store.replace(sampleRecord(ws, { name: "missing" }), 1)).toBe(false);
      expect(
        await store.get({ workspace: ws, environment: "dev", name: "missing" }),
      ).toBeUndefined();
    });

    test("delete removes the record and its list entry; false when missing", async () => {
      const ws = ctx.workspace();
      const store = ctx.store();
      const one = sampleRecord(ws);
      await store.create(one);
      expect(await store.delete(one)).toBe(true);
      expect(await store.delete(one)).toBe(false);
      expect(await store.get(one)).toBeUndefined();
      expect(await store.list({ workspace: ws, environment: "dev" })).toEqual([]);
      expect(await store.count({ workspace: ws, environment: "dev" })).toBe(0);
      expect(await store.create(one)).toBe(true);
    });

    test("list orders by createdAt then name, descending, with limit and cursor", async () => {
      const ws = ctx.workspace();
      const store = ctx.store();
      const names = ["c", "a", "b", "d", "e"];
      const times = [3, 1, 1, 2, 1];
      for (const [i, name] of names.entries()) {
        await store.create(
          sampleRecord(ws, {
            name,
            createdAt: times[i]!,
            updatedAt: times[i]!,
            secretId: `st-${name}`,
          }),
        );
      }
      const scope = { workspace: ws, environment: "dev" };
      expect(order(await store.list(scope))).toEqual(["c", "d", "e", "b", "a"]);
      expect(order(await store.list(scope, { limit: 2 }))).toEqual(["c", "d"]);
      expect(order(await store.list(scope, { limit: 0 }))).toEqual([]);
      expect(order(await store.list(scope, { before: { createdAt: 2 } }))).toEqual(["e", "b", "a"]);
      expect(order(await store.list(scope, { before: { createdAt: 1, name: "e" } }))).toEqual([
        "b",
        "a",
      ]);
      expect(
        order(await store.list(scope, { before: { createdAt: 1, name: "b" }, limit: 5 })),
      ).toEqual(["a"]);
      expect(order(await store.list(scope, { before: { createdAt: 1 } }))).toEqual([]);
      expect(await store.count(scope)).toBe(5);
    });

    test("scopes are isolated: environments and workspaces never see each other", async () => {
      const ws = ctx.workspace();
      const store = ctx.store();
      await store.create(sampleRecord(ws, { environment: "dev", sealed: "v1.dev" }));
      await store.create(sampleRecord(ws, { environment: "prod", sealed: "v1.prod" }));
      await store.create(
        sampleRecord(`${ws}-other`, { environment: "dev", sealed: "v1.other-ws" }),
      );
      expect(await store.get({ workspace: ws, environment: "prod", name: "alpha" })).toMatchObject({
        sealed: "v1.prod",
      });
      expect(await store.count({ workspace: ws, environment: "dev" })).toBe(1);
      expect(sealedOf(await store.list({ workspace: ws, environment: "dev" }))).toEqual(["v1.dev"]);
      expect((await store.environments(ws)).sort()).toEqual(["dev", "prod"]);
      await store.delete({ workspace: `${ws}-other`, environment: "dev", name: "alpha" });
      expect(await store.count({ workspace: ws, environment: "dev" })).toBe(1);
    });

    test("names with dots, dashes and underscores stay distinct", async () => {
      const ws = ctx.workspace();
      const store = ctx.store();
      const names = ["a.b", "a-b", "a_b", "A.B", "a..b", "-", "."];
      for (const name of names)
        await store.create(sampleRecord(ws, { name, sealed: `v1.${name}` }));
      for (const name of names) {
        expect(await store.get({ workspace: ws, environment: "dev", name })).toMatchObject({
          sealed: `v1.${name}`,
        });
      }
      expect(await store.count({ workspace: ws, environment: "dev" })).toBe(names.length);
    });

    test("close is idempotent, and a closed store refuses calls with StoreError", async () => {
      const ws = ctx.workspace();
      const used = await ctx.options.createStore();
      await used.create(sampleRecord(ws));
      expect(await used.get(sampleRecord(ws))).toMatchObject({ sealed: "v1.opaque" });
      await expect(used.close()).resolves.toBeUndefined();
      await expect(used.close()).resolves.toBeUndefined();
      const error = await used.get(sampleRecord(ws)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      // Through a manager, whatever a closed store rejects with is a StoreError.
      const manager = ctx.manager({ store: used });
      await expect(manager.info("alpha")).rejects.toBeInstanceOf(StoreError);
      const unused = await ctx.options.createStore();
      await expect(unused.close()).resolves.toBeUndefined();
      await expect(unused.close()).resolves.toBeUndefined();
    });
  });
}

import { inspect } from "node:util";
import { InvalidError, type StoredRecord } from "@envkeep/core";
import { countingStore, type StoreSuiteContext } from "@envkeep/store-test-suite";
import { describe, expect, it } from "vitest";
import { type RedisClientLike, type RedisStore, redisStore } from "../../src/index.js";
import { admin as asAdmin, dumpPrefix, keysOf } from "./redis-servers.js";

export interface RedisTestSetup {
  /** A client of the same server/cluster, for looking at raw keys. */
  admin: RedisClientLike;
  /** This run's prefix; stores made here use `${prefix}-x…`. */
  prefix: string;
  /** A store on the same server/cluster under `prefix`. */
  newStore: (prefix: string) => RedisStore;
}

function record(workspace: string, name: string, createdAt: number): StoredRecord {
  return {
    workspace,
    environment: "dev",
    name,
    secretId: `st-${name}`,
    keys: ["A"],
    createdAt,
    updatedAt: createdAt,
    version: 1,
    sealed: `v1.${name}`,
  };
}

/** Keys under `prefix`, from a raw dump. */
async function keysUnder(admin: RedisClientLike, prefix: string): Promise<string[]> {
  return (await dumpPrefix(admin, prefix))
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ")[0]!);
}

/**
 * Checks the store's invariant on the raw data: every index member has its record and metadata
 * entry, and every record and metadata entry has its index member.
 */
export async function expectConsistent(
  admin: RedisClientLike,
  store: RedisStore,
  workspace: string,
  environment = "dev",
): Promise<number> {
  const tag = `${store.prefix}:{${workspace}/${environment}}`;
  const redis = asAdmin(admin);
  const members = await redis.zRange(`${tag}:i`, 0, -1);
  const meta = await redis.hGetAll(`${tag}:m`);
  const records = (await keysOf(admin, `${tag.replace(/[*?[\]\\]/g, "\\$&")}:r:*`)).map((key) =>
    key.slice(`${tag}:r:`.length),
  );
  const indexed = members.map((member) => member.slice(18)).sort();
  expect(Object.keys(meta).sort()).toEqual(indexed);
  expect(records.sort()).toEqual(indexed);
  for (const member of members) {
    expect(JSON.parse(meta[member.slice(18)]!)[2]).toBe(member);
  }
  return members.length;
}

/** The Redis store's own tests, run inside the compliance suite's describe (single and cluster). */
export function defineRedisStoreTests(ctx: StoreSuiteContext, setup: RedisTestSetup): void {
  describe("redis specifics", () => {
    it("keeps every key of one workspace + environment under one hash tag", async () => {
      const store = ctx.store() as RedisStore;
      const secrets = ctx.manager();
      await secrets.create("one", { A: "1" });
      await secrets.create("two", { B: "2" }, { environment: "prod" });
      await secrets.update("one", { C: "3" });
      const keys = await keysUnder(setup.admin, store.prefix);
      const ws = ctx.workspace();
      const dev = keys.filter((key) => key.includes(`{${ws}/dev}`));
      const prod = keys.filter((key) => key.includes(`{${ws}/prod}`));
      expect(dev.sort()).toEqual(
        [
          `${store.prefix}:{${ws}/dev}:i`,
          `${store.prefix}:{${ws}/dev}:m`,
          `${store.prefix}:{${ws}/dev}:r:one`,
          // the old versions of "one", beside its record
          `${store.prefix}:{${ws}/dev}:h:one`,
        ].sort(),
      );
      expect(prod).toHaveLength(3);
      // The only other key: the workspace's environment set.
      expect(keys.filter((key) => !dev.includes(key) && !prod.includes(key))).toEqual([
        `${store.prefix}:e:{${ws}}`,
      ]);
    });

    it("index, metadata and records stay consistent through racing creates, updates and deletes", async () => {
      const store = ctx.store() as RedisStore;
      const managers = Array.from({ length: 4 }, () => ctx.manager());
      const names = Array.from({ length: 20 }, (_, i) => `s${i % 10}`);
      await Promise.allSettled(
        managers.flatMap((m, host) =>
          names.flatMap((name, i) => [
            m.create(name, { H: String(host) }, { ifExists: i % 3 === 0 ? "overwrite" : "skip" }),
            m.update(name, { [`U${host}`]: String(i) }),
            ...(i % 4 === host ? [m.delete(name, { allowMissing: true })] : []),
          ]),
        ),
      );
      const held = await expectConsistent(setup.admin, store, ctx.workspace());
      expect(await store.count({ workspace: ctx.workspace(), environment: "dev" })).toBe(held);
    }, 60_000);

    it("metadata and index entries edited out of step with the record fail fast, never spin", async () => {
      const store = ctx.store() as RedisStore;
      const counting = countingStore(store);
      const secrets = ctx.manager({ store: counting });
      await secrets.create("meta", { A: "1" });
      await secrets.create("stray", { B: "2" });
      const ws = ctx.workspace();
      const tag = `${store.prefix}:{${ws}/dev}`;
      const redis = setup.admin as unknown as {
        hGet(key: string, field: string): Promise<string>;
        hSet(key: string, field: string, value: string): Promise<number>;
        hDel(key: string, field: string): Promise<number>;
        zAdd(key: string, member: { score: number; value: string }): Promise<number>;
      };
      // The compare-and-set entry claims another version than the record holds: before, every
      // write retried for ~25 s; now the first refused compare-and-set is an IntegrityError.
      const [secretId, , member] = JSON.parse(await redis.hGet(`${tag}:m`, "meta"));
      await redis.hSet(`${tag}:m`, "meta", JSON.stringify([secretId, "9", member]));
      counting.calls.clear();
      await expect(secrets.update("meta", { A: "2" })).rejects.toThrow(/out of step/);
      expect(counting.calls.get("replace")).toBe(1);
      expect(await secrets.resolve([secrets.fromName("meta")])).toEqual({ A: "1" });
      // A stray index member (another time, same name) lists the secret once; one with no record
      // behind it is reported, not shown.
      await redis.zAdd(`${tag}:i`, { score: 0, value: `${"9".repeat(17)}:stray` });
      await redis.zAdd(`${tag}:i`, { score: 0, value: `${"9".repeat(16)}0:ghost` });
      const damaged: string[] = [];
      const listed = await secrets.list({ onDamaged: (d) => damaged.push(d.name) });
      expect(listed.map((info) => info.name).sort()).toEqual(["meta", "stray"]);
      expect(damaged.sort()).toEqual(["ghost", "stray"]);
      // The record without its metadata entry can still be deleted (it used to stay forever).
      await redis.hDel(`${tag}:m`, "meta");
      await secrets.delete("meta");
      await expect(secrets.info("meta")).rejects.toThrow(/not found/);
      await secrets.create("meta", { A: "again" });
      expect(await secrets.resolve([secrets.fromName("meta")])).toEqual({ A: "again" });
    });

    it("lists more records than one index page, in order, and pages with the cursor", async () => {
      const store = ctx.store();
      const ws = ctx.workspace();
      const total = 2_345;
      const batch = Array.from({ length: total }, (_, i) =>
        record(ws, `n${String(i).padStart(5, "0")}`, 1_000 + Math.floor(i / 7)),
      );
      for (let i = 0; i < total; i += 200) {
        await Promise.all(batch.slice(i, i + 200).map((r) => store.create(r)));
      }
      const scope = { workspace: ws, environment: "dev" };
      const expected = [...batch]
        .sort((a, b) => b.createdAt - a.createdAt || (a.name < b.name ? 1 : -1))
        .map((r) => r.name);
      const all = await store.list(scope);
      expect(all.map((r) => r.name)).toEqual(expected);
      const paged: string[] = [];
      let before: { createdAt: number; name: string } | undefined;
      for (;;) {
        const page = await store.list(scope, { limit: 333, ...(before ? { before } : {}) });
        paged.push(...page.map((r) => r.name));
        const last = page.at(-1);
        if (page.length < 333 || !last) break;
        before = { createdAt: Number(last.createdAt), name: last.name };
      }
      expect(paged).toEqual(expected);
      expect((await store.list(scope, { limit: 10 })).map((r) => r.name)).toEqual(
        expected.slice(0, 10),
      );
      expect(
        (await store.list(scope, { before: { createdAt: 1_000.5 } })).map((r) => r.name),
      ).toEqual(expected.slice(-7));
    }, 60_000);

    it("keeps scopes apart even for names the manager would reject (/ { } : in them)", async () => {
      const store = ctx.store();
      const ws = ctx.workspace();
      const pairs = [
        [`${ws}/x`, "y"],
        [ws, "x/y"],
        [`${ws}{x}`, "y"],
        [`${ws}%2F`, "x"],
      ] as const;
      for (const [workspace, environment] of pairs) {
        expect(await store.create({ ...record(workspace, "n", 1), environment })).toBe(true);
      }
      for (const [workspace, environment] of pairs) {
        expect(await store.count({ workspace, environment })).toBe(1);
        expect(await store.environments(workspace)).toEqual([environment]);
      }
    });

    it("separates tenants by prefix", async () => {
      const a = setup.newStore(`${setup.prefix}-tenant-a`);
      const b = setup.newStore(`${setup.prefix}-tenant-b`);
      try {
        const ws = ctx.workspace();
        expect(await a.create(record(ws, "same", 1))).toBe(true);
        expect(await b.create(record(ws, "same", 2))).toBe(true);
        expect((await a.get({ workspace: ws, environment: "dev", name: "same" }))?.createdAt).toBe(
          1,
        );
        expect((await b.get({ workspace: ws, environment: "dev", name: "same" }))?.createdAt).toBe(
          2,
        );
        await a.delete({ workspace: ws, environment: "dev", name: "same" });
        expect(await b.count({ workspace: ws, environment: "dev" })).toBe(1);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it("a prefix given with its trailing colon keeps single colons in every key", async () => {
      const withColon = setup.newStore(`${setup.prefix}-colon:`);
      try {
        expect(withColon.prefix).toBe(`${setup.prefix}-colon`);
        const ws = ctx.workspace();
        await withColon.create(record(ws, "x", 1));
        const keys = await keysUnder(setup.admin, `${setup.prefix}-colon`);
        expect(keys.length).toBeGreaterThan(0);
        for (const key of keys) expect(key).not.toContain("::");
      } finally {
        await withColon.close();
      }
    });

    it("close() leaves a caller's client connected", async () => {
      const store = redisStore({ client: setup.admin, prefix: `${setup.prefix}-borrowed` });
      const ws = ctx.workspace();
      expect(await store.create(record(ws, "x", 1))).toBe(true);
      await store.close();
      await store.close();
      expect(setup.admin.isOpen).toBe(true);
      expect(await asAdmin(setup.admin).exists(`${setup.prefix}-borrowed:{${ws}/dev}:r:x`)).toBe(1);
      await expect(store.count({ workspace: ws, environment: "dev" })).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
        store: "redis",
      });
    });

    it("rejects records whose createdAt is not whole milliseconds, storing nothing", async () => {
      const store = ctx.store();
      const ws = ctx.workspace();
      await expect(store.create(record(ws, "frac", 1.5))).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
      });
      expect(await store.count({ workspace: ws, environment: "dev" })).toBe(0);
    });

    it("rejects bad options at once with InvalidError (a bad prefix or URL, url with client)", () => {
      expect(() => redisStore({ prefix: "a{b}" })).toThrow(/prefix/);
      expect(() => redisStore({ prefix: "" })).toThrow(/prefix/);
      expect(() => redisStore({ prefix: ":" })).toThrow(/prefix/);
      expect(() => redisStore({ url: "redis://x", client: setup.admin })).toThrow(/either/);
      expect(() => redisStore({ timeoutMs: 0 })).toThrow(/timeoutMs/);
      for (const url of ["http://x", "redis://:pw-123@host:99999", "not a url"]) {
        let error: unknown;
        try {
          redisStore({ url });
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(InvalidError);
        expect(inspect(error)).not.toContain("pw-123");
      }
    });
  });
}

import {
  AlreadyExistsError,
  ConflictError,
  InvalidError,
  NotFoundError,
  Secret,
  type SecretManager,
} from "@envkeep/core";
import { afterEach, describe, expect, vi } from "vitest";
import type { StoreSuiteContext } from "./context.js";
import type { DefineTest } from "./define.js";

async function valuesOf(manager: SecretManager, name: string, environment?: string) {
  return manager.resolve([manager.fromName(name, environment ? { environment } : {})]);
}

/** Creates secrets with controlled creation times (ms since epoch). */
async function createAt(manager: SecretManager, entries: [name: string, time: number][]) {
  const now = vi.spyOn(Date, "now");
  try {
    for (const [name, time] of entries) {
      now.mockReturnValue(time);
      await manager.create(name, { N: name });
    }
  } finally {
    now.mockRestore();
  }
}

/** Every semantic of semantics.md, through SecretManager, on the store under test. */
export function defineApiTests(ctx: StoreSuiteContext, test: DefineTest): void {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  describe("create and info", () => {
    test("create returns public metadata and stores the values", async () => {
      const secrets = ctx.manager({ actor: "deploy-bot" });
      const before = Date.now();
      const info = await secrets.create("api-keys", { B_KEY: "2", A_KEY: "1" });
      expect(info.secretId).toMatch(/^st-[A-Za-z0-9_-]{22}$/);
      expect(info).toMatchObject({
        name: "api-keys",
        environment: "dev",
        workspace: ctx.workspace(),
        keys: ["A_KEY", "B_KEY"],
        version: 1,
        createdBy: "deploy-bot",
        updatedBy: "deploy-bot",
      });
      expect(info.createdAt).toBeInstanceOf(Date);
      expect(info.createdAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(info.updatedAt.getTime()).toBe(info.createdAt.getTime());
      expect(await secrets.info("api-keys")).toEqual(info);
      expect(await valuesOf(secrets, "api-keys")).toEqual({ A_KEY: "1", B_KEY: "2" });
    });

    test("values round-trip exactly: empty, unicode, newlines, maximum length, __proto__ key", async () => {
      const secrets = ctx.manager();
      // JSON.parse makes "__proto__" an ordinary own key, as it would arrive from a file or a request.
      const withProto = JSON.parse(
        JSON.stringify({
          EMPTY: "",
          UNICODE: "päss wörd ✓ 密码 🔑",
          MULTILINE: "-----BEGIN KEY-----\nabc\r\ndef\n-----END KEY-----\n",
          LONG: "x".repeat(32_768),
          QUOTES: `'"\`$HOME \${X} \\n`,
        }).replace(/^\{/, '{"__proto__":"not a prototype",'),
      ) as Record<string, string>;
      await secrets.create("odd-values", withProto);
      const read = await valuesOf(secrets, "odd-values");
      expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
      expect(Object.hasOwn(read, "__proto__")).toBe(true);
      expect(Object.entries(read).sort()).toEqual(Object.entries(withProto).sort());
    });

    test("an empty secret is allowed through the API", async () => {
      const secrets = ctx.manager();
      const info = await secrets.create("empty", {});
      expect(info.keys).toEqual([]);
      expect(await valuesOf(secrets, "empty")).toEqual({});
    });

    test('ifExists "fail" (default) throws AlreadyExistsError and keeps the stored values', async () => {
      const secrets = ctx.manager();
      await secrets.create("dup", { A: "1" });
      await expect(secrets.create("dup", { A: "2" })).rejects.toBeInstanceOf(AlreadyExistsError);
      await expect(secrets.create("dup", { A: "2" }, { ifExists: "fail" })).rejects.toMatchObject({
        code: "ALREADY_EXISTS",
      });
      expect(await valuesOf(secrets, "dup")).toEqual({ A: "1" });
      expect((await secrets.info("dup")).version).toBe(1);
    });

    test('ifExists "skip" and allowExisting keep the stored values and return the existing info', async () => {
      const secrets = ctx.manager();
      const original = await secrets.create("keep", { A: "1" });
      expect(await secrets.create("keep", { A: "2", B: "3" }, { ifExists: "skip" })).toEqual(
        original,
      );
      expect(await secrets.create("keep", { A: "2" }, { allowExisting: true })).toEqual(original);
      expect(await valuesOf(secrets, "keep")).toEqual({ A: "1" });
      const created = await secrets.create("fresh", { A: "1" }, { ifExists: "skip" });
      expect(created.version).toBe(1);
    });

    test('ifExists "overwrite" replaces the contents, keeps secretId and createdAt, bumps version', async () => {
      const secrets = ctx.manager();
      const original = await secrets.create("over", { A: "1", B: "2" });
      const replaced = await secrets.create("over", { C: "3" }, { ifExists: "overwrite" });
      expect(replaced.secretId).toBe(original.secretId);
      expect(replaced.createdAt).toEqual(original.createdAt);
      expect(replaced.version).toBe(2);
      expect(replaced.keys).toEqual(["C"]);
      expect(await valuesOf(secrets, "over")).toEqual({ C: "3" });
      const created = await secrets.create("brand-new", { A: "1" }, { ifExists: "overwrite" });
      expect(created.version).toBe(1);
    });

    test("info of a missing secret throws NotFoundError naming it", async () => {
      const secrets = ctx.manager();
      await expect(secrets.info("ghost")).rejects.toThrow(NotFoundError);
      await expect(secrets.info("ghost")).rejects.toThrow(/ghost/);
    });
  });

  describe("names, keys, values and limits", () => {
    test("invalid secret names throw InvalidError naming them; nothing is stored", async () => {
      const secrets = ctx.manager();
      const bad = ["", "has space", "slash/name", "x".repeat(65), `ap-${"a".repeat(22)}`, "ü"];
      for (const name of bad) {
        const error = await secrets.create(name, { A: "1" }).catch((e: unknown) => e);
        expect(error, name).toBeInstanceOf(InvalidError);
        expect((error as Error).message).toContain("secret name");
      }
      for (const name of ["a", "A.b-c_d", "x".repeat(64), `ap-${"a".repeat(21)}`]) {
        await secrets.create(name, { A: "1" });
      }
      expect(await secrets.list()).toHaveLength(4);
    });

    test("invalid environment and workspace names throw InvalidError", async () => {
      const secrets = ctx.manager();
      for (const environment of ["", "-dev", "en-prod", "EN-x", "a b", "x".repeat(65)]) {
        await expect(secrets.create("s", { A: "1" }, { environment }), environment).rejects.toThrow(
          InvalidError,
        );
        await expect(secrets.list({ environment }), environment).rejects.toThrow(InvalidError);
      }
      expect(() => ctx.manager({ workspace: "bad workspace" })).toThrow(InvalidError);
      expect(() => ctx.manager({ environment: "en-x" })).toThrow(InvalidError);
      await secrets.create("s", { A: "1" }, { environment: "p" });
      expect(await secrets.list({ environment: "dev" })).toEqual([]);
    });

    test("invalid keys throw InvalidError naming the key, never the value", async () => {
      const secrets = ctx.manager();
      for (const key of ["1ABC", "A-B", "A B", "", "É", "K".repeat(16_385)]) {
        const error = (await secrets
          .create("k", { [key]: "VALUE-NOT-SHOWN" })
          .catch((e: unknown) => e)) as Error;
        expect(error, key).toBeInstanceOf(InvalidError);
        expect(error.message).toContain(JSON.stringify(key.slice(0, 20)).slice(0, -1));
        expect(error.message).not.toContain("VALUE-NOT-SHOWN");
      }
      await secrets.create("k", { _ok: "1", A1_B2: "2", ["K".repeat(16_384)]: "3" });
      expect((await secrets.info("k")).keys).toHaveLength(3);
    });

    test("invalid values throw InvalidError naming the key, never the value", async () => {
      const secrets = ctx.manager();
      const cases: Record<string, unknown>[] = [
        { NUM: 1 },
        { OBJ: { nested: "x" } },
        { NUL: null },
        { LONG: "V".repeat(32_769) },
      ];
      for (const entries of cases) {
        const error = (await secrets
          .create("v", entries as Record<string, string>)
          .catch((e: unknown) => e)) as Error;
        expect(error).toBeInstanceOf(InvalidError);
        expect(error.message).toContain(Object.keys(entries)[0]);
        expect(error.message).not.toContain("VVVV");
      }
      for (const entries of [null, "A=1", ["A"], new Map([["A", "1"]])]) {
        await expect(secrets.create("v", entries as never)).rejects.toThrow(InvalidError);
      }
      await expect(secrets.info("v")).rejects.toThrow(NotFoundError);
    });

    test("per-secret limits: 1,000 keys and 1 MiB by default, configurable", async () => {
      const secrets = ctx.manager();
      const keys = (n: number) =>
        Object.fromEntries(Array.from({ length: n }, (_, i) => [`K${i}`, "v"]));
      await secrets.create("max-keys", keys(1_000));
      await expect(secrets.create("too-many", keys(1_001))).rejects.toThrow(/1001 keys/);
      const big = Object.fromEntries(
        Array.from({ length: 33 }, (_, i) => [`K${i}`, "x".repeat(32_000)]),
      );
      await expect(secrets.create("too-big", big)).rejects.toThrow(InvalidError);
      const small = ctx.manager({ limits: { maxKeys: 2, maxBytes: 20 } });
      await expect(small.create("three", { A: "1", B: "2", C: "3" })).rejects.toThrow(InvalidError);
      await expect(small.create("bytes", { A: "x".repeat(20) })).rejects.toThrow(/bytes/);
      await small.create("ok", { A: "1", B: "2" });
      await expect(small.update("ok", { C: "3" })).rejects.toThrow(InvalidError);
      expect(await valuesOf(small, "ok")).toEqual({ A: "1", B: "2" });
      expect((await secrets.list()).map((s) => s.name).sort()).toEqual(["max-keys", "ok"]);
    });
  });

  describe("environments and workspaces", () => {
    test("the same name in two environments holds different contents, each invisible to the other", async () => {
      const secrets = ctx.manager();
      await secrets.create("db", { URL: "dev-url" }, { environment: "dev" });
      await secrets.create("db", { URL: "prod-url" }, { environment: "prod" });
      expect(await valuesOf(secrets, "db", "dev")).toEqual({ URL: "dev-url" });
      expect(await valuesOf(secrets, "db", "prod")).toEqual({ URL: "prod-url" });
      await secrets.delete("db", { environment: "prod" });
      expect(await valuesOf(secrets, "db", "dev")).toEqual({ URL: "dev-url" });
      expect(await secrets.list({ environment: "prod" })).toEqual([]);
    });

    test("environment precedence: call option, manager option, ENVKEEP_ENVIRONMENT, then main", async () => {
      const withDefault = ctx.manager({ environment: "staging" });
      await withDefault.create("where", { A: "1" });
      expect((await withDefault.info("where")).environment).toBe("staging");
      await withDefault.create("where", { A: "1" }, { environment: "qa" });
      expect((await withDefault.info("where", { environment: "qa" })).environment).toBe("qa");

      vi.stubEnv("ENVKEEP_ENVIRONMENT", "from-env");
      const fromEnv = ctx.manager({ environment: undefined });
      await fromEnv.create("where", { A: "1" });
      expect((await fromEnv.info("where")).environment).toBe("from-env");
      expect(fromEnv.fromName("where").environment).toBe("from-env");

      vi.stubEnv("ENVKEEP_ENVIRONMENT", "");
      const fallback = ctx.manager({ environment: undefined });
      await fallback.create("where", { A: "1" });
      expect((await fallback.info("where")).environment).toBe("main");
      expect((await fallback.list()).map((s) => s.environment)).toEqual(["main"]);
    });

    test("two workspaces on one store never see each other's secrets", async () => {
      const a = ctx.manager({ workspace: `${ctx.workspace()}-a` });
      const b = ctx.manager({ workspace: `${ctx.workspace()}-b` });
      await a.create("shared-name", { WHO: "a" });
      await b.create("shared-name", { WHO: "b" });
      expect(await valuesOf(a, "shared-name")).toEqual({ WHO: "a" });
      expect(await valuesOf(b, "shared-name")).toEqual({ WHO: "b" });
      await a.delete("shared-name");
      expect((await b.list()).map((s) => s.name)).toEqual(["shared-name"]);
    });
  });

  describe("list", () => {
    test("newest first by createdAt, ties broken by name", async () => {
      const secrets = ctx.manager();
      await createAt(secrets, [
        ["old", 1_000],
        ["tie-a", 2_000],
        ["tie-c", 2_000],
        ["tie-b", 2_000],
        ["new", 3_000],
      ]);
      expect((await secrets.list()).map((s) => s.name)).toEqual([
        "new",
        "tie-c",
        "tie-b",
        "tie-a",
        "old",
      ]);
    });

    test("maxObjects limits, 0 returns [], a negative or fractional one is InvalidError", async () => {
      const secrets = ctx.manager();
      await createAt(secrets, [
        ["a", 1],
        ["b", 2],
        ["c", 3],
      ]);
      expect((await secrets.list({ maxObjects: 2 })).map((s) => s.name)).toEqual(["c", "b"]);
      expect(await secrets.list({ maxObjects: 0 })).toEqual([]);
      expect(await secrets.list({ maxObjects: 10 })).toHaveLength(3);
      await expect(secrets.list({ maxObjects: -1 })).rejects.toThrow(InvalidError);
      await expect(secrets.list({ maxObjects: 1.5 })).rejects.toThrow(InvalidError);
    });

    test("createdBefore takes a Date or an ISO string and is exclusive", async () => {
      const secrets = ctx.manager();
      const t = (iso: string) => Date.parse(iso);
      await createAt(secrets, [
        ["y2024", t("2024-06-01T00:00:00Z")],
        ["y2025", t("2025-01-01T00:00:00Z")],
        ["y2026", t("2026-03-01T12:00:00Z")],
      ]);
      const names = async (createdBefore: Date | string, maxObjects?: number) =>
        (await secrets.list({ createdBefore, ...(maxObjects ? { maxObjects } : {}) })).map(
          (s) => s.name,
        );
      expect(await names("2025-01-01")).toEqual(["y2024"]);
      expect(await names("2025-01-01T00:00:00.001Z")).toEqual(["y2025", "y2024"]);
      expect(await names(new Date("2026-03-01T12:00:00Z"))).toEqual(["y2025", "y2024"]);
      expect(await names("2030-01-01T00:00:00+02:00", 1)).toEqual(["y2026"]);
      for (const bad of ["yesterday", "2025-13-01", "", 12 as never]) {
        await expect(secrets.list({ createdBefore: bad }), String(bad)).rejects.toThrow(
          InvalidError,
        );
      }
      await expect(secrets.list({ createdBefore: new Date("nope") })).rejects.toThrow(InvalidError);
    });

    test("listPage pages with a cursor: every secret once, in order, ties in one millisecond included", async () => {
      const secrets = ctx.manager();
      const entries: [string, number][] = ["a", "b", "c", "d", "e", "f", "g"].map((name, i) => [
        name,
        i < 5 ? 5_000 : 6_000 + i,
      ]);
      await createAt(secrets, entries);
      const expected = ["g", "f", "e", "d", "c", "b", "a"];
      const seen: string[] = [];
      let page = await secrets.listPage({ maxObjects: 3 });
      seen.push(...page.secrets.map((s) => s.name));
      while (page.nextCursor) {
        page = await secrets.listPage({ maxObjects: 3, cursor: page.nextCursor });
        seen.push(...page.secrets.map((s) => s.name));
      }
      expect(seen).toEqual(expected);
      // A full last page has no cursor when nothing follows it.
      expect((await secrets.listPage({ maxObjects: 7 })).nextCursor).toBeUndefined();
      expect((await secrets.listPage({ maxObjects: 6 })).nextCursor).toBeDefined();
      // A cursor and createdBefore together: the list starts after the later of the two.
      const afterB = (await secrets.listPage({ maxObjects: 5 })).nextCursor!;
      const names = async (options: Parameters<typeof secrets.listPage>[0]) =>
        (await secrets.listPage(options)).secrets.map((s) => s.name);
      expect(await names({ cursor: afterB, createdBefore: new Date(9_000) })).toEqual(["b", "a"]);
      expect(await names({ cursor: afterB, createdBefore: new Date(5_000) })).toEqual([]);
      for (const bad of ["", "c1.", "c1.bm9wZQ", "x".repeat(400), 5 as never]) {
        await expect(secrets.listPage({ cursor: bad }), String(bad)).rejects.toThrow(
          /invalid cursor/,
        );
      }
    });

    test("list returns metadata only, never values", async () => {
      const secrets = ctx.manager();
      await secrets.create("meta", { TOKEN: "list-must-not-show-this" });
      const [info] = await secrets.list();
      expect(Object.keys(info!).sort()).toEqual(
        [
          "createdAt",
          "environment",
          "keys",
          "name",
          "secretId",
          "updatedAt",
          "version",
          "workspace",
        ].sort(),
      );
      expect(JSON.stringify(await secrets.list())).not.toContain("list-must-not-show-this");
    });
  });

  describe("delete", () => {
    test("delete removes; a missing secret throws NotFoundError unless allowMissing", async () => {
      const secrets = ctx.manager();
      await secrets.create("gone", { A: "1" });
      await secrets.delete("gone");
      await expect(secrets.info("gone")).rejects.toThrow(NotFoundError);
      await expect(secrets.delete("gone")).rejects.toThrow(NotFoundError);
      await secrets.delete("gone", { allowMissing: true });
      expect(await secrets.list()).toEqual([]);
    });

    test("delete then create gives a new secretId and version 1", async () => {
      const secrets = ctx.manager();
      const first = await secrets.create("again", { A: "1" });
      await secrets.update("again", { A: "2" });
      await secrets.delete("again");
      const second = await secrets.create("again", { B: "1" });
      expect(second.secretId).not.toBe(first.secretId);
      expect(second.version).toBe(1);
      expect(await valuesOf(secrets, "again")).toEqual({ B: "1" });
    });
  });

  describe("update", () => {
    test("merges like dict.update: strings set, null removes, undefined is ignored", async () => {
      const secrets = ctx.manager({ actor: "alice" });
      await secrets.create("merge", { KEEP: "k", CHANGE: "old", DROP: "d" });
      const updater = ctx.manager({ actor: "bob" });
      const info = await updater.update("merge", {
        CHANGE: "new",
        DROP: null,
        ADD: "a",
        SKIP: undefined,
      });
      expect(info.version).toBe(2);
      expect(info.keys).toEqual(["ADD", "CHANGE", "KEEP"]);
      expect(info.createdBy).toBe("alice");
      expect(info.updatedBy).toBe("bob");
      expect(info.updatedAt.getTime()).toBeGreaterThanOrEqual(info.createdAt.getTime());
      expect(await valuesOf(secrets, "merge")).toEqual({ KEEP: "k", CHANGE: "new", ADD: "a" });
    });

    test("an update that changes nothing keeps the version", async () => {
      const secrets = ctx.manager();
      await secrets.create("same", { A: "1" });
      expect((await secrets.update("same", { A: "1" })).version).toBe(1);
      expect((await secrets.update("same", { MISSING: null })).version).toBe(1);
      expect((await secrets.update("same", {})).version).toBe(1);
      expect((await secrets.update("same", { A: "2" })).version).toBe(2);
    });

    test("ifVersion is a check-and-set: a stale version throws ConflictError and changes nothing", async () => {
      const secrets = ctx.manager();
      await secrets.create("cas", { A: "1" });
      expect((await secrets.update("cas", { A: "2" }, { ifVersion: 1 })).version).toBe(2);
      const error = await secrets
        .update("cas", { A: "3" }, { ifVersion: 1 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as Error).message).toMatch(/version 2/);
      expect(await valuesOf(secrets, "cas")).toEqual({ A: "2" });
      await expect(secrets.update("cas", { A: "3" }, { ifVersion: 0 })).rejects.toThrow(
        InvalidError,
      );
    });

    test("updating a missing secret throws NotFoundError; bad changes throw InvalidError and change nothing", async () => {
      const secrets = ctx.manager();
      await expect(secrets.update("nobody", { A: "1" })).rejects.toThrow(NotFoundError);
      await secrets.create("guarded", { A: "1" });
      for (const changes of [
        { "BAD-KEY": "x" },
        { A: 5 },
        { A: "v".repeat(32_769) },
        null,
        ["A"],
      ]) {
        await expect(secrets.update("guarded", changes as never)).rejects.toThrow(InvalidError);
      }
      expect(await valuesOf(secrets, "guarded")).toEqual({ A: "1" });
      expect((await secrets.info("guarded")).version).toBe(1);
    });
  });

  describe("fromName handles", () => {
    test("fromName is lazy: nothing is read until hydration", async () => {
      const secrets = ctx.manager();
      const handle = secrets.fromName("later", { requiredKeys: ["TOKEN"] });
      expect(handle.isHydrated).toBe(false);
      expect(() => handle.secretId).toThrow(InvalidError);
      expect(handle.name).toBe("later");
      expect(handle.environment).toBe("dev");
      const info = await secrets.create("later", { TOKEN: "t" });
      await handle.hydrate();
      expect(handle.secretId).toBe(info.secretId);
      expect(handle.keys).toEqual(["TOKEN"]);
    });

    test("hydrating a missing secret, or one without its required keys, throws NotFoundError naming them", async () => {
      const secrets = ctx.manager();
      await expect(secrets.fromName("missing").hydrate()).rejects.toThrow(NotFoundError);
      await secrets.create("partial", { A: "1" });
      const error = (await secrets
        .fromName("partial", { requiredKeys: ["A", "B", "C"] })
        .hydrate()
        .catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error.message).toContain("B, C");
      await expect(
        secrets.resolve([secrets.fromName("partial", { requiredKeys: ["B"] })]),
      ).rejects.toThrow(NotFoundError);
      expect(() => secrets.fromName("bad name")).toThrow(InvalidError);
      expect(() => secrets.fromName("ok", { requiredKeys: ["bad-key"] })).toThrow(InvalidError);
    });

    test("a handle's info() and update() act on its secret", async () => {
      const secrets = ctx.manager();
      await secrets.create("handle", { A: "1" }, { environment: "qa" });
      const handle = secrets.fromName("handle", { environment: "qa" });
      expect((await handle.info()).version).toBe(1);
      const info = await handle.update({ B: "2" }, { ifVersion: 1 });
      expect(info.keys).toEqual(["A", "B"]);
      await expect(handle.update({ C: "3" }, { ifVersion: 1 })).rejects.toThrow(ConflictError);
      expect(await valuesOf(secrets, "handle", "qa")).toEqual({ A: "1", B: "2" });
      await expect(Secret.fromObject({ A: "1" }).update({ A: "2" })).rejects.toThrow(InvalidError);
    });

    test("resolve reads current contents each time", async () => {
      const secrets = ctx.manager();
      await secrets.create("live", { V: "1" });
      const handle = secrets.fromName("live");
      expect(await secrets.resolve([handle])).toEqual({ V: "1" });
      await secrets.update("live", { V: "2" });
      expect(await secrets.resolve([handle])).toEqual({ V: "2" });
    });
  });

  describe("resolve", () => {
    test("secrets apply in order, the later one wins, env is applied last", async () => {
      const secrets = ctx.manager();
      await secrets.create("base", { A: "base", B: "base", C: "base" });
      await secrets.create("override", { B: "override", C: "override" });
      const env = await secrets.resolve(
        [
          secrets.fromName("base"),
          secrets.fromName("override"),
          Secret.fromObject({ C: "ephemeral", D: "eph" }),
        ],
        { env: { D: "env", E: "env" } },
      );
      expect(env).toEqual({ A: "base", B: "override", C: "ephemeral", D: "env", E: "env" });
      expect(await secrets.resolve([])).toEqual({});
      await expect(secrets.resolve([{} as Secret])).rejects.toThrow(InvalidError);
      await expect(secrets.resolve([], { env: { "BAD KEY": "x" } })).rejects.toThrow(InvalidError);
    });
  });
}

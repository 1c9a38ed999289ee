import { memoryStore } from "@envkeep/store-memory";
import { describe, expect, it } from "vitest";
import {
  generateMasterKey,
  InvalidError,
  Secret,
  SecretManager,
  type SecretManagerOptions,
} from "../src/index.js";

const masterKey = generateMasterKey();
const manager = (options: Partial<SecretManagerOptions> = {}) =>
  new SecretManager({ store: memoryStore(), masterKey, environment: "dev", ...options });

/** Input parsed from JSON: `__proto__` is an own key, as from a file or a request body. */
const fromJson = <T>(text: string) => JSON.parse(text) as Record<string, T>;

describe("options are checked before anything is stored", () => {
  it("limits: each a positive safe integer (NaN no longer turns a limit off)", () => {
    for (const bad of [Number.NaN, 0, -1, 1.5, "3", Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => manager({ limits: { maxKeys: bad as number } }), String(bad)).toThrow(
        /limits.maxKeys/,
      );
      expect(() => manager({ limits: { maxBytes: bad as number } }), String(bad)).toThrow(
        /limits.maxBytes/,
      );
    }
    expect(() => manager({ limits: "big" as never })).toThrow(InvalidError);
    expect(() => manager({ limits: { maxKeys: 2, maxBytes: 10 } })).not.toThrow();
  });

  it("keyring, masterKey and actor of the wrong type are InvalidErrors, not TypeErrors", () => {
    const noKey = { masterKey: undefined };
    expect(() => manager({ ...noKey, keyring: masterKey as never })).toThrow(/invalid keyring/);
    expect(() => manager({ ...noKey, keyring: [] })).toThrow(InvalidError);
    expect(() => manager({ ...noKey, keyring: [42 as never] })).toThrow(InvalidError);
    expect(() => manager({ masterKey: {} as never })).toThrow(InvalidError);
    for (const actor of ["", "x".repeat(257), 5 as never]) {
      expect(() => manager({ actor }), String(actor).slice(0, 10)).toThrow(/invalid actor/);
    }
  });

  it("maxObjects must be a non-negative safe integer; it never reaches the store as given", async () => {
    const secrets = manager();
    await secrets.create("a", { A: "1" });
    for (const bad of [1e20, 2 ** 53, -1, 1.5, Number.NaN, "3"]) {
      await expect(secrets.list({ maxObjects: bad as number }), String(bad)).rejects.toThrow(
        /invalid maxObjects/,
      );
    }
    expect(await secrets.list({ maxObjects: Number.MAX_SAFE_INTEGER })).toHaveLength(1);
  });

  it("an options argument that is not an object is an InvalidError for every call", async () => {
    const secrets = manager();
    await secrets.create("a", { A: "1" });
    for (const bad of [null, "dev", 5, []] as never[]) {
      await expect(secrets.create("b", { A: "1" }, bad)).rejects.toThrow(InvalidError);
      await expect(secrets.update("a", { A: "2" }, bad)).rejects.toThrow(InvalidError);
      await expect(secrets.delete("a", bad)).rejects.toThrow(InvalidError);
      await expect(secrets.info("a", bad)).rejects.toThrow(InvalidError);
      await expect(secrets.list(bad)).rejects.toThrow(InvalidError);
      await expect(secrets.rotate(bad)).rejects.toThrow(InvalidError);
      await expect(secrets.resolve([], bad)).rejects.toThrow(InvalidError);
      expect(() => secrets.fromName("a", bad)).toThrow(InvalidError);
    }
    await expect(secrets.list({ onDamaged: "log" as never })).rejects.toThrow(/onDamaged/);
    expect(await secrets.resolve([secrets.fromName("a")])).toEqual({ A: "1" });
    await expect(secrets.info("b")).rejects.toThrow(/not found/);
  });
});

describe("entries are user data, read once", () => {
  it("a getter is read once: what was checked is what is stored, and it reads back", async () => {
    const secrets = manager();
    let reads = 0;
    const shifty = {};
    Object.defineProperty(shifty, "TOKEN", {
      enumerable: true,
      get: () => (++reads === 1 ? "first" : 42),
    });
    await secrets.create("shifty", shifty as Record<string, string>);
    expect(reads).toBe(1);
    expect(await secrets.resolve([secrets.fromName("shifty")])).toEqual({ TOKEN: "first" });
    reads = 0;
    await secrets.update("shifty", shifty as Record<string, string>);
    expect(reads).toBe(1);
    reads = 0;
    expect(await secrets.resolve([Secret.fromObject(shifty as Record<string, string>)])).toEqual({
      TOKEN: "first",
    });
  });

  it("an object whose entries cannot be read is an InvalidError", async () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("no keys for you");
        },
      },
    );
    await expect(manager().create("p", hostile)).rejects.toThrow(/cannot be read/);
  });

  it("__proto__, constructor and toString are ordinary keys: created, updated, removed", async () => {
    const secrets = manager();
    await secrets.create(
      "js-names",
      fromJson('{"__proto__": "p1", "constructor": "c1", "toString": "t1", "A": "a"}'),
    );
    const read = async () => secrets.resolve([secrets.fromName("js-names")]);
    expect(Object.entries(await read()).sort()).toEqual(
      Object.entries({
        A: "a",
        ...fromJson('{"__proto__": "p1"}'),
        constructor: "c1",
        toString: "t1",
      }).sort(),
    );
    await secrets.update("js-names", fromJson('{"__proto__": "p2", "toString": null}'));
    const updated = await read();
    expect(Object.hasOwn(updated, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(updated, "__proto__")?.value).toBe("p2");
    expect(Object.hasOwn(updated, "toString")).toBe(false);
    expect(Object.getPrototypeOf(updated)).toBe(Object.prototype);
    await secrets.update("js-names", fromJson('{"__proto__": null, "constructor": null}'));
    expect(await read()).toEqual({ A: "a" });
    expect((await secrets.info("js-names")).keys).toEqual(["A"]);
  });
});

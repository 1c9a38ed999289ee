import { inspect } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { generateMasterKey } from "../src/crypto/master-key.js";
import { InvalidError } from "../src/errors.js";
import { SecretManager } from "../src/manager.js";
import { Secret } from "../src/secret.js";
import type { SecretStore } from "../src/store.js";

const unusedStore = { name: "unused" } as SecretStore;
const secrets = new SecretManager({ store: unusedStore, masterKey: generateMasterKey() });
const load = (secret: Secret) => secrets.resolve([secret]);

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("ephemeral secrets", () => {
  it("fromObject requires string values (JS SDK semantics)", async () => {
    expect(await load(Secret.fromObject({ A: "1", B: "" }))).toEqual({ A: "1", B: "" });
    for (const bad of [{ A: 1 }, { A: null }, { A: undefined }, { A: ["x"] }]) {
      expect(() => Secret.fromObject(bad as never)).toThrow(InvalidError);
    }
    expect(() => Secret.fromObject({ "not valid": "x" })).toThrow(/not valid/);
    expect(() => Secret.fromObject("A=1" as never)).toThrow(InvalidError);
  });

  it("fromDict drops null and undefined (Python SDK semantics)", async () => {
    expect(await load(Secret.fromDict({ A: "1", B: null, C: undefined }))).toEqual({ A: "1" });
    expect(await load(Secret.fromDict())).toEqual({});
    expect(() => Secret.fromDict({ A: 1 as never })).toThrow(InvalidError);
  });

  it("fromObject copies its input: later changes to the object do not leak in", async () => {
    const source = { A: "1" };
    const secret = Secret.fromObject(source);
    source.A = "changed";
    expect(await load(secret)).toEqual({ A: "1" });
  });

  it("fromLocalEnviron copies the named variables now; a missing one is InvalidError naming it", async () => {
    vi.stubEnv("ENVKEEP_T_ONE", "one");
    vi.stubEnv("ENVKEEP_T_TWO", "two");
    const secret = Secret.fromLocalEnviron(["ENVKEEP_T_ONE", "ENVKEEP_T_TWO"]);
    vi.stubEnv("ENVKEEP_T_ONE", "later");
    expect(await load(secret)).toEqual({ ENVKEEP_T_ONE: "one", ENVKEEP_T_TWO: "two" });
    expect(() => Secret.fromLocalEnviron(["ENVKEEP_T_ONE", "ENVKEEP_T_MISSING"])).toThrow(
      /ENVKEEP_T_MISSING/,
    );
    expect(() => Secret.fromLocalEnviron(["bad-key"])).toThrow(InvalidError);
  });

  it("ephemeral handles have an st- id, no name, and refuse info()", async () => {
    const secret = Secret.fromObject({ A: "1" });
    expect(secret.secretId).toMatch(/^st-/);
    expect(secret.name).toBeUndefined();
    expect(secret.isNamed).toBe(false);
    expect(secret.keys).toEqual(["A"]);
    await expect(secret.info()).rejects.toThrow(InvalidError);
  });

  it("String, JSON and inspect show key names, never values", () => {
    const secret = Secret.fromObject({ API_KEY: "sk-live-should-not-print" });
    for (const text of [
      String(secret),
      `${secret}`,
      JSON.stringify(secret),
      inspect(secret),
      inspect({ nested: [secret] }, { depth: 5, showHidden: true }),
    ]) {
      expect(text).not.toContain("sk-live-should-not-print");
      expect(text).toContain("API_KEY");
    }
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { memoryStore } from "../../store-memory/src/index.js";
import { generateMasterKey } from "../src/crypto/master-key.js";
import { InvalidError, NotFoundError } from "../src/errors.js";
import { SecretManager } from "../src/manager.js";
import { Secret } from "../src/secret.js";

function manager() {
  return new SecretManager({ store: memoryStore(), masterKey: generateMasterKey() });
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("run", () => {
  it("calls fn with the merged environment: later secret wins, env last", async () => {
    const secrets = manager();
    await secrets.create("base", { A: "base", B: "base", C: "base" });
    const result = await secrets.run(
      {
        secrets: [secrets.fromName("base"), Secret.fromObject({ B: "eph", C: "eph" })],
        env: { C: "env" },
      },
      (env) => ({ ...env }),
    );
    expect(result).toEqual({ A: "base", B: "eph", C: "env" });
  });

  it("does not modify process.env", async () => {
    const secrets = manager();
    await secrets.create("s", { ENVKEEP_RUN_TEST_KEY: "x" });
    const before = { ...process.env };
    const seen = await secrets.run({ secrets: [secrets.fromName("s")] }, async (env) => {
      expect(process.env.ENVKEEP_RUN_TEST_KEY).toBeUndefined();
      return env.ENVKEEP_RUN_TEST_KEY;
    });
    expect(seen).toBe("x");
    expect(process.env).toEqual(before);
  });

  it("returns fn's (awaited) result and passes its rejection through", async () => {
    const secrets = manager();
    await expect(secrets.run({}, async () => 42)).resolves.toBe(42);
    await expect(
      secrets.run({}, () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
  });

  it("checks required keys before calling fn, naming every missing key", async () => {
    const secrets = manager();
    await secrets.create("s", { A: "1" });
    const fn = vi.fn();
    await expect(
      secrets.run({ secrets: [secrets.fromName("s")], requiredKeys: ["A", "B", "C"] }, fn),
    ).rejects.toThrow(new NotFoundError("missing required keys: B, C"));
    await expect(
      secrets.run({ secrets: [secrets.fromName("s", { requiredKeys: ["Z"] })] }, fn),
    ).rejects.toThrow(/missing required keys: Z/);
    await expect(secrets.run({ secrets: [secrets.fromName("missing")] }, fn)).rejects.toThrow(
      NotFoundError,
    );
    expect(fn).not.toHaveBeenCalled();
    // env satisfies a required key too
    await expect(
      secrets.run(
        { secrets: [secrets.fromName("s")], env: { B: "", C: "3" }, requiredKeys: ["B", "C"] },
        () => "ok",
      ),
    ).resolves.toBe("ok");
  });

  it("rejects bad input with InvalidError", async () => {
    const secrets = manager();
    await expect(secrets.run({ requiredKeys: ["bad key"] }, () => 1)).rejects.toThrow(InvalidError);
    await expect(secrets.run({ env: { A: 1 as never } }, () => 1)).rejects.toThrow(InvalidError);
    await expect(secrets.run({}, "nope" as never)).rejects.toThrow(InvalidError);
  });
});

describe("resolve with explain", () => {
  it("names the layer that supplied each key and the layers it overrode, never values", async () => {
    const secrets = manager();
    const base = await secrets.create("base", { A: "v-a", B: "v-b" });
    const prod = await secrets.create("prod-db", { B: "v-b2", C: "v-c" }, { environment: "prod" });
    const ephemeral = Secret.fromObject({ C: "v-c2" });
    const { env, explain } = await secrets.resolve(
      [secrets.fromName("base"), secrets.fromName("prod-db", { environment: "prod" }), ephemeral],
      { env: { D: "v-d", A: "v-a2" }, explain: true },
    );
    expect(env).toEqual({ A: "v-a2", B: "v-b2", C: "v-c2", D: "v-d" });
    const baseOrigin = {
      kind: "named",
      name: "base",
      environment: "main",
      version: 1,
      secretId: base.secretId,
    };
    const prodOrigin = {
      kind: "named",
      name: "prod-db",
      environment: "prod",
      version: 1,
      secretId: prod.secretId,
    };
    expect(explain).toEqual({
      A: { from: { kind: "env" }, overrode: [baseOrigin] },
      B: { from: prodOrigin, overrode: [baseOrigin] },
      C: { from: { kind: "ephemeral", secretId: ephemeral.secretId }, overrode: [prodOrigin] },
      D: { from: { kind: "env" }, overrode: [] },
    });
    expect(JSON.stringify(explain)).not.toMatch(/v-[a-d]/);
  });

  it("without explain returns the plain record, as before", async () => {
    const secrets = manager();
    expect(await secrets.resolve([Secret.fromObject({ A: "1" })], { env: { B: "2" } })).toEqual({
      A: "1",
      B: "2",
    });
  });

  it("keeps __proto__ an ordinary key", async () => {
    const secrets = manager();
    const { env, explain } = await secrets.resolve([], {
      env: JSON.parse('{"__proto__":"x"}'),
      explain: true,
    });
    expect(Object.keys(env)).toEqual(["__proto__"]);
    expect(Object.keys(explain)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(explain)).toBe(Object.prototype);
  });
});

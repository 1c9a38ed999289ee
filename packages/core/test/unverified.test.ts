import { memoryKey, memoryStore } from "@envkeep/store-memory";
import { describe, expect, it } from "vitest";
import {
  generateMasterKey,
  IntegrityError,
  InvalidError,
  listUnverified,
  NotFoundError,
  SecretManager,
  unverifiedInfo,
} from "../src/index.js";

const scope = { workspace: "acme", environment: "dev" };

async function storeWithSecrets() {
  const backing = new Map<string, string>();
  const store = memoryStore({ backing });
  const secrets = new SecretManager({
    store,
    masterKey: generateMasterKey(),
    ...scope,
    actor: "ci",
  });
  await secrets.create("db", { PGHOST: "h", PGPASSWORD: "canary-unverified-1" });
  await secrets.create("api", { TOKEN: "canary-unverified-2" });
  return { store, backing, secrets };
}

describe("metadata without a master key (unauthenticated)", () => {
  it("lists what a manager lists, newest first, marked verified: false, never a value", async () => {
    const { store, secrets } = await storeWithSecrets();
    const { secrets: listed, damaged } = await listUnverified(store, scope);
    const expected = (await secrets.list()).map((info) => ({ ...info, verified: false }));
    expect(listed).toEqual(expected);
    expect(damaged).toEqual([]);
    expect(JSON.stringify(listed)).not.toContain("canary-unverified");
    expect(
      (await listUnverified(store, scope, { maxObjects: 1 })).secrets.map((s) => s.name),
    ).toEqual([expected[0]?.name]);
    expect(await unverifiedInfo(store, { ...scope, name: "db" })).toEqual({
      ...(await secrets.info("db")),
      verified: false,
    });
  });

  it("a record that is not well-formed is reported, not shown; a missing one is NotFound with its place", async () => {
    const { store, backing } = await storeWithSecrets();
    const at = { ...scope, name: "db" };
    const stored = JSON.parse(backing.get(memoryKey(at)) ?? "");
    backing.set(memoryKey(at), JSON.stringify({ ...stored, keys: "not a list" }));
    const { secrets, damaged } = await listUnverified(store, scope);
    expect(secrets.map((s) => s.name)).toEqual(["api"]);
    expect(damaged).toEqual([{ name: "db", reason: expect.stringContaining("bad key list") }]);
    await expect(unverifiedInfo(store, at)).rejects.toThrow(IntegrityError);
    const missing = await unverifiedInfo(store, { ...scope, name: "nope" }).catch((e) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.secret).toEqual({ ...scope, name: "nope" });
  });

  it("what only the key can tell is not checked: a forged key list shows as stored (hence the label)", async () => {
    const { store, backing, secrets } = await storeWithSecrets();
    const at = { ...scope, name: "api" };
    const stored = JSON.parse(backing.get(memoryKey(at)) ?? "");
    backing.set(memoryKey(at), JSON.stringify({ ...stored, keys: ["FORGED"] }));
    expect((await unverifiedInfo(store, at)).keys).toEqual(["FORGED"]);
    // The manager, holding the key, refuses the same record.
    await expect(secrets.info("api")).rejects.toThrow(IntegrityError);
  });

  it("bad names and options are InvalidError before the store is read", async () => {
    const { store } = await storeWithSecrets();
    await expect(listUnverified(store, { workspace: "acme", environment: "../x" })).rejects.toThrow(
      InvalidError,
    );
    await expect(listUnverified(store, scope, { maxObjects: -1 })).rejects.toThrow(InvalidError);
    await expect(unverifiedInfo(store, { ...scope, name: "a b" })).rejects.toThrow(InvalidError);
  });
});

import { memoryStore } from "@envkeep/store-memory";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ForbiddenError,
  generateMasterKey,
  InvalidError,
  NotFoundError,
  SecretManager,
  type SecretStore,
  TOKEN_CACHE_MS,
  TOKEN_ENVIRONMENT,
  UnauthorizedError,
} from "../src/index.js";

const masterKey = generateMasterKey();
const on = (store: SecretStore, workspace = "acme") =>
  new SecretManager({ store, masterKey, workspace, environment: "dev", actor: "admin-cli" });

afterEach(() => {
  vi.restoreAllMocks();
});

describe("access tokens", () => {
  it("a token is shown once; only facts are listed, never the token or its hash", async () => {
    const secrets = on(memoryStore());
    const { token, info } = await secrets.tokens.create({
      name: "ci",
      scope: "write",
      environments: ["prod", "dev", "prod"],
    });
    expect(token).toMatch(/^ekt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(info).toMatchObject({
      id: token.slice(4, 20),
      name: "ci",
      workspace: "acme",
      scope: "write",
      environments: ["dev", "prod"],
      createdBy: "admin-cli",
    });
    const listed = await secrets.tokens.list();
    expect(listed).toEqual([info]);
    const secret = token.slice(21);
    expect(JSON.stringify(listed)).not.toContain(secret);
    // The store holds a hash, sealed like any secret: never the token.
    expect(
      JSON.stringify((secrets.store as ReturnType<typeof memoryStore>).snapshot()),
    ).not.toContain(secret);
    expect(await secrets.tokens.verify(token)).toMatchObject({ id: info.id, scope: "write" });
  });

  it("verify refuses malformed, unknown, altered and other workspaces' tokens without naming them", async () => {
    const store = memoryStore();
    const secrets = on(store);
    const { token } = await secrets.tokens.create({ name: "ci", scope: "read" });
    const altered = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    const unknown = `ekt_${"0".repeat(16)}_${token.slice(21)}`;
    for (const bad of [undefined, "", "Bearer x", token.slice(0, -1), altered, unknown, 42]) {
      const error = await secrets.tokens.verify(bad).catch((e: unknown) => e);
      expect(error, String(bad)).toBeInstanceOf(UnauthorizedError);
      expect((error as Error).message).not.toContain(token.slice(21));
    }
    await expect(on(store, "other").tokens.verify(token)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it("a revocation reaches every process on the store within the cache time", async () => {
    const store = memoryStore();
    const admin = on(store);
    const server = on(store); // another process, with its own cache
    const { token, info } = await admin.tokens.create({ name: "ci", scope: "read" });
    expect((await server.tokens.verify(token)).id).toBe(info.id);
    await admin.tokens.revoke(info.id);
    await expect(admin.tokens.verify(token)).rejects.toBeInstanceOf(UnauthorizedError);
    const now = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(now + TOKEN_CACHE_MS + 1);
    await expect(server.tokens.verify(token)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(admin.tokens.revoke(info.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(admin.tokens.revoke("../x")).rejects.toBeInstanceOf(InvalidError);
  });

  it("expiry: refused after expiresAt; a past expiry cannot be set", async () => {
    const secrets = on(memoryStore());
    const now = Date.now();
    const { token } = await secrets.tokens.create({
      name: "short",
      scope: "read",
      expiresAt: new Date(now + 60_000),
    });
    expect((await secrets.tokens.verify(token)).expiresAt?.getTime()).toBe(now + 60_000);
    vi.spyOn(Date, "now").mockReturnValue(now + 60_001);
    await expect(secrets.tokens.verify(token)).rejects.toThrow(/expired/);
    vi.restoreAllMocks();
    await expect(
      secrets.tokens.create({ name: "old", scope: "read", expiresAt: "2001-01-01T00:00:00Z" }),
    ).rejects.toThrow(/not in the future/);
  });

  it("authorize: scopes rank read < write < admin; environments limit every call", async () => {
    const secrets = on(memoryStore());
    const { token } = await secrets.tokens.create({
      name: "w",
      scope: "write",
      environments: ["dev"],
    });
    const caller = await secrets.tokens.verify(token);
    expect(() =>
      secrets.tokens.authorize(caller, { scope: "read", environment: "dev" }),
    ).not.toThrow();
    expect(() =>
      secrets.tokens.authorize(caller, { scope: "write", environment: "dev" }),
    ).not.toThrow();
    expect(() => secrets.tokens.authorize(caller, { scope: "admin" })).toThrow(ForbiddenError);
    expect(() => secrets.tokens.authorize(caller, { scope: "read", environment: "prod" })).toThrow(
      /may not use environment "prod"/,
    );
    const all = await secrets.tokens.verify(
      (await secrets.tokens.create({ name: "a", scope: "admin" })).token,
    );
    expect(() =>
      secrets.tokens.authorize(all, { scope: "admin", environment: "anything" }),
    ).not.toThrow();
  });

  it("bad options are InvalidErrors; token records stay out of every environment's list and are rotated", async () => {
    const secrets = on(memoryStore());
    await expect(secrets.tokens.create({ name: "bad name", scope: "read" })).rejects.toThrow(
      InvalidError,
    );
    await expect(secrets.tokens.create({ name: "x", scope: "root" as never })).rejects.toThrow(
      /scope/,
    );
    await expect(
      secrets.tokens.create({ name: "x", scope: "read", environments: [] }),
    ).rejects.toThrow(/non-empty/);
    await expect(
      secrets.tokens.create({ name: "x", scope: "read", environments: ["en-x"] }),
    ).rejects.toThrow(InvalidError);
    const { token } = await secrets.tokens.create({ name: "ci", scope: "read" });
    await expect(secrets.list({ environment: TOKEN_ENVIRONMENT })).rejects.toThrow(InvalidError);
    expect(await secrets.list()).toEqual([]);
    const newKey = generateMasterKey();
    const rotating = new SecretManager({
      store: secrets.store,
      keyring: [newKey, masterKey],
      workspace: "acme",
    });
    expect((await rotating.rotate()).rewrapped).toBe(1);
    const afterRotation = new SecretManager({
      store: secrets.store,
      masterKey: newKey,
      workspace: "acme",
    });
    expect((await afterRotation.tokens.verify(token)).name).toBe("ci");
  });

  it("records the last use, at most once a minute", async () => {
    const secrets = on(memoryStore());
    const { token, info } = await secrets.tokens.create({ name: "ci", scope: "read" });
    expect(info.lastUsedAt).toBeUndefined();
    await secrets.tokens.verify(token);
    await vi.waitFor(async () => {
      expect((await secrets.tokens.list())[0]?.lastUsedAt).toBeInstanceOf(Date);
    });
    const version = (await secrets.store.get({
      workspace: "acme",
      environment: TOKEN_ENVIRONMENT,
      name: info.id,
    })) as {
      version: number;
    };
    await secrets.tokens.verify(token);
    await secrets.tokens.verify(token);
    const again = (await secrets.store.get({
      workspace: "acme",
      environment: TOKEN_ENVIRONMENT,
      name: info.id,
    })) as {
      version: number;
    };
    expect(again.version).toBe(version.version);
  });
});

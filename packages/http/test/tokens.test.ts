/**
 * Bearer tokens in-process, on a real SQLite file: 401s with `WWW-Authenticate: Bearer`, scopes,
 * environment limits that answer before the store is read (a 403 never depends on whether a
 * secret exists), workspaces that cannot see each other, expiry, revocation — and no token or
 * value in any response or access-log line.
 */
import {
  generateMasterKey,
  SecretManager,
  type SecretStore,
  TOKEN_CACHE_MS,
  TOKEN_ENVIRONMENT,
} from "@envkeep/core";
import { createApi, formatAccessLog } from "@envkeep/http";
import { sqliteStore } from "@envkeep/store-sqlite";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { checker, inProcessApi, tempDir } from "./support/in-process.js";

afterAll(() => checker.assertAllChecked());
afterEach(() => {
  vi.useRealTimers();
});

const VALUE = checker.canary("token-test-canary-value-31ab");

describe("401: no token, or not a live one of this workspace", () => {
  it("missing, empty, another scheme, malformed, unknown: 401 and WWW-Authenticate: Bearer", async () => {
    const { call } = await inProcessApi();
    const missing = await call("GET", "/v1/secrets", { token: null });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="envkeep"');
    expect(missing.body.error).toEqual({
      code: "UNAUTHORIZED",
      message: "missing access token: send Authorization: Bearer <token>",
    });
    const unknown = `ekt_${"a".repeat(16)}_${"B".repeat(43)}`;
    for (const authorization of [
      "",
      "Bearer",
      "Bearer ",
      `Basic ${Buffer.from(`user:${VALUE}`).toString("base64")}`,
      `Bearer ${VALUE}`,
      `Bearer ${unknown}`,
      `Bearer ${unknown} extra`,
      `Token ${unknown}`,
    ]) {
      const response = await call("GET", "/v1/secrets", {
        token: null,
        headers: { authorization },
      });
      expect(response.status, authorization).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="envkeep"/);
      expect(response.body.error.code).toBe("UNAUTHORIZED");
      expect(response.body.error.message).not.toContain(VALUE);
      expect(response.body.error.message).not.toContain(unknown.slice(21));
    }
  });

  it("the scheme is case-insensitive (RFC 7235)", async () => {
    const { call, writer } = await inProcessApi();
    const response = await call("GET", "/v1/secrets", {
      token: null,
      headers: { authorization: `bearer ${writer.token}` },
    });
    expect(response.status).toBe(200);
  });

  it("a token of workspace A is unknown to workspace B on the same store: the same 401 whether a secret exists or not", async () => {
    const path = `${tempDir("shared")}/secrets.db`;
    const masterKey = generateMasterKey();
    const open = (workspace: string) =>
      new SecretManager({ store: sqliteStore({ path }), masterKey, workspace });
    const a = open("team-a");
    const b = open("team-b");
    try {
      await b.create("exists", { K: VALUE });
      const { token } = await a.tokens.create({ name: "a-admin", scope: "admin" });
      checker.canary(token);
      const apiB = createApi({ manager: b });
      const fetchB = checker.wrap((request) => apiB.fetch(request));
      const answers = [];
      for (const name of ["exists", "missing"]) {
        const response = await fetchB(
          new Request(`http://b.test/v1/secrets/${name}`, {
            headers: { authorization: `Bearer ${token}` },
          }),
        );
        answers.push({ status: response.status, body: await response.text() });
      }
      expect(answers[0]?.status).toBe(401);
      expect(answers[0]).toEqual(answers[1]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe("scopes", () => {
  it("read lists and gets; write and admin also create, update and delete; nothing changes on a 403", async () => {
    const { call, token, state } = await inProcessApi();
    await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1" } } });
    const read = (await token("read")).token;
    expect((await call("GET", "/v1/secrets", { token: read })).status).toBe(200);
    expect((await call("GET", "/v1/secrets/db", { token: read })).status).toBe(200);
    const before = await state();
    const writes = [
      ["POST", "/v1/secrets", { name: "new", env: { A: VALUE } }],
      ["PATCH", "/v1/secrets/db", { env: { A: VALUE } }],
      ["DELETE", "/v1/secrets/db", undefined],
    ] as const;
    for (const [method, target, json] of writes) {
      const response = await call(method, target, {
        token: read,
        ...(json === undefined ? {} : { json }),
      });
      expect(response.status, `${method} ${target}`).toBe(403);
      expect(response.body.error).toEqual({
        code: "FORBIDDEN",
        message: expect.stringMatching(
          /^access token [0-9a-f]{16} has scope read; this needs write$/,
        ),
      });
    }
    expect(await state()).toBe(before);
    for (const scope of ["write", "admin"] as const) {
      const strong = (await token(scope)).token;
      const name = `by-${scope}`;
      expect(
        (await call("POST", "/v1/secrets", { token: strong, json: { name, env: {} } })).status,
      ).toBe(201);
      expect(
        (await call("PATCH", `/v1/secrets/${name}`, { token: strong, json: { env: { A: "1" } } }))
          .status,
      ).toBe(200);
      expect((await call("DELETE", `/v1/secrets/${name}`, { token: strong })).status).toBe(204);
    }
  });

  it("a read token with a bad body is refused for its scope before the body is read", async () => {
    const { call, token } = await inProcessApi();
    const read = (await token("read")).token;
    const response = await call("POST", "/v1/secrets", { token: read, body: "{not json" });
    expect(response.status).toBe(403);
  });
});

/** A store that counts the calls reaching it for secrets (token records aside). */
function countingStore(inner: SecretStore) {
  const calls: string[] = [];
  const isToken = (argument: unknown) =>
    (argument as { environment?: string } | undefined)?.environment === TOKEN_ENVIRONMENT;
  const store = new Proxy(inner, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (!isToken(args[0]) && property !== "close") calls.push(String(property));
        return value.apply(target, args);
      };
    },
  });
  return { store, calls };
}

describe("environments", () => {
  it("a token limited to dev gets the same 403 for prod whether the secret exists there or not, before any read", async () => {
    const counted = countingStore(sqliteStore({ path: `${tempDir("env")}/secrets.db` }));
    const { call, token, manager } = await inProcessApi({ store: counted.store });
    await manager.create("exists", { K: VALUE }, { environment: "prod" });
    await manager.create("exists", { K: "dev" }, { environment: "dev" });
    const dev = (await token("write", { environments: ["dev"] })).token;

    // Pairs: the same call on a secret that exists and on one that does not.
    const pairs = [
      ["GET", "/v1/secrets/{}?environment=prod", undefined],
      ["DELETE", "/v1/secrets/{}?environment=prod", undefined],
      ["PATCH", "/v1/secrets/{}?environment=prod", { env: { K: "x" } }],
      ["POST", "/v1/secrets", { name: "{}", env: {}, environment: "prod" }],
      // No environment: the server's default ("main"), not one of the token's.
      ["GET", "/v1/secrets/{}", undefined],
      ["POST", "/v1/secrets", { name: "{}", env: {} }],
    ] as const;
    counted.calls.length = 0;
    for (const [method, target, json] of pairs) {
      const answers = [];
      for (const name of ["exists", "missing"]) {
        const body =
          json === undefined ? undefined : JSON.parse(JSON.stringify(json).replace("{}", name));
        const response = await call(method, target.replace("{}", name), {
          token: dev,
          ...(body === undefined ? {} : { json: body }),
        });
        answers.push({ status: response.status, body: response.body });
      }
      expect(answers[0]?.status, `${method} ${target}`).toBe(403);
      // Nothing in the answer tells an existing secret from a missing one.
      expect(answers[1]).toEqual(answers[0]);
    }
    expect((await call("GET", "/v1/secrets?environment=prod", { token: dev })).status).toBe(403);
    expect(counted.calls).toEqual([]);

    expect(
      (await call("GET", "/v1/secrets/exists?environment=dev", { token: dev })).body,
    ).toMatchObject({ environment: "dev" });
    expect((await call("GET", "/v1/secrets/missing?environment=dev", { token: dev })).status).toBe(
      404,
    );
  });

  it("a token of several environments may use each of them", async () => {
    const { call, token } = await inProcessApi();
    const both = (await token("write", { environments: ["dev", "staging"] })).token;
    for (const environment of ["dev", "staging"]) {
      const response = await call("POST", "/v1/secrets", {
        token: both,
        json: { name: "db", env: {}, environment },
      });
      expect(response.status).toBe(201);
    }
    expect((await call("GET", "/v1/secrets?environment=prod", { token: both })).status).toBe(403);
  });
});

describe("expiry and revocation", () => {
  it("an expired token is a 401 saying so (time moved on, not waited for)", async () => {
    const { call, token } = await inProcessApi();
    const soon = await token("read", { expiresAt: new Date(Date.now() + 60_000) });
    expect((await call("GET", "/v1/secrets", { token: soon.token })).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 61_000 });
    const expired = await call("GET", "/v1/secrets", { token: soon.token });
    expect(expired.status).toBe(401);
    expect(expired.headers.get("www-authenticate")).toBe(
      'Bearer realm="envkeep", error="invalid_token"',
    );
    expect(expired.body.error.message).toBe(`access token ${soon.info.id} has expired`);
  });

  it(`a revoked token stops working within ${TOKEN_CACHE_MS} ms`, async () => {
    const { call, token, manager } = await inProcessApi();
    const doomed = await token("write");
    expect((await call("GET", "/v1/secrets", { token: doomed.token })).status).toBe(200);
    await manager.tokens.revoke(doomed.info.id);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + TOKEN_CACHE_MS + 1 });
    expect((await call("GET", "/v1/secrets", { token: doomed.token })).status).toBe(401);
  });
});

describe("canaries", () => {
  it("no response or access-log line of a whole session holds a value or a token", async () => {
    const { call, token, log } = await inProcessApi();
    const admin = await token("admin");
    const read = await token("read", { environments: ["dev"] });
    await call("POST", "/v1/secrets", {
      token: admin.token,
      json: { name: "db", env: { K: VALUE } },
    });
    await call("PATCH", "/v1/secrets/db", { token: admin.token, json: { env: { K2: VALUE } } });
    await call("POST", "/v1/secrets", {
      token: admin.token,
      json: { name: "db", env: { K: VALUE } },
    });
    await call("POST", "/v1/secrets", {
      token: admin.token,
      json: { name: "bad name", env: { K: VALUE } },
    });
    await call("GET", "/v1/secrets/db", { token: read.token });
    await call("GET", "/v1/secrets", {
      token: null,
      headers: { authorization: `Bearer ${admin.token}x` },
    });
    await call("GET", "/v1/secrets/db", { token: admin.token });
    await call("GET", "/v1/secrets", { token: admin.token });
    expect(log.length).toBe(8);
    const lines = log.map(formatAccessLog).join("\n");
    expect(checker.leaks(lines)).toEqual([]);
    expect(checker.leaks(JSON.stringify(log))).toEqual([]);
    expect(lines).toContain(`token=${admin.info.id}`);
  });
});

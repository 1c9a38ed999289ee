/**
 * The access log (one entry per request: method, route pattern, status, ms, token id — never a
 * path a caller chose, a value or a token) and the errors that are the server's: a damaged
 * record (500 INTEGRITY), a store that cannot be reached (503 with Retry-After), anything
 * unexpected (500 INTERNAL, its message kept out of the answer and the log). All on real stores.
 */
import { mkdirSync } from "node:fs";
import { generateMasterKey, isUnreadable, SecretManager } from "@envkeep/core";
import { type AccessLogEntry, createApi, formatAccessLog } from "@envkeep/http";
import { sqliteStore } from "@envkeep/store-sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { checker, inProcessApi, tempDir } from "./support/in-process.js";

afterAll(() => checker.assertAllChecked());

const VALUE = checker.canary("access-log-canary-value-c0ffee");

describe("access log", () => {
  it("one entry per request, with the route pattern, never the name in the path", async () => {
    const { call, log, writer } = await inProcessApi();
    await call("POST", "/v1/secrets", { json: { name: "zz-private-name", env: { K: VALUE } } });
    await call("GET", "/v1/secrets/zz-private-name?environment=main");
    await call("GET", "/v1/secrets/zz-missing-name");
    await call("GET", "/v1/secrets/zz%2Fslash");
    await call("GET", "/v1/nothing/here/zz-route-name", { token: null });
    await call("PUT", "/v1/secrets");
    await call("GET", "/v1/openapi.json", { token: null });
    expect(
      log.map(({ method, route, status, tokenId, error }) => ({
        method,
        route,
        status,
        tokenId,
        error,
      })),
    ).toEqual([
      {
        method: "POST",
        route: "/v1/secrets",
        status: 201,
        tokenId: writer.info.id,
        error: undefined,
      },
      {
        method: "GET",
        route: "/v1/secrets/{secret_name}",
        status: 200,
        tokenId: writer.info.id,
        error: undefined,
      },
      {
        method: "GET",
        route: "/v1/secrets/{secret_name}",
        status: 404,
        tokenId: writer.info.id,
        error: "NOT_FOUND",
      },
      {
        method: "GET",
        route: "/v1/secrets/{secret_name}",
        status: 400,
        tokenId: writer.info.id,
        error: "INVALID",
      },
      { method: "GET", route: "(no route)", status: 404, tokenId: undefined, error: "NOT_FOUND" },
      { method: "PUT", route: "/v1/secrets", status: 405, tokenId: undefined, error: "INVALID" },
      {
        method: "GET",
        route: "/v1/openapi.json",
        status: 200,
        tokenId: undefined,
        error: undefined,
      },
    ]);
    for (const entry of log) {
      expect(entry.time).toBeInstanceOf(Date);
      expect(entry.ms).toBeGreaterThanOrEqual(0);
    }
    const lines = log.map(formatAccessLog).join("\n");
    expect(lines).not.toMatch(/zz-/);
    expect(checker.leaks(lines)).toEqual([]);
  });

  it("formatAccessLog: time, method, route, status, ms, token (or -), error when there is one", () => {
    const entry: AccessLogEntry = {
      time: new Date("2026-01-02T03:04:05.678Z"),
      method: "GET",
      route: "/v1/secrets/{secret_name}",
      status: 404,
      ms: 1.94,
      tokenId: "0123456789abcdef",
      error: "NOT_FOUND",
    };
    expect(formatAccessLog(entry)).toBe(
      "2026-01-02T03:04:05.678Z GET /v1/secrets/{secret_name} 404 1.9ms token=0123456789abcdef error=NOT_FOUND",
    );
    expect(formatAccessLog({ ...entry, tokenId: undefined, error: undefined, status: 200 })).toBe(
      "2026-01-02T03:04:05.678Z GET /v1/secrets/{secret_name} 200 1.9ms token=-",
    );
  });

  it("a log function that throws does not fail the request", async () => {
    const { call } = await inProcessApi({
      accessLog: () => {
        throw new Error("disk full");
      },
    });
    expect((await call("GET", "/v1/secrets")).status).toBe(200);
  });
});

describe("the server's own errors", () => {
  it("a damaged record: 500 INTEGRITY, a message without details; the list leaves it out", async () => {
    const { call, store, manager } = await inProcessApi();
    await call("POST", "/v1/secrets", { json: { name: "good", env: { K: VALUE } } });
    // Someone with write access to the database copies a record under another name.
    const found = await store.get({ workspace: "acme", environment: "main", name: "good" });
    if (!found || isUnreadable(found)) throw new Error("no record");
    await store.create({ ...found, name: "moved" });

    const damaged = await call("GET", "/v1/secrets/moved");
    expect(damaged.status).toBe(500);
    expect(damaged.body.error).toEqual({
      code: "INTEGRITY",
      message: "a stored record failed its integrity check; it cannot be served",
    });
    const list = await call("GET", "/v1/secrets");
    expect(list.body.data.map((secret: { name: string }) => secret.name)).toEqual(["good"]);
    const update = await call("PATCH", "/v1/secrets/moved", { json: { env: { K: "x" } } });
    expect(update.status).toBe(500);
    expect(await manager.resolve([manager.fromName("good")])).toEqual({ K: VALUE });
  });

  it("a store that cannot be opened: 503 STORE_UNAVAILABLE with Retry-After, no detail of the store", async () => {
    // A directory where the database file should be: SQLite cannot open it (a real failure).
    const dir = tempDir("unopenable");
    mkdirSync(`${dir}/secrets.db`);
    const manager = new SecretManager({
      store: sqliteStore({ path: `${dir}/secrets.db` }),
      masterKey: generateMasterKey(),
    });
    const log: AccessLogEntry[] = [];
    const api = createApi({ manager, retryAfterSeconds: 7, accessLog: (entry) => log.push(entry) });
    const fetch = checker.wrap((request) => api.fetch(request));
    try {
      const response = await fetch(
        new Request("http://envkeep.test/v1/secrets", {
          headers: { authorization: `Bearer ekt_${"0".repeat(16)}_${"A".repeat(43)}` },
        }),
      );
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("7");
      const body = await response.json();
      expect(body).toEqual({
        error: { code: "STORE_UNAVAILABLE", message: "the store is unavailable; try again later" },
      });
      expect(JSON.stringify(body)).not.toContain(dir);
      expect(log[0]?.error).toBe("STORE_UNAVAILABLE");
    } finally {
      await manager.close().catch(() => {});
    }
  });

  it("anything unexpected: 500 INTERNAL 'internal error'; the log names its class, never its message", async () => {
    const { manager } = await inProcessApi();
    const log: AccessLogEntry[] = [];
    const api = createApi({
      manager,
      accessLog: (entry) => log.push(entry),
      tokens: {
        verify: async () => {
          throw new TypeError(`cannot read ${VALUE}`);
        },
        authorize: () => {},
      },
    });
    const fetch = checker.wrap((request) => api.fetch(request));
    const response = await fetch(
      new Request("http://envkeep.test/v1/secrets", { headers: { authorization: "Bearer x" } }),
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: { code: "INTERNAL", message: "internal error" },
    });
    expect(log.map(formatAccessLog).join("\n")).toMatch(/ 500 .* error=INTERNAL:TypeError$/);
    expect(checker.leaks(JSON.stringify(log))).toEqual([]);
  });

  it("bad options are core's InvalidError at once", async () => {
    const { manager } = await inProcessApi();
    expect(() => createApi(undefined as never)).toThrow(/createApi needs \{ manager \}/);
    expect(() => createApi({ manager, bodyLimit: 0 })).toThrow(/invalid bodyLimit/);
    expect(() => createApi({ manager, bodyLimit: 1.5 })).toThrow(/invalid bodyLimit/);
    expect(() => createApi({ manager, retryAfterSeconds: -1 })).toThrow(
      /invalid retryAfterSeconds/,
    );
    expect(() => createApi({ manager, accessLog: "stderr" as never })).toThrow(/invalid accessLog/);
    expect(() => createApi({ manager, tokens: {} as never })).toThrow(/invalid tokens/);
  });
});

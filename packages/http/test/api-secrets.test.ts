/**
 * The secret routes in-process, on a real SQLite file: what each answers, in the seed's shape
 * plus envkeep's additions (version, ETag, If-Match, cursors, if_exists). Values never come back.
 */
import { apiDocument } from "@envkeep/http";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { checker, inProcessApi } from "./support/in-process.js";

afterAll(() => checker.assertAllChecked());

const VALUE = checker.canary("sk-live-canary-value-9f3b1c");

describe("create and get", () => {
  it("POST → 201 with the seed's fields, version, ETag and Location; values never returned", async () => {
    const { call, manager } = await inProcessApi();
    const created = await call("POST", "/v1/secrets", {
      json: { name: "api-keys", env: { API_KEY: VALUE, REGION: "eu" } },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("etag")).toBe('"1"');
    expect(created.headers.get("location")).toBe("/v1/secrets/api-keys?environment=main");
    expect(created.body).toEqual({
      secret_id: expect.stringMatching(/^st-/),
      name: "api-keys",
      environment: "main",
      created_at: expect.any(String),
      updated_at: created.body.created_at,
      keys: ["API_KEY", "REGION"],
      version: 1,
      // the token's id: the API acts as the caller
      created_by: expect.stringMatching(/^[0-9a-f]{16}$/),
      updated_by: created.body.created_by,
    });
    expect(new Date(created.body.created_at).toISOString()).toBe(created.body.created_at);
    // Stored as given: read back in-process, not over HTTP.
    expect(await manager.resolve([manager.fromName("api-keys")])).toEqual({
      API_KEY: VALUE,
      REGION: "eu",
    });

    const got = await call("GET", "/v1/secrets/api-keys");
    expect(got).toMatchObject({ status: 200, body: created.body });
    expect(got.headers.get("etag")).toBe('"1"');
  });

  it("HEAD answers like GET, without a body", async () => {
    const { call, request } = await inProcessApi();
    await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1" } } });
    const head = await request("HEAD", "/v1/secrets/db");
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe('"1"');
    expect(await head.text()).toBe("");
  });

  it("the environment: the body's or query's, else the server's default; each its own namespace", async () => {
    const { call } = await inProcessApi({ environment: "dev" });
    expect(
      (await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1" } } })).body,
    ).toMatchObject({ environment: "dev" });
    const prod = await call("POST", "/v1/secrets", {
      json: { name: "db", env: { B: "2" }, environment: "prod" },
    });
    expect(prod.status).toBe(201);
    expect(prod.headers.get("location")).toBe("/v1/secrets/db?environment=prod");
    expect((await call("GET", "/v1/secrets/db")).body).toMatchObject({ keys: ["A"] });
    expect((await call("GET", "/v1/secrets/db?environment=prod")).body).toMatchObject({
      keys: ["B"],
    });
    expect((await call("GET", "/v1/secrets/db?environment=staging")).status).toBe(404);
  });

  it("keys like __proto__ and values in any script are ordinary", async () => {
    const { call, manager } = await inProcessApi();
    const env = { __proto__: "p", constructor: "c", UNICODE: "héllo 🌍 \u202e \u0000 ✓" };
    const body = `{"name":"odd","env":{"__proto__":"p","constructor":"c","UNICODE":${JSON.stringify(env.UNICODE)}}}`;
    const created = await call("POST", "/v1/secrets", {
      body,
      headers: { "content-type": "application/json; charset=UTF-8" },
    });
    expect(created.status).toBe(201);
    expect(created.body.keys).toEqual(["UNICODE", "__proto__", "constructor"]);
    const stored = await manager.resolve([manager.fromName("odd")]);
    expect(Object.entries(stored).sort()).toEqual(
      [
        ["UNICODE", env.UNICODE],
        ["__proto__", "p"],
        ["constructor", "c"],
      ].sort(),
    );
  });

  it("an empty env is allowed, as in the API of core", async () => {
    const { call } = await inProcessApi();
    expect(
      (await call("POST", "/v1/secrets", { json: { name: "empty", env: {} } })).body,
    ).toMatchObject({ keys: [], version: 1 });
  });
});

describe("if_exists", () => {
  it("a taken name: 409 ALREADY_EXISTS by default, nothing changed", async () => {
    const { call, state } = await inProcessApi();
    await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1" } } });
    const before = await state();
    for (const json of [
      { name: "db", env: { A: VALUE } },
      { name: "db", env: { A: VALUE }, if_exists: "fail" },
    ]) {
      const again = await call("POST", "/v1/secrets", { json });
      expect(again.status).toBe(409);
      expect(again.body.error).toEqual({
        code: "ALREADY_EXISTS",
        message: 'secret "db" already exists in environment "main"',
      });
    }
    expect(await state()).toBe(before);
  });

  it('"skip" keeps the stored secret (200); "overwrite" replaces it (200, same id, next version)', async () => {
    const { call, manager } = await inProcessApi();
    const first = await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1" } } });
    const skipped = await call("POST", "/v1/secrets", {
      json: { name: "db", env: { B: "2" }, if_exists: "skip" },
    });
    expect(skipped).toMatchObject({ status: 200, body: first.body });
    expect(skipped.headers.get("location")).toBeNull();
    expect(await manager.resolve([manager.fromName("db")])).toEqual({ A: "1" });

    const replaced = await call("POST", "/v1/secrets", {
      json: { name: "db", env: { B: "2" }, if_exists: "overwrite" },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get("etag")).toBe('"2"');
    expect(replaced.body).toMatchObject({
      secret_id: first.body.secret_id,
      created_at: first.body.created_at,
      version: 2,
      keys: ["B"],
    });
    expect(await manager.resolve([manager.fromName("db")])).toEqual({ B: "2" });
  });

  it('"skip" and "overwrite" of a free name create it: 201', async () => {
    const { call } = await inProcessApi();
    for (const if_exists of ["skip", "overwrite"]) {
      const created = await call("POST", "/v1/secrets", {
        json: { name: `new-${if_exists}`, env: { A: "1" }, if_exists },
      });
      expect(created.status).toBe(201);
      expect(created.headers.get("location")).toBe(`/v1/secrets/new-${if_exists}?environment=main`);
    }
  });
});

describe("update (PATCH)", () => {
  it("merges: a string sets, null removes, the rest is kept; the version moves", async () => {
    const { call, manager } = await inProcessApi();
    await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1", B: "2", C: "3" } } });
    const updated = await call("PATCH", "/v1/secrets/db", {
      json: { env: { A: "one", B: null, D: VALUE } },
    });
    expect(updated.status).toBe(200);
    expect(updated.headers.get("etag")).toBe('"2"');
    expect(updated.body).toMatchObject({ keys: ["A", "C", "D"], version: 2 });
    expect(await manager.resolve([manager.fromName("db")])).toEqual({
      A: "one",
      C: "3",
      D: VALUE,
    });
    // Changing nothing keeps the version.
    const same = await call("PATCH", "/v1/secrets/db", { json: { env: { A: "one", B: null } } });
    expect(same.body.version).toBe(2);
  });

  it('If-Match: "<version>" is a check-and-set: 200 at that version, 412 at another, nothing changed', async () => {
    const { call, state } = await inProcessApi();
    await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1" } } });
    const ok = await call("PATCH", "/v1/secrets/db", {
      json: { env: { A: "2" } },
      headers: { "if-match": '"1"' },
    });
    expect(ok).toMatchObject({ status: 200, body: { version: 2 } });
    const before = await state();
    const stale = await call("PATCH", "/v1/secrets/db", {
      json: { env: { A: VALUE } },
      headers: { "if-match": '"1"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toEqual({
      code: "CONFLICT",
      message: 'secret "db" is at version 2, not 1: re-read it and retry',
    });
    expect(await state()).toBe(before);
    const star = await call("PATCH", "/v1/secrets/db", {
      json: { env: { B: "1" } },
      headers: { "if-match": "*" },
    });
    expect(star).toMatchObject({ status: 200, body: { version: 3 } });
  });

  it("an If-Match that is not one strong ETag of this API is a 400, not a silent update", async () => {
    const { call, state } = await inProcessApi();
    await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1" } } });
    const before = await state();
    for (const ifMatch of ['W/"1"', "1", '"1", "2"', '"0"', '"abc"', '""', '"99999999999999999"']) {
      const response = await call("PATCH", "/v1/secrets/db", {
        json: { env: { A: VALUE } },
        headers: { "if-match": ifMatch },
      });
      expect(response.status, ifMatch).toBe(400);
      expect(response.body.error.message).toMatch(/^If-Match takes one ETag/);
    }
    expect(await state()).toBe(before);
  });

  it("a missing secret: 404, and nothing is created", async () => {
    const { call, state } = await inProcessApi();
    const before = await state();
    const missing = await call("PATCH", "/v1/secrets/nope", { json: { env: { A: "1" } } });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({
      code: "NOT_FOUND",
      message: 'secret "nope" not found in environment "main"',
    });
    expect(await state()).toBe(before);
  });
});

describe("delete", () => {
  it("204, then 404; a new secret of the name gets a new id", async () => {
    const { call, request } = await inProcessApi();
    const first = await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1" } } });
    const deleted = await request("DELETE", "/v1/secrets/db");
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    expect((await call("DELETE", "/v1/secrets/db")).status).toBe(404);
    expect((await call("GET", "/v1/secrets/db")).status).toBe(404);
    const again = await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1" } } });
    expect(again.body.secret_id).not.toBe(first.body.secret_id);
  });
});

describe("list", () => {
  it("newest first, { data }, without values; max_objects and created_before", async () => {
    const { call } = await inProcessApi();
    for (const name of ["one", "two", "three"]) {
      await call("POST", "/v1/secrets", { json: { name, env: { K: VALUE } } });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const all = await call("GET", "/v1/secrets");
    expect(all.status).toBe(200);
    expect(all.body.data.map((secret: { name: string }) => secret.name)).toEqual([
      "three",
      "two",
      "one",
    ]);
    expect(all.body.next_cursor).toBeUndefined();
    expect((await call("GET", "/v1/secrets?max_objects=0")).body).toEqual({ data: [] });
    const two = all.body.data[1];
    const older = await call(
      "GET",
      `/v1/secrets?created_before=${encodeURIComponent(two.created_at)}`,
    );
    expect(older.body.data.map((secret: { name: string }) => secret.name)).toEqual(["one"]);
    const byDate = await call("GET", "/v1/secrets?created_before=2000-01-01");
    expect(byDate.body).toEqual({ data: [] });
  });

  it("next_cursor pages through every secret exactly once, ties included", async () => {
    const { call, manager } = await inProcessApi();
    // Same-millisecond creations are the hard case for a cursor: make many.
    await Promise.all(
      Array.from({ length: 23 }, (_, i) => manager.create(`s-${String(i).padStart(2, "0")}`, {})),
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = `max_objects=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await call("GET", `/v1/secrets?${query}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(5);
      seen.push(...page.body.data.map((secret: { name: string }) => secret.name));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(5);
    expect(seen.length).toBe(23);
    expect(new Set(seen).size).toBe(23);
    const listed = (await manager.list()).map((info) => info.name);
    expect(seen).toEqual(listed);
  });

  it(`without max_objects a page holds the document's default (100), and says there is more`, async () => {
    const { call, manager } = await inProcessApi({ store: "memory" });
    const parameter = apiDocument().components.parameters.MaxObjects;
    expect(parameter.schema.default).toBe(100);
    await Promise.all(Array.from({ length: 101 }, (_, i) => manager.create(`s${i}`, {})));
    const page = await call("GET", "/v1/secrets");
    expect(page.body.data.length).toBe(100);
    expect(typeof page.body.next_cursor).toBe("string");
    const rest = await call(
      "GET",
      `/v1/secrets?cursor=${encodeURIComponent(page.body.next_cursor)}`,
    );
    expect(rest.body.data.length).toBe(1);
    expect(rest.body.next_cursor).toBeUndefined();
  });
});

describe("mounting", () => {
  it("inside another Hono app (host.route), with the API's own error answers", async () => {
    const { api, writer } = await inProcessApi();
    const host = new Hono();
    host.get("/health", (c) => c.text("ok"));
    host.route("/", api);
    const fetch = checker.wrap((request) => host.fetch(request));
    const headers = { authorization: `Bearer ${writer.token}` };
    const created = await fetch(
      new Request("http://host.test/v1/secrets", {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ name: "db", env: { A: VALUE } }),
      }),
    );
    expect(created.status).toBe(201);
    const missing = await fetch(new Request("http://host.test/v1/secrets/nope", { headers }));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
    const invalid = await fetch(new Request("http://host.test/v1/secrets/a%2Fb", { headers }));
    expect(invalid.status).toBe(400);
    expect(await (await host.fetch(new Request("http://host.test/health"))).text()).toBe("ok");
  });
});

describe("routes", () => {
  it("GET /v1/openapi.json needs no token and serves the document the API validates with", async () => {
    const { call } = await inProcessApi();
    const served = await call("GET", "/v1/openapi.json", { token: null });
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toMatch(/^application\/json/);
    expect(served.body).toEqual(JSON.parse(JSON.stringify(apiDocument())));
  });

  it("an unknown route is a JSON 404; a known path with another method a JSON 405 with Allow", async () => {
    const { call } = await inProcessApi();
    for (const target of ["/", "/v1", "/v2/secrets", "/v1/secrets/a/b", "/v1/secret"]) {
      const response = await call("GET", target);
      expect(response.status, target).toBe(404);
      expect(response.body.error).toEqual({ code: "NOT_FOUND", message: "no such route" });
    }
    const cases = [
      ["PUT", "/v1/secrets", "GET, POST"],
      ["DELETE", "/v1/secrets", "GET, POST"],
      ["POST", "/v1/secrets/db", "GET, PATCH, DELETE"],
      ["OPTIONS", "/v1/secrets/db", "GET, PATCH, DELETE"],
      ["POST", "/v1/openapi.json", "GET"],
    ] as const;
    for (const [method, target, allow] of cases) {
      const response = await call(method, target);
      expect(response.status, `${method} ${target}`).toBe(405);
      expect(response.headers.get("allow")).toBe(allow);
      expect(response.body.error.code).toBe("INVALID");
    }
  });
});

describe("versions and rollback", () => {
  it("GET …/versions lists kept versions with key changes; POST …/rollback restores one as a new version", async () => {
    const { call, manager } = await inProcessApi();
    await call("POST", "/v1/secrets", { json: { name: "db", env: { PASS: VALUE, HOST: "h" } } });
    await call("PATCH", "/v1/secrets/db", { json: { env: { PASS: "two", HOST: null } } });
    const versions = await call("GET", "/v1/secrets/db/versions");
    expect(versions.status).toBe(200);
    expect(versions.body.data).toEqual([
      {
        version: 2,
        updated_at: expect.any(String),
        updated_by: expect.stringMatching(/^[0-9a-f]{16}$/),
        keys: ["PASS"],
        change: { added: [], changed: ["PASS"], removed: ["HOST"] },
      },
      {
        version: 1,
        updated_at: expect.any(String),
        updated_by: expect.stringMatching(/^[0-9a-f]{16}$/),
        keys: ["HOST", "PASS"],
        change: { added: ["HOST", "PASS"], changed: [], removed: [] },
      },
    ]);

    const stale = await call("POST", "/v1/secrets/db/rollback", {
      json: { version: 1 },
      headers: { "If-Match": '"1"' },
    });
    expect(stale.status).toBe(412);
    const rolled = await call("POST", "/v1/secrets/db/rollback", {
      json: { version: 1 },
      headers: { "If-Match": '"2"' },
    });
    expect(rolled.status).toBe(200);
    expect(rolled.headers.get("etag")).toBe('"3"');
    expect(rolled.body).toMatchObject({ name: "db", version: 3, keys: ["HOST", "PASS"] });
    expect(await manager.resolve([manager.fromName("db")])).toEqual({ PASS: VALUE, HOST: "h" });

    expect((await call("POST", "/v1/secrets/db/rollback", { json: { version: 9 } })).status).toBe(
      404,
    );
    expect((await call("GET", "/v1/secrets/nope/versions")).status).toBe(404);
    expect((await call("POST", "/v1/secrets/db/rollback", { json: { version: 0 } })).status).toBe(
      400,
    );
    expect((await call("POST", "/v1/secrets/db/rollback", { json: {} })).status).toBe(400);
    expect((await call("DELETE", "/v1/secrets/db/versions")).status).toBe(405);
    expect((await call("GET", "/v1/secrets/db/rollback")).status).toBe(405);
  });

  it("a read token may list versions but not roll back", async () => {
    const { call, token } = await inProcessApi();
    await call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1" } } });
    await call("PATCH", "/v1/secrets/db", { json: { env: { A: "2" } } });
    const reader = await token("read");
    expect((await call("GET", "/v1/secrets/db/versions", { token: reader.token })).status).toBe(
      200,
    );
    const denied = await call("POST", "/v1/secrets/db/rollback", {
      json: { version: 1 },
      token: reader.token,
    });
    expect(denied.status).toBe(403);
  });
});

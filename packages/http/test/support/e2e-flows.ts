/**
 * End to end, against one kind of store: a real `envkeep serve` child process on a random port,
 * driven by a typed client generated from the served document (openapi-typescript +
 * openapi-fetch), with tokens made by the real `envkeep token` commands. Every response goes
 * through the file's response checker; the servers' stderr (the access log), the CLI's output
 * and the raw store are searched for the canaries.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateMasterKey, TOKEN_CACHE_MS } from "@envkeep/core";
import createClient from "openapi-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { paths } from "../generated/api.js";
import { ResponseChecker } from "./response-check.js";
import { createToken, ensureBuilt, envkeep, type RunningServe, startServe } from "./serve.js";

export interface StoreUnderTest {
  /** `ENVKEEP_STORE` of a fresh, empty store. */
  url: string;
  /** Everything the backend holds for that store, as text (for leak checks). */
  raw(): Promise<string>;
}

/** The typed client of a server, every response checked. */
export function typedClient(checker: ResponseChecker, url: string, token: string) {
  return createClient<paths>({
    baseUrl: `${url}/v1`,
    headers: { Authorization: `Bearer ${token}` },
    fetch: checker.wrap((request) => fetch(request)),
  });
}

export function e2eFlows(label: string, newStore: () => Promise<StoreUnderTest>): ResponseChecker {
  const checker = new ResponseChecker();
  const VALUE = checker.canary(`e2e-canary-value-${randomBytes(6).toString("hex")}`);
  const servers: RunningServe[] = [];
  const work = mkdtempSync(path.join(tmpdir(), `envkeep-http-e2e-${label}-`));
  let counter = 0;

  beforeAll(async () => {
    await ensureBuilt();
  }, 180_000);

  afterAll(async () => {
    for (const server of servers) await server.stop("SIGKILL");
    rmSync(work, { recursive: true, force: true });
    checker.assertAllChecked();
  });

  /** A fresh store, its environment, and a way to start servers on it. */
  async function setup() {
    const store = await newStore();
    const cwd = path.join(work, `case-${++counter}`);
    mkdirSync(cwd, { recursive: true });
    const env = { ENVKEEP_MASTER_KEY: generateMasterKey(), ENVKEEP_STORE: store.url };
    const serve = async (args: string[] = []) => {
      const server = await startServe({ env, args, cwd });
      servers.push(server);
      return server;
    };
    const token = async (args: string[]) => {
      const created = await createToken(env, args);
      checker.canary(created.token);
      expect(created.result.stderr).toMatch(/^envkeep: created token [0-9a-f]{16} /);
      expect(checker.leaks(created.result.stderr)).toEqual([]);
      return created;
    };
    return { store, env, cwd, serve, token };
  }

  /** The servers' output holds no canary. */
  const expectNoLeaks = (...texts: string[]) => {
    for (const text of texts) expect(checker.leaks(text)).toEqual([]);
  };

  describe(`envkeep serve end to end (${label})`, () => {
    it("the whole flow with the typed client: create, get, update, list, delete", async () => {
      const { serve, token, store, env, cwd } = await setup();
      const server = await serve();
      const { token: bearer, id } = await token(["--name", "e2e", "--scope", "write"]);
      const client = typedClient(checker, server.url, bearer);

      const created = await client.POST("/secrets", {
        body: { name: "api-keys", env: { API_KEY: VALUE, REGION: "eu" } },
      });
      expect(created.response.status).toBe(201);
      expect(created.data).toMatchObject({ name: "api-keys", environment: "main", version: 1 });
      expect(created.data?.keys).toEqual(["API_KEY", "REGION"]);

      const got = await client.GET("/secrets/{secret_name}", {
        params: { path: { secret_name: "api-keys" } },
      });
      expect(got.data).toEqual(created.data);
      expect(got.response.headers.get("etag")).toBe('"1"');

      const updated = await client.PATCH("/secrets/{secret_name}", {
        params: { path: { secret_name: "api-keys" }, header: { "If-Match": '"1"' } },
        body: { env: { REGION: null, TIMEOUT: "30" } },
      });
      expect(updated.data).toMatchObject({ version: 2, keys: ["API_KEY", "TIMEOUT"] });
      const stale = await client.PATCH("/secrets/{secret_name}", {
        params: { path: { secret_name: "api-keys" }, header: { "If-Match": '"1"' } },
        body: { env: { API_KEY: VALUE } },
      });
      expect(stale.response.status).toBe(412);
      expect(stale.error?.error.code).toBe("CONFLICT");

      const duplicate = await client.POST("/secrets", {
        body: { name: "api-keys", env: { API_KEY: VALUE } },
      });
      expect(duplicate.response.status).toBe(409);
      expect(duplicate.error?.error.code).toBe("ALREADY_EXISTS");
      const invalid = await client.POST("/secrets", {
        body: { name: "bad name", env: { API_KEY: VALUE } },
      });
      expect(invalid.response.status).toBe(400);

      for (const name of ["b", "c", "d"]) {
        await client.POST("/secrets", {
          body: { name, env: { K: VALUE }, environment: "prod" },
        });
      }
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.GET("/secrets", {
          params: { query: { environment: "prod", max_objects: 2, ...(cursor ? { cursor } : {}) } },
        });
        expect(page.response.status).toBe(200);
        names.push(...(page.data?.data ?? []).map((secret) => secret.name));
        cursor = page.data?.next_cursor;
      } while (cursor);
      expect(names).toEqual(["d", "c", "b"]);

      // The CLI, on the same store, sees what the API wrote.
      const info = await envkeep(["secret", "info", "api-keys", "--json"], { env, cwd });
      expect(JSON.parse(info.stdout)).toMatchObject({ version: 2, keys: ["API_KEY", "TIMEOUT"] });

      const deleted = await client.DELETE("/secrets/{secret_name}", {
        params: { path: { secret_name: "api-keys" } },
      });
      expect(deleted.response.status).toBe(204);
      const gone = await client.GET("/secrets/{secret_name}", {
        params: { path: { secret_name: "api-keys" } },
      });
      expect(gone.response.status).toBe(404);
      expect(gone.error?.error).toEqual({
        code: "NOT_FOUND",
        message: 'secret "api-keys" not found in environment "main"',
      });

      // The access log: one line per request, with the route pattern and the token's id.
      const lines = server
        .stderr()
        .split("\n")
        .filter((line) => / \/v1\//.test(line));
      expect(lines.length).toBe(13);
      for (const line of lines) {
        expect(line).toMatch(
          new RegExp(
            `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z (GET|POST|PATCH|DELETE) /v1/secrets(/\\{secret_name\\})? \\d{3} [\\d.]+ms token=${id}( error=[A-Z_]+)?$`,
          ),
        );
      }
      expect(await server.stop()).toBe(0);
      expectNoLeaks(server.stderr(), server.stdout());
      expect(checker.leaks(await store.raw())).toEqual([]);
    });

    it("100 parallel POSTs of one name: exactly one 201 and 99 × 409", async () => {
      const { serve, token } = await setup();
      const server = await serve();
      const client = typedClient(
        checker,
        server.url,
        (await token(["--name", "c", "--scope", "write"])).token,
      );
      const statuses = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const { response } = await client.POST("/secrets", {
            body: { name: "contended", env: { WRITER: String(i) } },
          });
          return response.status;
        }),
      );
      expect(statuses.filter((status) => status === 201)).toHaveLength(1);
      expect(statuses.filter((status) => status === 409)).toHaveLength(99);
      const { data } = await client.GET("/secrets/{secret_name}", {
        params: { path: { secret_name: "contended" } },
      });
      expect(data).toMatchObject({ version: 1, keys: ["WRITER"] });
    }, 60_000);

    it("200 parallel PATCHes of distinct keys: all 200, every key present", async () => {
      const { serve, token } = await setup();
      const server = await serve();
      const client = typedClient(
        checker,
        server.url,
        (await token(["--name", "p", "--scope", "write"])).token,
      );
      await client.POST("/secrets", { body: { name: "shared", env: {} } });
      const statuses = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const { response } = await client.PATCH("/secrets/{secret_name}", {
            params: { path: { secret_name: "shared" } },
            body: { env: { [`KEY_${i}`]: VALUE } },
          });
          return response.status;
        }),
      );
      expect(statuses.every((status) => status === 200)).toBe(true);
      const { data } = await client.GET("/secrets/{secret_name}", {
        params: { path: { secret_name: "shared" } },
      });
      expect(data?.keys).toHaveLength(200);
      expect(new Set(data?.keys)).toEqual(
        new Set(Array.from({ length: 200 }, (_, i) => `KEY_${i}`)),
      );
      expect(data?.version).toBe(201);
    }, 60_000);

    it("scope and environment limits, and expiry, over HTTP", async () => {
      const { serve, token, env, cwd } = await setup();
      const server = await serve();
      const writer = typedClient(
        checker,
        server.url,
        (await token(["--name", "w", "--scope", "write"])).token,
      );
      await writer.POST("/secrets", {
        body: { name: "db", env: { K: VALUE }, environment: "prod" },
      });
      const reader = typedClient(
        checker,
        server.url,
        (await token(["--name", "r", "--scope", "read", "--environment", "dev", "staging"])).token,
      );
      const prod = { params: { path: { secret_name: "db" }, query: { environment: "prod" } } };
      const missing = { params: { path: { secret_name: "nope" }, query: { environment: "prod" } } };
      const [existing, absent] = [
        await reader.GET("/secrets/{secret_name}", prod),
        await reader.GET("/secrets/{secret_name}", missing),
      ];
      expect(existing.response.status).toBe(403);
      expect(absent.error).toEqual(existing.error);
      const dev = { params: { path: { secret_name: "db" }, query: { environment: "dev" } } };
      expect((await reader.GET("/secrets/{secret_name}", dev)).response.status).toBe(404);
      const write = await reader.POST("/secrets", {
        body: { name: "x", env: {}, environment: "dev" },
      });
      expect(write.response.status).toBe(403);

      // A token that expires a few seconds after it is made works, then does not.
      const made = await token(["--name", "brief", "--scope", "read", "--expires-in", "4s"]);
      const { expiresAt } = JSON.parse(
        (await envkeep(["token", "list", "--json"], { env, cwd })).stdout,
      ).find((entry: { id: string }) => entry.id === made.id);
      const brief = typedClient(checker, server.url, made.token);
      const before = await brief.GET("/secrets", {});
      expect(before.response.status).toBe(Date.now() < Date.parse(expiresAt) ? 200 : 401);
      await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt) - Date.now() + 100));
      const after = await brief.GET("/secrets", {});
      expect(after.response.status).toBe(401);
      expect(after.error?.error.message).toMatch(/^access token [0-9a-f]{16} has expired$/);
    });

    it(`a revocation reaches a second server process on the same store within ${TOKEN_CACHE_MS} ms (+ margin)`, async () => {
      const { serve, token, env, cwd } = await setup();
      const [a, b] = [await serve(), await serve()];
      const { token: bearer, id } = await token(["--name", "doomed", "--scope", "read"]);
      const clients = [typedClient(checker, a.url, bearer), typedClient(checker, b.url, bearer)];
      for (const client of clients) {
        expect((await client.GET("/secrets", {})).response.status).toBe(200);
      }
      const revoked = await envkeep(["token", "revoke", id], { env, cwd });
      expect(revoked).toMatchObject({ code: 0, stderr: "" });
      const start = Date.now();
      const cutOff = await Promise.all(
        clients.map(async (client) => {
          for (;;) {
            const { response } = await client.GET("/secrets", {});
            if (response.status === 401) return Date.now() - start;
            expect(response.status).toBe(200);
            if (Date.now() - start > 10_000) return Number.POSITIVE_INFINITY;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }),
      );
      for (const ms of cutOff) expect(ms).toBeLessThanOrEqual(TOKEN_CACHE_MS + 3_000);
      // And neither server restarted.
      expect(a.child.exitCode).toBeNull();
      expect(b.child.exitCode).toBeNull();
    });

    it("token list and the servers' logs never hold a token or a value", async () => {
      const { serve, token, env, cwd } = await setup();
      const server = await serve();
      const admin = await token(["--name", "admin", "--scope", "admin"]);
      const client = typedClient(checker, server.url, admin.token);
      await client.POST("/secrets", { body: { name: "db", env: { PASSWORD: VALUE } } });
      await client.PATCH("/secrets/{secret_name}", {
        params: { path: { secret_name: "db" } },
        body: { env: { OTHER: VALUE } },
      });
      await client.GET("/secrets/{secret_name}", { params: { path: { secret_name: "db" } } });
      // A token sent where it does not belong: in the query, in a wrong header.
      await fetch(`${server.url}/v1/secrets?token=${admin.token}`, {
        headers: { authorization: `Bearer ${admin.token}` },
      }).then((response) => checker.check("GET", response));
      await fetch(`${server.url}/v1/secrets`, {
        headers: { authorization: `Basic ${admin.token}` },
      }).then((response) => checker.check("GET", response));
      for (const args of [
        ["token", "list"],
        ["token", "list", "--json"],
      ]) {
        const listed = await envkeep(args, { env, cwd });
        expect(listed.code).toBe(0);
        expect(listed.stdout).toContain(admin.id);
        expectNoLeaks(listed.stdout, listed.stderr);
      }
      expect(await server.stop()).toBe(0);
      expect(server.stderr()).toMatch(/ 400 [\d.]+ms token=[0-9a-f]{16} error=INVALID\n/);
      expectNoLeaks(server.stderr(), server.stdout());
    });
  });

  return checker;
}

/**
 * `envkeep serve` as an operator runs it (the built binary, a real SQLite file): TLS, a graceful
 * stop on SIGTERM (in-flight requests finish, then the store closes and the process exits 0),
 * the access log on stderr, the body limit and the default environment, and its errors.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import path from "node:path";
import { generateMasterKey } from "@envkeep/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// Every answer is checked against the API document, as in @envkeep/http's own tests.
import { ResponseChecker } from "../../http/test/support/response-check.js";
import { ensureBuilt } from "./support/build.js";
import { envkeep, tempDir } from "./support/cli.js";
import { createToken, type RunningServe, startServe } from "./support/serve.js";

const work = tempDir("serve");
const servers: RunningServe[] = [];
let counter = 0;

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);
const checker = new ResponseChecker();
const checked = checker.wrap((request) => fetch(request));
afterAll(async () => {
  for (const server of servers) await server.stop("SIGKILL");
  work.remove();
  checker.assertAllChecked();
});

function setup() {
  const env = {
    ENVKEEP_MASTER_KEY: generateMasterKey(),
    ENVKEEP_STORE: `sqlite:${path.join(work.dir, `db-${++counter}`, "secrets.db")}`,
  };
  const serve = async (args: string[] = []) => {
    const server = await startServe({ env, args, cwd: work.dir });
    servers.push(server);
    return server;
  };
  return { env, serve };
}

const hasOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
if (!hasOpenssl && process.env.CI)
  throw new Error("CI is set, so not skipping: openssl is missing");

describe("envkeep serve", () => {
  it.skipIf(!hasOpenssl)("serves HTTPS with --tls-cert and --tls-key", async () => {
    const { env, serve } = setup();
    const cert = path.join(work.dir, "cert.pem");
    const key = path.join(work.dir, "key.pem");
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      { stdio: "pipe" },
    );
    expect(made.status, made.stderr.toString()).toBe(0);
    const { token } = await createToken(env, ["--name", "tls", "--scope", "read"]);
    const server = await serve(["--tls-cert", cert, "--tls-key", key]);
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(cert);
    const answer = await new Promise<{
      status: number;
      body: string;
      headers: [string, string][];
    }>((resolve, reject) => {
      const request = httpsRequest(
        `${server.url}/v1/secrets`,
        { ca, headers: { authorization: `Bearer ${token}` } },
        (response) => {
          let body = "";
          response.setEncoding("utf8").on("data", (chunk: string) => {
            body += chunk;
          });
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              body,
              headers: Object.entries(response.headers).map(
                ([name, value]) => [name, String(value)] as [string, string],
              ),
            }),
          );
        },
      );
      request.on("error", reject);
      request.end();
    });
    expect(answer).toMatchObject({ status: 200, body: '{"data":[]}' });
    const seen = new Response(answer.body, {
      status: answer.status,
      headers: answer.headers,
    });
    Object.defineProperty(seen, "url", { value: `${server.url}/v1/secrets` });
    await checker.check("GET", seen);
    // Plain HTTP to the HTTPS port gets nowhere.
    await expect(fetch(server.url.replace("https:", "http:"))).rejects.toThrow();
  });

  it("SIGTERM: a request in flight finishes, new connections are refused, the store closes, exit 0", async () => {
    const { env, serve } = setup();
    const { token } = await createToken(env, ["--name", "t", "--scope", "write"]);
    const server = await serve();
    const body = JSON.stringify({ name: "slow", env: { A: "1" } });
    const { port } = new URL(server.url);
    // A POST whose body arrives in two halves, with the SIGTERM in between.
    let markInFlight!: () => void;
    const inFlight = new Promise<void>((resolve) => {
      markInFlight = resolve;
    });
    const answer = new Promise<{ status: number; body: string; headers: [string, string][] }>(
      (resolve, reject) => {
        const request = httpRequest(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/v1/secrets",
            headers: {
              authorization: `Bearer ${token}`,
              "content-type": "application/json",
              "content-length": Buffer.byteLength(body),
              expect: "100-continue",
            },
          },
          (response) => {
            let text = "";
            response.setEncoding("utf8").on("data", (chunk: string) => {
              text += chunk;
            });
            response.on("end", () =>
              resolve({
                status: response.statusCode ?? 0,
                body: text,
                headers: Object.entries(response.headers).map(
                  ([name, value]) => [name, String(value)] as [string, string],
                ),
              }),
            );
          },
        );
        request.on("error", reject);
        // The server sends 100 Continue as it hands the request to the API: from then on the
        // request is in flight.
        request.once("continue", () => request.write(body.slice(0, 10), () => markInFlight()));
        const waitForStop = setInterval(() => {
          if (/stopping \(1 requests in flight\)/.test(server.stderr())) {
            clearInterval(waitForStop);
            request.end(body.slice(10));
          }
        }, 20);
      },
    );
    await inFlight;
    server.child.kill("SIGTERM");
    const finished = await answer;
    expect(finished.status).toBe(201);
    const seen = new Response(finished.body, { status: 201, headers: finished.headers });
    Object.defineProperty(seen, "url", { value: `${server.url}/v1/secrets` });
    await checker.check("POST", seen);
    expect(JSON.parse(finished.body)).toMatchObject({ name: "slow", version: 1 });
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toMatch(
      /envkeep: SIGTERM: stopping \(1 requests in flight\)\n\{"at":"[^"]+","action":"create",[^\n]*\}\n.* POST \/v1\/secrets 201 [\d.]+ms token=[0-9a-f]{16}\nenvkeep: stopped; store closed\n$/,
    );
    await expect(fetch(`${server.url}/v1/openapi.json`)).rejects.toThrow();
    // What it wrote is there.
    const info = await envkeep(["secret", "info", "slow", "--json"], { env, cwd: work.dir });
    expect(JSON.parse(info.stdout)).toMatchObject({ keys: ["A"] });
  });

  it("a SIGTERM as soon as it says it is serving still stops it gracefully (no start-up window)", async () => {
    const { serve } = setup();
    // The handlers must be in place before the line is written; the window was microseconds, so
    // a few starts in a row.
    for (let i = 0; i < 12; i++) {
      const server = await serve();
      expect(await server.stop()).toBe(0);
      expect(server.stderr()).toMatch(/envkeep: stopped; store closed\n$/);
    }
  }, 60_000);

  it("SIGTERM with a request that never finishes: cut after --shutdown-timeout, still exit 0", async () => {
    const { env, serve } = setup();
    const { token } = await createToken(env, ["--name", "t", "--scope", "write"]);
    const server = await serve(["--shutdown-timeout", "1"]);
    const { port } = new URL(server.url);
    const request = httpRequest({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/v1/secrets",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "content-length": 1000,
        expect: "100-continue",
      },
    });
    request.on("error", () => {});
    // In flight once the server has sent 100 Continue (see the test above).
    await new Promise<void>((resolve) =>
      request.once("continue", () => request.write("{", () => resolve())),
    );
    const start = Date.now();
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(Date.now() - start).toBeLessThan(5_000);
    expect(server.stderr()).toMatch(
      /stopping \(1 requests in flight\)\n(.*\n)*envkeep: stopped; store closed\n$/,
    );
    request.destroy();
  });

  it("the access log: one line per request on stderr; --no-access-log turns it off", async () => {
    const { env, serve } = setup();
    const { token, id } = await createToken(env, ["--name", "t", "--scope", "read"]);
    const logged = await serve();
    const quiet = await serve(["--no-access-log"]);
    for (const server of [logged, quiet]) {
      await checked(`${server.url}/v1/secrets/some-name`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await checked(`${server.url}/v1/nowhere`);
      expect(await server.stop()).toBe(0);
    }
    const lines = logged.stderr().trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^envkeep: serving workspace "default" of sqlite:.*secrets\.db on http:\/\/127\.0\.0\.1:\d+ \(SIGTERM or Ctrl-C stops\)$/,
    );
    expect(lines[1]).toMatch(
      /^envkeep: dashboard at http:\/\/127\.0\.0\.1:\d+\/ \(sign in with a token\)$/,
    );
    expect(lines.slice(2, 4)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^\\S+Z GET /v1/secrets/\\{secret_name\\} 404 [\\d.]+ms token=${id} error=NOT_FOUND$`,
        ),
      ),
      expect.stringMatching(/^\S+Z GET \(no route\) 404 [\d.]+ms token=- error=NOT_FOUND$/),
    ]);
    expect(logged.stderr()).not.toContain("some-name");
    expect(quiet.stderr()).not.toMatch(/ GET /);
  });

  it("the audit log: one JSON line per write on stderr, the token's id as actor; --no-audit-log turns it off", async () => {
    const { env, serve } = setup();
    const { token, id } = await createToken(env, ["--name", "auditor", "--scope", "write"]);
    const logged = await serve();
    const quiet = await serve(["--no-audit-log"]);
    const call = (server: RunningServe, method: string, route: string, body?: unknown) =>
      checked(`${server.url}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const start = Date.now();
    const created = await call(logged, "POST", "/v1/secrets", {
      name: "db",
      env: { PGHOST: "h1", PGPASSWORD: "pw-1" },
    });
    expect(created.status).toBe(201);
    expect(
      (await call(logged, "PATCH", "/v1/secrets/db", { env: { PGPORT: "5432", PGHOST: null } }))
        .status,
    ).toBe(200);
    expect((await call(logged, "GET", "/v1/secrets/db")).status).toBe(200);
    expect((await call(logged, "GET", "/v1/secrets/db/versions")).status).toBe(200);
    expect((await call(logged, "POST", "/v1/secrets/db/rollback", { version: 1 })).status).toBe(
      200,
    );
    expect((await call(logged, "DELETE", "/v1/secrets/db")).status).toBe(204);
    expect((await call(quiet, "POST", "/v1/secrets", { name: "q", env: { A: "1" } })).status).toBe(
      201,
    );
    for (const server of [logged, quiet]) expect(await server.stop()).toBe(0);

    const lines = logged.stderr().trimEnd().split("\n");
    const audit = lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
    const event = (action: string, version: number, keys: string[]) => ({
      at: expect.any(String),
      action,
      workspace: "default",
      environment: "main",
      name: "db",
      version,
      actor: id,
      keys,
    });
    expect(audit).toEqual([
      event("create", 1, ["PGHOST", "PGPASSWORD"]),
      event("update", 2, ["PGPASSWORD", "PGPORT"]),
      event("rollback", 3, ["PGHOST", "PGPASSWORD"]),
      event("delete", 3, ["PGHOST", "PGPASSWORD"]),
    ]);
    for (const event of audit) {
      expect(Object.keys(event)).toEqual([
        "at",
        "action",
        "workspace",
        "environment",
        "name",
        "version",
        "actor",
        "keys",
      ]);
      const at = Date.parse(event.at);
      expect(at).toBeGreaterThanOrEqual(start - 1_000);
      expect(at).toBeLessThanOrEqual(Date.now());
    }
    // Each write's audit line comes right before the access-log line of its request; reads log
    // nothing in the audit log.
    const order = lines
      .filter((line) => line.startsWith("{") || / \/v1\//.test(line))
      .map((line) => (line.startsWith("{") ? "audit" : line.split(" ").slice(1, 4).join(" ")));
    expect(order).toEqual([
      "audit",
      "POST /v1/secrets 201",
      "audit",
      "PATCH /v1/secrets/{secret_name} 200",
      "GET /v1/secrets/{secret_name} 200",
      "GET /v1/secrets/{secret_name}/versions 200",
      "audit",
      "POST /v1/secrets/{secret_name}/rollback 200",
      "audit",
      "DELETE /v1/secrets/{secret_name} 204",
    ]);
    expect(quiet.stderr()).not.toMatch(/^\{/m);
    expect(quiet.stderr()).toMatch(/ POST \/v1\/secrets 201 /);
  });

  it("the audit log never holds a value (canaries through every write route); --audit-reads and --max-versions", async () => {
    const { env, serve } = setup();
    const { token, id } = await createToken(env, ["--name", "canary", "--scope", "write"]);
    const server = await serve(["--audit-reads", "--max-versions", "1"]);
    const canary = (n: number) => `audit-canary-${n}-5e1f0c7a`;
    const call = (method: string, route: string, body?: unknown, headers = {}) =>
      checked(`${server.url}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect(
      (await call("POST", "/v1/secrets", { name: "s", env: { TOKEN: canary(1), B: canary(2) } }))
        .status,
    ).toBe(201);
    expect(
      (
        await call("POST", "/v1/secrets", {
          name: "s",
          env: { TOKEN: canary(3) },
          if_exists: "overwrite",
        })
      ).status,
    ).toBe(200);
    expect(
      (await call("POST", "/v1/secrets", { name: "d", dotenv: `K=${canary(4)}\nL=${canary(5)}\n` }))
        .status,
    ).toBe(201);
    expect((await call("PATCH", "/v1/secrets/s", { env: { TOKEN: canary(6) } })).status).toBe(200);
    // --max-versions 1: the current version (3) and one old one (2); version 1 is gone.
    const versions = await call("GET", "/v1/secrets/s/versions");
    expect(((await versions.json()) as { data: { version: number }[] }).data).toMatchObject([
      { version: 3 },
      { version: 2 },
    ]);
    expect((await call("POST", "/v1/secrets/s/rollback", { version: 1 })).status).toBe(404);
    expect(
      (await call("POST", "/v1/secrets/s/rollback", { version: 2 }, { "if-match": '"2"' })).status,
    ).toBe(412);
    expect(
      (await call("POST", "/v1/secrets/s/rollback", { version: 2 }, { "if-match": '"3"' })).status,
    ).toBe(200);
    expect((await call("DELETE", "/v1/secrets/d")).status).toBe(204);
    expect(await server.stop()).toBe(0);

    const output = server.stderr() + server.stdout();
    for (let n = 1; n <= 6; n++) expect(output).not.toContain(canary(n));
    expect(output).not.toContain("5e1f0c7a");
    const audit = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line));
    expect(audit.map((event) => `${event.action} ${event.name} ${event.version}`)).toEqual([
      "create s 1",
      "update s 2",
      "create d 1",
      "update s 3",
      "rollback s 4",
      "delete d 1",
    ]);
    for (const event of audit) expect(event.actor).toBe(id);
    // The API returns metadata only: --audit-reads has no read of values to report.
    expect(audit.some((event) => event.action === "read")).toBe(false);
  });

  it("serves the dashboard at / by default; --no-dashboard turns it off", async () => {
    const { serve } = setup();
    const withPage = await serve();
    const page = await fetch(`${withPage.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(await page.text()).toContain('<script type="module" src="assets/app.js">');
    const without = await serve(["--no-dashboard"]);
    expect((await checked(`${without.url}/`)).status).toBe(404);
    expect(without.stderr()).not.toContain("dashboard at");
    for (const server of [withPage, without]) expect(await server.stop()).toBe(0);
  });

  it("plain HTTP on an address other machines can reach: a warning on stderr", async () => {
    const { serve } = setup();
    const exposed = await serve(["--host", "0.0.0.0"]);
    expect(exposed.stderr()).toMatch(
      /^envkeep: warning: plain HTTP on 0\.0\.0\.0: tokens would cross the network in clear; use --tls-cert and --tls-key, or a TLS proxy in front\n/,
    );
    expect(await exposed.stop()).toBe(0);
    const local = await serve();
    expect(local.stderr()).not.toMatch(/warning/);
  });

  it("-e sets the environment of requests that name none; --body-limit is enforced", async () => {
    const { env, serve } = setup();
    const { token } = await createToken(env, ["--name", "t", "--scope", "write"]);
    const server = await serve(["-e", "dev", "--body-limit", "100"]);
    const post = (json: unknown) =>
      checked(`${server.url}/v1/secrets`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(json),
      });
    const created = await post({ name: "db", env: { A: "1" } });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ environment: "dev" });
    const big = await post({ name: "big", env: { A: "x".repeat(200) } });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({
      error: { code: "INVALID", message: "the request body is larger than 100 bytes" },
    });
  });

  it("a port in use: exit 1 naming it; bad options: exit 2; nothing is left running", async () => {
    const { env } = setup();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const address = taken.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const busy = await envkeep(["serve", "--port", String(port)], { env, cwd: work.dir });
      expect(busy).toEqual({
        code: 1,
        stdout: "",
        stderr: `envkeep: cannot listen on 127.0.0.1:${port} (EADDRINUSE)\n`,
      });
    } finally {
      taken.close();
    }
    const missingFile = path.join(work.dir, "no-such-cert.pem");
    const cases: [string[], number, RegExp][] = [
      [["serve", "--port", "http"], 2, /^envkeep: --port takes an integer from 0 to 65535\n$/],
      [["serve", "--port", "70000"], 2, /--port takes an integer/],
      [["serve", "--body-limit", "0"], 2, /--body-limit takes an integer from 1/],
      [["serve", "--shutdown-timeout", "-1"], 2, /--shutdown-timeout takes an integer/],
      [["serve", "--host", "TOKEN=abc"], 2, /^envkeep: --host takes an address\n$/],
      [["serve", "--tls-cert", missingFile], 2, /--tls-cert and --tls-key go together/],
      [
        ["serve", "--audit-reads", "--no-audit-log"],
        2,
        /^envkeep: --audit-reads needs the audit log: drop --no-audit-log\n$/,
      ],
      [["serve", "--max-versions", "abc"], 2, /^envkeep: --max-versions takes a whole number/],
      [
        ["serve", "--tls-cert", missingFile, "--tls-key", missingFile],
        1,
        /^envkeep: cannot read --tls-cert file ".*no-such-cert\.pem" \(ENOENT\)\n$/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const result = await envkeep(args, { env, cwd: work.dir });
      expect(result.code, args.join(" ")).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain("abc");
    }
    const noKey = await envkeep(["serve"], {
      env: { ENVKEEP_STORE: env.ENVKEEP_STORE },
      cwd: work.dir,
    });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/^envkeep: no master key/);
  });
});

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
      /envkeep: SIGTERM: stopping \(1 requests in flight\)\n.* POST \/v1\/secrets 201 [\d.]+ms token=[0-9a-f]{16}\nenvkeep: stopped; store closed\n$/,
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

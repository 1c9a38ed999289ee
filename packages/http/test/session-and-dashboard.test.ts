/**
 * What the dashboard needs of the API, in-process on a real SQLite file: a token's view of itself
 * (`GET /v1/token`), the environments it may use (`GET /v1/environments`), creating from pasted
 * .env text (read by core's rules, never against the server's environment), and the page mounted
 * at `/` by `createApi({ dashboard: true })`.
 */
import { DASHBOARD_CSP } from "@envkeep/dashboard";
import { afterAll, describe, expect, it } from "vitest";
import { checker, inProcessApi } from "./support/in-process.js";

afterAll(() => checker.assertAllChecked());

const VALUE = checker.canary("sk-live-dotenv-canary-77e1");

describe("GET /v1/token", () => {
  it("describes the calling token (never the token itself), for every scope", async () => {
    const { call, token, writer } = await inProcessApi();
    const reader = await token("read", { environments: ["prod", "dev"] });
    const mine = await call("GET", "/v1/token", { token: reader.token });
    expect(mine).toMatchObject({
      status: 200,
      body: {
        id: reader.info.id,
        name: "read-token",
        scope: "read",
        environments: ["dev", "prod"],
        created_at: reader.info.createdAt.toISOString(),
      },
    });
    expect(JSON.stringify(mine.body)).not.toContain(reader.token.slice(21));
    expect((await call("GET", "/v1/token")).body).toMatchObject({
      id: writer.info.id,
      environments: null,
    });
    expect((await call("GET", "/v1/token", { token: null })).status).toBe(401);
  });
});

describe("GET /v1/environments", () => {
  it("a token of every environment sees the workspace's, sorted; never the reserved ones", async () => {
    const { call, manager } = await inProcessApi({ environment: "dev" });
    await manager.create("a", { A: "1" }, { environment: "prod" });
    await manager.create("b", { B: "1" }, { environment: "qa" });
    const listed = await call("GET", "/v1/environments");
    expect(listed).toMatchObject({ status: 200, body: { data: ["prod", "qa"], default: "dev" } });
  });

  it("a limited token sees exactly its environments, not whether others exist", async () => {
    const { call, manager, token } = await inProcessApi({ environment: "dev" });
    await manager.create("a", { A: "1" }, { environment: "secret-project" });
    const limited = await token("read", { environments: ["staging", "prod"] });
    const listed = await call("GET", "/v1/environments", { token: limited.token });
    expect(listed.body).toEqual({ data: ["prod", "staging"], default: "prod" });
    expect(JSON.stringify(listed.body)).not.toContain("secret-project");
  });
});

describe("POST /v1/secrets with dotenv text", () => {
  it("reads the text by core's rules; references see only the text's own keys", async () => {
    const { call, manager } = await inProcessApi();
    process.env.ENVKEEP_TEST_SERVER_ONLY = "server-variable";
    try {
      const created = await call("POST", "/v1/secrets", {
        json: {
          name: "from-dotenv",
          dotenv: `# a comment\nHOST=db\nURL="postgres://\${HOST}/app"\nTOKEN=${VALUE}\nLEAK=\${ENVKEEP_TEST_SERVER_ONLY}\nLITERAL='$HOST'\n`,
        },
      });
      expect(created.status).toBe(201);
      expect(created.body.keys).toEqual(["HOST", "LEAK", "LITERAL", "TOKEN", "URL"]);
      expect(await manager.resolve([manager.fromName("from-dotenv")])).toEqual({
        HOST: "db",
        URL: "postgres://db/app",
        TOKEN: VALUE,
        LEAK: "",
        LITERAL: "$HOST",
      });
    } finally {
      delete process.env.ENVKEEP_TEST_SERVER_ONLY;
    }
  });

  it("an unreadable line is a 400 naming its line, never its text; nothing is stored", async () => {
    const { call, state } = await inProcessApi();
    const before = await state();
    const bad = await call("POST", "/v1/secrets", {
      json: { name: "bad", dotenv: `A=1\nthis line is ${VALUE}\n` },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/line 2/);
    expect(await state()).toBe(before);
  });

  it("env and dotenv together, or neither, is a 400", async () => {
    const { call, state } = await inProcessApi();
    const before = await state();
    for (const json of [{ name: "x", env: { A: "1" }, dotenv: "A=1" }, { name: "x" }]) {
      const refused = await call("POST", "/v1/secrets", { json });
      expect(refused.status, JSON.stringify(json)).toBe(400);
    }
    expect(await state()).toBe(before);
  });
});

describe("createApi({ dashboard: true })", () => {
  it("serves the page at / with its strict policy; without the option there is none", async () => {
    const withPage = await inProcessApi({ dashboard: true });
    const page = await withPage.request("GET", "/", { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect(await page.text()).toContain("<title>envkeep</title>");
    const script = await withPage.request("GET", "/assets/app.js", { token: null });
    expect(script.headers.get("content-type")).toContain("javascript");
    // The API keeps its own answers beside it.
    expect((await withPage.call("GET", "/v1/nope")).status).toBe(404);
    const without = await inProcessApi();
    expect((await without.request("GET", "/", { token: null })).status).toBe(404);
  });
});

/**
 * The bad-input battery, in-process on a real SQLite file: malformed JSON, wrong content types,
 * oversize bodies, names and keys outside the rules, unknown fields, bad parameters, path tricks
 * and unicode. Each is a clear JSON 4xx with core's code, its message never holds the value sent,
 * and nothing stored changes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checker, type InProcessApi, inProcessApi } from "./support/in-process.js";

afterAll(() => checker.assertAllChecked());

const VALUE = checker.canary("canary-value-5d2e8a-never-echoed");
const LIMIT = 8 * 1024;

let api: InProcessApi;
let before: string;

beforeAll(async () => {
  api = await inProcessApi({ bodyLimit: LIMIT });
  await api.call("POST", "/v1/secrets", { json: { name: "db", env: { A: "1", B: VALUE } } });
  await api.call("POST", "/v1/secrets", {
    json: { name: "db", env: { A: "2" }, environment: "prod" },
  });
  before = await api.state();
});

interface Case {
  what: string;
  method?: string;
  target?: string;
  json?: unknown;
  body?: RequestInit["body"];
  headers?: Record<string, string>;
  status: number;
  message: RegExp;
}

const post = (what: string, json: unknown, message: RegExp): Case => ({
  what,
  method: "POST",
  target: "/v1/secrets",
  json,
  status: 400,
  message,
});

const patch = (what: string, json: unknown, message: RegExp): Case => ({
  what,
  method: "PATCH",
  target: "/v1/secrets/db",
  json,
  status: 400,
  message,
});

const get = (what: string, target: string, status: number, message: RegExp): Case => ({
  what,
  method: "GET",
  target,
  status,
  message,
});

const raw = (what: string, body: RequestInit["body"], message: RegExp, status = 400): Case => ({
  what,
  method: "POST",
  target: "/v1/secrets",
  body,
  headers: { "content-type": "application/json" },
  status,
  message,
});

const env = { A: VALUE };

const cases: Case[] = [
  // Malformed JSON and bodies that are not an object.
  raw(
    "truncated JSON",
    `{"name":"x","env":{"A":"${VALUE}"`,
    /^the request body is not valid JSON$/,
  ),
  raw("JSON with a trailing comma", `{"name":"x","env":{"A":"${VALUE}",}}`, /not valid JSON/),
  raw("single quotes", `{'name':'x','env':{'A':'${VALUE}'}}`, /not valid JSON/),
  raw("two JSON documents", `{"name":"x","env":{}} {"name":"y","env":{}}`, /not valid JSON/),
  raw("an empty body", "", /^the request body is empty/),
  raw("a JSON array", `[{"name":"x","env":{"A":"${VALUE}"}}]`, /expected a JSON object/),
  raw("a JSON string", JSON.stringify(VALUE), /expected a JSON object/),
  raw("JSON null", "null", /expected a JSON object/),
  raw("a number", "42", /expected a JSON object/),
  raw(
    "bytes that are not UTF-8",
    new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    /^the request body is not valid UTF-8$/,
  ),
  raw(
    "nesting 100,000 deep",
    `{"name":"x","env":{"A":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`,
    /.+/,
    413,
  ),
  // Content type and encoding.
  {
    what: "no content type",
    method: "POST",
    target: "/v1/secrets",
    body: JSON.stringify({ name: "x", env }),
    status: 415,
    message: /^the request body must be JSON: send Content-Type: application\/json$/,
  },
  ...["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"].map(
    (type): Case => ({
      what: `content type ${type}`,
      method: "POST",
      target: "/v1/secrets",
      body: JSON.stringify({ name: "x", env }),
      headers: { "content-type": type },
      status: 415,
      message: /must be JSON/,
    }),
  ),
  {
    what: "JSON in another charset",
    method: "POST",
    target: "/v1/secrets",
    body: JSON.stringify({ name: "x", env }),
    headers: { "content-type": "application/json; charset=iso-8859-1" },
    status: 415,
    message: /^the request body must be UTF-8 JSON$/,
  },
  {
    what: "a compressed body",
    method: "POST",
    target: "/v1/secrets",
    body: JSON.stringify({ name: "x", env }),
    headers: { "content-type": "application/json", "content-encoding": "gzip" },
    status: 415,
    message: /must not be compressed/,
  },
  {
    what: "PATCH with text/plain",
    method: "PATCH",
    target: "/v1/secrets/db",
    body: JSON.stringify({ env }),
    headers: { "content-type": "text/plain" },
    status: 415,
    message: /must be JSON/,
  },
  // Size.
  raw(
    "a body over the limit (Content-Length)",
    JSON.stringify({ name: "x", env: { A: `${VALUE}${"x".repeat(LIMIT)}` } }),
    new RegExp(`^the request body is larger than ${LIMIT} bytes$`),
    413,
  ),
  {
    what: "PATCH over the limit",
    method: "PATCH",
    target: "/v1/secrets/db",
    json: { env: { A: `${VALUE}${"x".repeat(LIMIT)}` } },
    status: 413,
    message: /larger than/,
  },
  // Names outside the rules.
  ...[
    "",
    " ",
    "a/b",
    "a b",
    "x".repeat(65),
    `ap-${"A1".repeat(11)}`,
    "café",
    "a\nb",
    "..%2F",
    7,
  ].map((name) =>
    post(
      `name ${JSON.stringify(name)}`,
      { name, env },
      /^invalid name in the request body: use 1-64/,
    ),
  ),
  ...["", "en-x", "EN-prod", "-a", "a b", "prod/x", "x".repeat(65), "ü"].map((environment) =>
    post(
      `environment ${JSON.stringify(environment)}`,
      { name: "x", env, environment },
      /^invalid environment in the request body: use 1-64/,
    ),
  ),
  // Keys and values outside the rules.
  ...["1A", "A-B", "", "A B", "A.B", "ÄPI", "A\u0000"].map((key) =>
    post(
      `key ${JSON.stringify(key.slice(0, 12))}`,
      { name: "x", env: { [key]: VALUE } },
      /^invalid key ".*" in env: keys match/,
    ),
  ),
  ...[1, null, true, {}, [VALUE]].map((value) =>
    post(
      `value ${JSON.stringify(value)}`,
      { name: "x", env: { A: value } },
      /^invalid value of key "A" in env: values are strings/,
    ),
  ),
  post(
    "env that is not an object",
    { name: "x", env: [VALUE] },
    /^invalid env in the request body/,
  ),
  post("env that is a string", { name: "x", env: VALUE }, /^invalid env in the request body/),
  post("no env", { name: "x" }, /^missing field "env" in the request body$/),
  post("no name", { env }, /^missing field "name" in the request body$/),
  post(
    "if_exists outside its values",
    { name: "x", env, if_exists: "replace" },
    /^invalid if_exists in the request body: what to do/,
  ),
  // Unknown fields.
  post(
    "an unknown field",
    { name: "x", env, values: env },
    /^unknown field in the request body \(not shown: it may be a value\) \(it takes name, environment, env, dotenv, if_exists\)$/,
  ),
  post(
    "an unknown field that may be a value",
    { name: "x", env, [VALUE]: 1 },
    /^unknown field in the request body \(not shown: it may be a value\) \(it takes/,
  ),
  raw(
    "__proto__ as a field",
    `{"name":"x","env":{},"__proto__":{"A":"${VALUE}"}}`,
    /^unknown field in the request body \(not shown/,
  ),
  patch("PATCH without env", {}, /^missing field "env"/),
  patch("PATCH with env null", { env: null }, /^invalid env in the request body/),
  patch(
    "PATCH with an unknown field",
    { env: {}, if_exists: "skip" },
    /^unknown field in the request body \(not shown: it may be a value\) \(it takes env\)$/,
  ),
  patch("PATCH with a bad key", { env: { "A-B": VALUE } }, /^invalid key "A-B" in env/),
  patch("PATCH with a number", { env: { A: 1 } }, /^invalid value of key "A" in env: use a string/),
  patch(
    "PATCH with an over-long value",
    { env: { A: "x".repeat(32_769) } },
    /.*/, // over the 8 KiB body limit of this file first: see the next case
  ),
  // Query parameters.
  get(
    "an unknown parameter",
    "/v1/secrets?enviroment=prod",
    400,
    /^unknown query parameter \(not shown: it may be a value\); did you mean environment\? \(this route takes environment, max_objects, created_before, cursor\)$/,
  ),
  get(
    "a parameter twice",
    "/v1/secrets?environment=main&environment=prod",
    400,
    /^query parameter environment is given more than once$/,
  ),
  ...["-1", "1001", "abc", "1.5", ""].map((value) =>
    get(
      `max_objects=${value}`,
      `/v1/secrets?max_objects=${value}`,
      400,
      /^invalid query parameter max_objects: how many to return at most: an integer from 0 to 1000/,
    ),
  ),
  ...["yesterday", "2026-13-01", "1700000000000", ""].map((value) =>
    get(
      `created_before=${value}`,
      `/v1/secrets?created_before=${value}`,
      400,
      /^invalid query parameter created_before: an RFC 3339/,
    ),
  ),
  get(
    "a cursor not from a page",
    "/v1/secrets?cursor=garbage",
    400,
    /^invalid cursor: pass back the nextCursor of a previous page$/,
  ),
  get(
    "an environment outside the rules",
    "/v1/secrets?environment=en-x",
    400,
    /^invalid query parameter environment: an environment name/,
  ),
  get(
    "a query on a secret's route",
    `/v1/secrets/db?token=${VALUE}`,
    400,
    /^unknown query parameter \(not shown: it may be a value\) \(this route takes environment\)$/,
  ),
  get(
    "a value as a parameter name",
    `/v1/secrets?${VALUE}=1`,
    400,
    /^unknown query parameter \(not shown/,
  ),
  // Path tricks and unicode in the path.
  get(
    "an encoded slash",
    "/v1/secrets/a%2Fb",
    400,
    /^invalid path parameter secret_name: a secret name: use 1-64/,
  ),
  get("an encoded backslash", "/v1/secrets/a%5Cb", 400, /^invalid path parameter secret_name/),
  get("an encoded NUL", "/v1/secrets/db%00", 400, /^invalid path parameter secret_name/),
  get("a broken escape", "/v1/secrets/%E0%A4%A", 400, /^invalid path parameter secret_name/),
  get("an RLO override", "/v1/secrets/%E2%80%AEbd", 400, /^invalid path parameter secret_name/),
  get("unicode", "/v1/secrets/caf%C3%A9", 400, /^invalid path parameter secret_name/),
  get("a space", "/v1/secrets/d%20b", 400, /^invalid path parameter secret_name/),
  get("dot-dot", "/v1/secrets/../secrets/db", 200, /^$/),
  get("encoded dot-dot", "/v1/secrets/%2E%2E", 404, /^no such route$/),
  get("dot-dot out of /v1", "/v1/secrets/../../etc/passwd", 404, /^no such route$/),
  get("a double slash", "/v1//secrets/db", 404, /^no such route$/),
  get("a trailing slash", "/v1/secrets/db/", 404, /^no such route$/),
  get("upper case", "/V1/SECRETS", 404, /^no such route$/),
  get(
    "a name over 64 characters",
    `/v1/secrets/${"x".repeat(65)}`,
    400,
    /^invalid path parameter secret_name/,
  ),
  {
    what: "an object id where a name goes",
    method: "DELETE",
    target: `/v1/secrets/ap-${"A1".repeat(11)}`,
    status: 400,
    message: /^invalid path parameter secret_name/,
  },
  {
    what: "DELETE with an encoded slash",
    method: "DELETE",
    target: "/v1/secrets/db%2F..",
    status: 400,
    message: /^invalid path parameter secret_name/,
  },
];

describe("bad input: a clear JSON 4xx, the value never echoed, nothing stored changed", () => {
  it.each(cases.map((c) => [c.what, c] as const))("%s", async (_, c) => {
    const response = await api.call(c.method ?? "POST", c.target ?? "/v1/secrets", {
      ...(c.json === undefined ? {} : { json: c.json }),
      ...(c.body === undefined ? {} : { body: c.body }),
      ...(c.headers === undefined ? {} : { headers: c.headers }),
    });
    // The PATCH over the value limit is over this file's 8 KiB body limit first.
    const status = c.what === "PATCH with an over-long value" ? 413 : c.status;
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    if (status < 300) return;
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.body.error.code).toBe(status === 404 ? "NOT_FOUND" : "INVALID");
    expect(response.body.error.message).toMatch(c.message);
    expect(checker.leaks(JSON.stringify(response.body))).toEqual([]);
    expect(await api.state()).toBe(before);
  });

  it("over the value limit, under the body limit: 400 naming the key", async () => {
    const big = await inProcessApi();
    const response = await big.call("PATCH", "/v1/secrets/db", {
      json: { env: { A: "x".repeat(32_769) } },
    });
    // No such secret there: the body is checked first, so it is the value rule that answers.
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe(
      'invalid value of key "A" in env: use a string of at most 32768 characters to set it, or null to remove it',
    );
  });

  it("a key over 16,384 characters: 400, the key cut at 80 characters in the message", async () => {
    const roomy = await inProcessApi();
    const key = `K${"k".repeat(16_384)}`;
    const response = await roomy.call("POST", "/v1/secrets", {
      json: { name: "x", env: { [key]: VALUE } },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe(
      `invalid key "${key.slice(0, 80)}…" in env: keys match ^[A-Za-z_][A-Za-z0-9_]*$ and have at most 16384 characters`,
    );
    expect(await roomy.state()).toBe("");
  });

  it("a Content-Length over the limit: 413 before a byte of the body is read", async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled++;
          controller.enqueue(new TextEncoder().encode("{}"));
          controller.close();
        },
      },
      { highWaterMark: 0 }, // nothing is pulled until someone reads
    );
    const response = await api.request("POST", "/v1/secrets", {
      body: stream,
      headers: { "content-type": "application/json", "content-length": String(LIMIT + 1) },
    });
    expect(response.status).toBe(413);
    expect(pulled).toBe(0);
  });

  it("a chunked body over the limit is cut off as it arrives: 413", async () => {
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Ends long after the limit, so an answer before the end proves the cut.
        if (sent > LIMIT * 64) return controller.close();
        sent += 1024;
        controller.enqueue(new TextEncoder().encode(" ".repeat(1024)));
      },
    });
    const response = await api.request("POST", "/v1/secrets", {
      body: stream,
      headers: { "content-type": "application/json" },
    });
    expect(response.status).toBe(413);
    expect(sent).toBeLessThan(LIMIT * 64);
    expect(await api.state()).toBe(before);
  });

  it("a secret over core's limits (1,000 keys) is core's 400, with the default body limit", async () => {
    const roomy = await inProcessApi();
    const env = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`K${i}`, VALUE]));
    const response = await roomy.call("POST", "/v1/secrets", { json: { name: "many", env } });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe(
      'secret "many" has 1001 keys; at most 1000 are allowed',
    );
    expect(await roomy.state()).toBe("");
  });

  it("the default body limit takes a secret at core's default size limit (1 MiB)", async () => {
    const roomy = await inProcessApi();
    // 1 MiB of keys and values in all, JSON-encoded with its quotes and commas.
    const env = Object.fromEntries(
      Array.from({ length: 32 }, (_, i) => [`K${String(i).padStart(2, "0")}`, "v".repeat(32_765)]),
    );
    const response = await roomy.call("POST", "/v1/secrets", { json: { name: "big", env } });
    expect(response.status).toBe(201);
  });

  it("no token and a bad body: 401 first, the body not even read", async () => {
    const response = await api.call("POST", "/v1/secrets", { token: null, body: "{bad" });
    expect(response.status).toBe(401);
    expect(await api.state()).toBe(before);
  });
});

/**
 * Property-based (fast-check), in-process on a real SQLite file: whatever method, path, query,
 * headers and body a caller sends, the answer is JSON of the documented shape (the file's
 * response checker), never a 5xx, never holds a value or a token, and a refused request changes
 * nothing stored. `FAST_CHECK_RUNS=<n>` runs more.
 */
import { fc, test } from "@fast-check/vitest";
import { afterAll, beforeAll, expect } from "vitest";
import { checker, type InProcessApi, inProcessApi } from "./support/in-process.js";

afterAll(() => checker.assertAllChecked());

const runs = (ciDefault: number) => {
  const raw = Number(process.env.FAST_CHECK_RUNS?.trim() || 0);
  return Number.isSafeInteger(raw) && raw > ciDefault ? raw : ciDefault;
};

const VALUE = checker.canary("fuzz-canary-value-77c1");

let api: InProcessApi;
let reader: string;
beforeAll(async () => {
  api = await inProcessApi({ bodyLimit: 4096 });
  await api.call("POST", "/v1/secrets", { json: { name: "db", env: { A: VALUE } } });
  reader = (await api.token("read", { environments: ["main"] })).token;
});

/** Path segments near the real ones, and hostile ones. */
const segment = fc.oneof(
  fc.constantFrom("v1", "secrets", "db", "openapi.json", "..", ".", "", "%2F", "%2E%2E", "%00"),
  fc.constantFrom("%E2%80%AE", "caf%C3%A9", "%ZZ", "a%2Fb", "en-x", `ap-${"A1".repeat(11)}`),
  fc.stringMatching(/^[a-zA-Z0-9._-]{1,70}$/),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
// Weighted toward the real routes, so that bodies and parameters get past routing to validation.
const path = fc.oneof(
  {
    weight: 1,
    arbitrary: fc
      .array(segment, { minLength: 1, maxLength: 4 })
      .map((parts) => `/${parts.join("/")}`),
  },
  { weight: 2, arbitrary: segment.map((name) => `/v1/secrets/${name}`) },
  { weight: 2, arbitrary: fc.constantFrom("/v1/secrets", "/v1/secrets/db") },
);
const queryPart = fc.tuple(
  fc.constantFrom("environment", "max_objects", "created_before", "cursor", "x", VALUE),
  fc.oneof(
    fc.constantFrom("main", "prod", "-1", "1001", "5", "2026-01-01", "c1.x", "", "en-x"),
    fc.string({ maxLength: 12 }),
  ),
);
const query = fc
  .array(queryPart, { maxLength: 3 })
  .map((parts) =>
    parts.length === 0
      ? ""
      : `?${parts.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")}`,
  );
/** An env object: mostly valid keys and string values, now and then a bad key or value. */
const envObject = fc.dictionary(
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom("A", "B", "__proto__") },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom("1A", "A-B"), fc.string({ maxLength: 8 })) },
  ),
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(VALUE) },
    { weight: 1, arbitrary: fc.oneof(fc.string(), fc.constant(null), fc.integer()) },
  ),
  { maxKeys: 3 },
);

/** Now and then one field missing, or one too many. */
const blemish = <T extends Record<string, unknown>>(body: fc.Arbitrary<T>, fields: string[]) =>
  fc
    .tuple(
      body,
      fc.constantFrom("as is", "as is", "as is", "as is", "missing", "extra"),
      fc.constantFrom(...fields),
    )
    .map(([record, change, field]): Record<string, unknown> => {
      if (change === "missing") return { ...record, [field]: undefined };
      return change === "extra" ? { ...record, extra: 1 } : record;
    })
    .map((record) => JSON.stringify(record));

/** createSecret bodies, mostly valid, so that every check — and the store — is reached. */
const createBody = blemish(
  fc.record(
    {
      name: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom("db", "new") },
        {
          weight: 1,
          arbitrary: fc.oneof(fc.constantFrom("", "a/b"), fc.string({ maxLength: 70 })),
        },
      ),
      env: fc.oneof(
        { weight: 6, arbitrary: envObject },
        { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
      ),
      environment: fc.constantFrom("main", "main", "main", "prod", "en-x", ""),
      if_exists: fc.constantFrom("fail", "fail", "skip", "overwrite", "nope"),
    },
    { requiredKeys: ["name", "env"] },
  ),
  ["name", "env"],
);

/** updateSecret bodies, likewise. */
const updateBody = blemish(
  fc.record({
    env: fc.oneof(
      { weight: 6, arbitrary: envObject },
      { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
    ),
  }),
  ["env"],
);

/** Almost JSON: cut short, or with a stray character. */
const almostJson = fc
  .tuple(fc.json({ maxDepth: 2 }), fc.nat(), fc.constantFrom("", ",", "}", "'", "\u0000"))
  .map(([text, cut, extra]) => text.slice(0, cut % (text.length + 1)) + extra);

/** A body meant for `valid`'s operation: mostly that, sometimes not JSON at all. */
const bodyFor = (valid: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 1, arbitrary: almostJson },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );

const jsonBody = fc.oneof(
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: almostJson },
  { weight: 4, arbitrary: createBody },
  { weight: 4, arbitrary: updateBody },
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
  { weight: 1, arbitrary: fc.constant("x".repeat(5000)) },
);

const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("application/json", "application/json; charset=utf-8") },
  {
    weight: 1,
    arbitrary: fc.constantFrom("text/plain", "application/json; charset=latin1", undefined),
  },
);

/** Mostly what the operation takes (`options`), sometimes anything. */
const queryOr = (...options: string[]) =>
  fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...options) }, { weight: 1, arbitrary: query });

interface FuzzRequest {
  method: string;
  target: string;
  body: string | undefined;
  type: string | undefined;
}

/**
 * Requests that go together (method, route, body and content type of one operation, so that they
 * get past routing and parsing to validation, core and the store), and chaos.
 */
const request: fc.Arbitrary<FuzzRequest> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(queryOr(""), bodyFor(createBody), contentType)
      .map(([search, body, type]) => ({
        method: "POST",
        target: `/v1/secrets${search}`,
        body,
        type,
      })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom("db", "new", "a%2Fb"),
        queryOr("", "?environment=prod"),
        bodyFor(updateBody),
        contentType,
      )
      .map(([name, search, body, type]) => ({
        method: "PATCH",
        target: `/v1/secrets/${name}${search}`,
        body,
        type,
      })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom("GET", "DELETE", "HEAD"),
        fc.option(segment, { nil: undefined }),
        query,
      )
      .map(([method, name, search]) => ({
        method,
        target: `/v1/secrets${name === undefined ? "" : `/${name}`}${search}`,
        body: undefined,
        type: undefined,
      })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"),
        path,
        query,
        fc.option(jsonBody, { nil: undefined }),
        contentType,
      )
      .map(([method, target, search, body, type]) => ({
        method,
        target: `${target}${search}`,
        body,
        type,
      })),
  },
);

test.prop(
  [
    request,
    fc.oneof(
      { weight: 4, arbitrary: fc.constant("writer") },
      { weight: 1, arbitrary: fc.constantFrom("reader", "none", "garbage") },
    ),
  ],
  { numRuns: runs(300) },
)(
  "any request: a documented JSON answer, never a 5xx or a value; refused means nothing changed",
  async ({ method, target, body, type }, who) => {
    const before = await api.state();
    const headers: Record<string, string> = {};
    if (type !== undefined) headers["content-type"] = type;
    const token =
      who === "writer"
        ? undefined
        : who === "reader"
          ? reader
          : who === "none"
            ? null
            : `ekt_${"0".repeat(16)}_${"A".repeat(43)}`;
    const sendsBody = body !== undefined && method !== "GET" && method !== "HEAD";
    const response = await api.request(method, target, {
      ...(token === undefined ? {} : { token }),
      ...(sendsBody ? { body } : {}),
      headers,
    });
    expect(response.status).toBeLessThan(500);
    if (response.status >= 400) {
      expect(await api.state()).toBe(before);
      if (method !== "HEAD") {
        const error = (await response.json()) as { error: { code: string } };
        expect(typeof error.error.code).toBe("string");
      }
    }
  },
);

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
const path = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join("/")}`),
  segment.map((name) => `/v1/secrets/${name}`),
  fc.constant("/v1/secrets"),
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
const jsonBody = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc
    .record(
      {
        name: fc.oneof(fc.constantFrom("db", "new", "", "a/b"), fc.string({ maxLength: 70 })),
        env: fc.oneof(
          fc.dictionary(
            fc.oneof(fc.constantFrom("A", "__proto__", "1A", "A-B"), fc.string({ maxLength: 8 })),
            fc.oneof(fc.constant(VALUE), fc.string(), fc.constant(null), fc.integer()),
            { maxKeys: 4 },
          ),
          fc.anything({ maxDepth: 2 }),
        ),
        environment: fc.constantFrom("main", "prod", "en-x", ""),
        if_exists: fc.constantFrom("fail", "skip", "overwrite", "nope"),
        extra: fc.constant(1),
      },
      { requiredKeys: [] },
    )
    .map((record) => JSON.stringify(record)),
  fc.string({ maxLength: 100 }),
  fc.constant("x".repeat(5000)),
);
const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/json; charset=latin1",
  undefined,
);

test.prop(
  [
    fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"),
    path,
    query,
    fc.option(jsonBody, { nil: undefined }),
    contentType,
    fc.constantFrom("writer", "reader", "none", "garbage"),
  ],
  { numRuns: runs(150) },
)(
  "any request: a documented JSON answer, never a 5xx or a value; refused means nothing changed",
  async (method, target, search, body, type, who) => {
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
    const response = await api.request(method, `${target}${search}`, {
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

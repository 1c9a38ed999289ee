/**
 * Every response of the tests is checked against the API document, as it arrives: its status is
 * one the operation documents (a route that does not exist answers 404, a method a path lacks
 * 405), its body matches the documented schema (a 204 and a HEAD have none), the headers the
 * document declares are there and match theirs, and it holds none of the canaries (values and
 * tokens the tests planted). Each test file asserts at the end that every one passed.
 *
 * This is the tests' own reading of the document (its own ajv, its own route matching), not the
 * app's validators.
 */
import { apiDocument } from "@envkeep/http";
import { Ajv2020 } from "ajv/dist/2020.js";
import * as ajvFormats from "ajv-formats";
import { expect } from "vitest";

const addFormats = ajvFormats.default as unknown as (ajv: Ajv2020, formats: string[]) => Ajv2020;

// biome-ignore lint/suspicious/noExplicitAny: the document is walked as plain JSON
type Json = Record<string, any>;

const document = apiDocument() as unknown as Json;
const ajv = new Ajv2020({ strict: false, allErrors: true, allowUnionTypes: true });
addFormats(ajv, ["date", "date-time"]);
ajv.addSchema(document, "doc");

const resolve = (value: Json): Json => {
  if (typeof value?.$ref !== "string") return value;
  let at: Json = document;
  for (const part of value.$ref.slice(2).split("/")) at = at[part];
  return resolve(at);
};

const schemaChecks = new Map<string, ReturnType<typeof ajv.compile>>();
function schemaCheck(pointer: string) {
  let check = schemaChecks.get(pointer);
  if (!check) {
    check = ajv.compile({ $ref: `doc#${pointer}` });
    schemaChecks.set(pointer, check);
  }
  return check;
}

/** The document path (`/secrets/{secret_name}`) that a request path under /v1 stands for. */
function documentPath(pathname: string): string | undefined {
  if (!pathname.startsWith("/v1/")) return undefined;
  const rest = pathname.slice(3);
  for (const template of Object.keys(document.paths)) {
    const pattern = new RegExp(
      `^${template.replace(/\{[^}]+\}/g, "[^/]+").replace(/\./g, "\\.")}$`,
    );
    if (pattern.test(rest)) return template;
  }
  return undefined;
}

/** One response, as the checker saw it. */
export interface SeenResponse {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  text: string;
}

/** What is wrong with `response` against the document (empty when nothing is). */
export function documentProblems(response: SeenResponse): string[] {
  const problems: string[] = [];
  // The dashboard's page and assets (beside the API, outside /v1) are not API routes: they are
  // checked by their own tests; here only for leaks.
  if (
    !new URL(response.url).pathname.startsWith("/v1/") &&
    response.headers.get("content-security-policy") !== null
  ) {
    return problems;
  }
  const method = response.method.toLowerCase();
  const where = `${response.method} ${new URL(response.url).pathname} → ${response.status}`;
  const template = documentPath(new URL(response.url).pathname);
  const item = template === undefined ? undefined : document.paths[template];
  const operation = item?.[method === "head" ? "get" : method];
  if (response.headers.get("cache-control") !== "no-store") {
    problems.push(`${where}: no Cache-Control: no-store`);
  }
  if (response.headers.get("x-content-type-options") !== "nosniff") {
    problems.push(`${where}: no X-Content-Type-Options: nosniff`);
  }

  let spec: Json | undefined;
  let pointer: string | undefined;
  if (!operation) {
    // No such route (404) or no such method on a path (405): the error shape, and nothing else.
    const expected = item ? 405 : 404;
    if (response.status !== expected) problems.push(`${where}: expected ${expected}`);
    spec = resolve({ $ref: `#/components/responses/${item ? "Invalid" : "NotFound"}` });
    pointer = "/components/schemas/Error";
    if (item && !response.headers.get("allow")) problems.push(`${where}: 405 without Allow`);
  } else {
    const declared = operation.responses[String(response.status)];
    if (!declared) {
      problems.push(`${where}: status not documented for ${operation.operationId}`);
      return problems;
    }
    spec = resolve(declared);
    const schema = spec.content?.["application/json"]?.schema;
    if (schema) {
      pointer =
        typeof schema.$ref === "string"
          ? schema.$ref.slice(1)
          : `/paths/${template!.replace(/~/g, "~0").replace(/\//g, "~1")}/${method === "head" ? "get" : method}/responses/${response.status}/content/application~1json/schema`;
    }
    for (const [name, header] of Object.entries((spec.headers ?? {}) as Json)) {
      const definition = resolve(header as Json);
      const value = response.headers.get(name);
      if (value === null) {
        if (definition.required) problems.push(`${where}: missing header ${name}`);
        continue;
      }
      const headerSchema = definition.schema ?? {};
      const typed = headerSchema.type === "integer" ? Number(value) : value;
      const check = ajv.compile(headerSchema);
      if (!check(typed)) problems.push(`${where}: header ${name} does not match its schema`);
    }
  }

  if (method === "head" || pointer === undefined) {
    if (response.text !== "") problems.push(`${where}: a body where the document has none`);
    return problems;
  }
  if (!/^application\/json\b/.test(response.headers.get("content-type") ?? "")) {
    problems.push(`${where}: content-type is not application/json`);
  }
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    problems.push(`${where}: body is not JSON`);
    return problems;
  }
  const check = schemaCheck(pointer);
  if (!check(body)) {
    problems.push(`${where}: body does not match ${pointer}: ${ajv.errorsText(check.errors)}`);
  }
  if (response.status >= 400) {
    const code = (body as Json)?.error?.code;
    const wwwAuthenticate = response.headers.get("www-authenticate") ?? "";
    if (response.status === 401 && !/^Bearer\b/.test(wwwAuthenticate)) {
      problems.push(`${where}: 401 without WWW-Authenticate: Bearer`);
    }
    if (response.status === 503 && !/^[0-9]+$/.test(response.headers.get("retry-after") ?? "")) {
      problems.push(`${where}: 503 without Retry-After`);
    }
    if (typeof code !== "string") problems.push(`${where}: no error code`);
  }
  return problems;
}

/**
 * Checks every response a test file sees: against the document, and for canaries (strings that
 * must never come back: secret values, tokens). `assertAllChecked()` at the end of the file.
 */
export class ResponseChecker {
  readonly problems: string[] = [];
  readonly #canaries = new Set<string>();
  count = 0;

  /** A string no response (body or header) may ever contain. */
  canary(text: string): string {
    this.#canaries.add(text);
    return text;
  }

  /** Canaries found in `text`, by position in the list (never printed themselves). */
  leaks(text: string): string[] {
    return [...this.#canaries]
      .map((canary, index) => (text.includes(canary) ? `canary #${index}` : ""))
      .filter(Boolean);
  }

  async check(method: string, response: Response): Promise<Response> {
    const text = await response.clone().text();
    const seen: SeenResponse = {
      method,
      url: response.url || "http://unknown/",
      status: response.status,
      headers: response.headers,
      text,
    };
    this.count++;
    this.problems.push(...documentProblems(seen));
    const headerText = [...response.headers].map(([name, value]) => `${name}: ${value}`).join("\n");
    for (const leak of this.leaks(`${text}\n${headerText}`)) {
      this.problems.push(`${method} ${seen.url} → ${response.status}: ${leak} in the response`);
    }
    return response;
  }

  /** A fetch that checks every response (for openapi-fetch, or plain calls). */
  wrap(inner: (request: Request) => Response | Promise<Response>) {
    return async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
      const request = input instanceof Request && !init ? input : new Request(input, init);
      const method = request.method;
      const url = request.url;
      const response = await inner(request);
      // api.fetch's Response has no url; give the checker the request's.
      const seen = response.url ? response : withUrl(response, url);
      await this.check(method, seen);
      return response;
    };
  }

  /** Every response so far matched the document and held no canary. */
  assertAllChecked(): void {
    expect(this.problems).toEqual([]);
  }
}

function withUrl(response: Response, url: string): Response {
  const copy = response.clone();
  Object.defineProperty(copy, "url", { value: url });
  return copy;
}

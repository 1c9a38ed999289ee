/**
 * Request validators compiled from the OpenAPI document, once per process: path and query
 * parameters (strings coerced to the parameter's type, defaults from the document, unknown or
 * repeated parameters refused) and JSON bodies (no coercion, unknown fields refused). A failure
 * is core's `InvalidError` (400) whose message names the parameter, field or key and states the
 * rule from the document's description — never the value given.
 */
import { InvalidError } from "@envkeep/core";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import * as ajvFormats from "ajv-formats";
import { type ApiDocument, apiDocument } from "./document.js";

// ajv-formats is CommonJS; under NodeNext its plugin arrives as the namespace's `default`.
const addFormats = ajvFormats.default as unknown as (ajv: Ajv2020, formats: string[]) => Ajv2020;

/** The id under which each ajv instance holds the document, for `$ref`s into it. */
const DOCUMENT_ID = "envkeep-openapi";

type Json = Record<string, unknown>;
type Location = "path" | "query";

/** The parameters of `listSecrets`, validated (defaults applied). */
export interface ListParams {
  query: {
    environment?: string;
    max_objects: number;
    created_before?: string;
    cursor?: string;
  };
}

/** The parameters of the routes of one secret, validated. */
export interface SecretParams {
  path: { secret_name: string };
  query: { environment?: string };
}

/** The body of `createSecret`, validated. */
export interface SecretCreateBody {
  name: string;
  /** The contents: exactly one of `env` and `dotenv` is given. */
  env?: Record<string, string>;
  /** The contents as .env text. */
  dotenv?: string;
  environment?: string;
  if_exists?: "fail" | "skip" | "overwrite";
}

/** The body of `rollbackSecret`, validated. */
export interface SecretRollbackBody {
  version: number;
}

/** The body of `updateSecret`, validated. */
export interface SecretUpdateBody {
  env: Record<string, string | null>;
}

interface ParamsOf {
  listSecrets: ListParams;
  getSecret: SecretParams;
  deleteSecret: SecretParams;
  updateSecret: SecretParams;
  listSecretVersions: SecretParams;
  rollbackSecret: SecretParams;
  createSecret: Record<string, never>;
  getAccessToken: Record<string, never>;
  listEnvironments: Record<string, never>;
}

interface BodyOf {
  createSecret: SecretCreateBody;
  updateSecret: SecretUpdateBody;
  rollbackSecret: SecretRollbackBody;
}

/** What a request validator is given: the decoded path parameters and the raw URL. */
export interface RequestParts {
  path: Record<string, string>;
  url: string;
}

/** Validators of every operation of the document. */
export interface RequestValidators {
  /** The path and query parameters of `operation`, checked and typed. @throws {InvalidError} */
  params<K extends keyof ParamsOf>(operation: K, request: RequestParts): ParamsOf[K];
  /** The parsed JSON body of `operation`, checked and typed. @throws {InvalidError} */
  body<K extends keyof BodyOf>(operation: K, body: unknown): BodyOf[K];
}

interface ParameterSpec {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: { default?: unknown };
}

interface ParameterCheck {
  validate: ValidateFunction;
  /** Each parameter's description: the rule a failure states. */
  rules: Map<string, string>;
  defaults: Map<string, unknown>;
  names: string[];
}

interface OperationChecks {
  path?: ParameterCheck;
  query?: ParameterCheck;
  body?: { validate: ValidateFunction; schema: Json };
}

/** `~` and `/` escaped for a JSON pointer segment. */
const pointerSegment = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");

function decodePointer(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** What lives at `#/a/b` in the document. */
function resolvePointer(document: Json, pointer: string): Json {
  let at: unknown = document;
  for (const segment of decodePointer(pointer.replace(/^#/, ""))) {
    at = (at as Json)[segment];
  }
  return at as Json;
}

/** A `$ref` object resolved (one level: the document's refs point at definitions). */
function deref(document: Json, value: Json): { value: Json; pointer?: string } {
  const target = value.$ref;
  if (typeof target !== "string") return { value };
  return { value: resolvePointer(document, target), pointer: target.replace(/^#/, "") };
}

/** Edit distance of two short strings (for "did you mean"). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * An unknown field or parameter, described without showing its name: it may be a value pasted in
 * the wrong place (`?sk_live_…=1`). A known name close to it is suggested instead.
 */
function unknownName(what: string, given: string, known: readonly string[], takes: string): string {
  const near =
    given.length <= 64
      ? known.find((name) => distance(given.toLowerCase(), name.toLowerCase()) <= 2)
      : undefined;
  const hint = near === undefined ? "" : `; did you mean ${near}?`;
  return `unknown ${what} (not shown: it may be a value)${hint} ${takes}`;
}

/** A key of an env object, quoted as core quotes keys (cut at 80 characters). */
function quotedKey(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
}

function newAjv(coerce: boolean, document: Json): Ajv2020 {
  const ajv = new Ajv2020({
    strict: true,
    allErrors: false,
    allowUnionTypes: true,
    coerceTypes: coerce,
    // The document's own keywords (paths, components…) are not schema keywords.
    strictSchema: false,
  });
  addFormats(ajv, ["date", "date-time"]);
  ajv.addSchema(document, DOCUMENT_ID);
  return ajv;
}

function compileParameters(
  ajv: Ajv2020,
  document: Json,
  specs: { spec: ParameterSpec; pointer: string }[],
  location: Location,
): ParameterCheck | undefined {
  const mine = specs.filter(({ spec }) => spec.in === location);
  if (mine.length === 0) return undefined;
  const properties: Json = {};
  const rules = new Map<string, string>();
  const defaults = new Map<string, unknown>();
  const required: string[] = [];
  for (const { spec, pointer } of mine) {
    properties[spec.name] = { $ref: `${DOCUMENT_ID}#${pointer}/schema` };
    rules.set(spec.name, spec.description ?? "see the API document");
    if (spec.required) required.push(spec.name);
    const schema = spec.schema ? deref(document, spec.schema as Json).value : undefined;
    if (schema && "default" in schema) defaults.set(spec.name, schema.default);
  }
  const validate = ajv.compile({
    type: "object",
    properties,
    required,
    additionalProperties: false,
  });
  return { validate, rules, defaults, names: mine.map(({ spec }) => spec.name) };
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

function compileAll(document: ApiDocument): Map<string, OperationChecks> {
  const json = document as unknown as Json;
  const paramsAjv = newAjv(true, json);
  const bodyAjv = newAjv(false, json);
  const checks = new Map<string, OperationChecks>();
  for (const [route, item] of Object.entries(json.paths as Record<string, Json>)) {
    const shared = (item.parameters as Json[] | undefined) ?? [];
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (!operation) continue;
      const base = `/paths/${pointerSegment(route)}`;
      const specs = [
        ...shared.map((value, index) => ({ value, pointer: `${base}/parameters/${index}` })),
        ...((operation.parameters as Json[] | undefined) ?? []).map((value, index) => ({
          value,
          pointer: `${base}/${method}/parameters/${index}`,
        })),
      ].map(({ value, pointer }) => {
        const resolved = deref(json, value);
        return {
          spec: resolved.value as unknown as ParameterSpec,
          pointer: resolved.pointer ?? pointer,
        };
      });
      const entry: OperationChecks = {};
      const path = compileParameters(paramsAjv, json, specs, "path");
      const query = compileParameters(paramsAjv, json, specs, "query");
      if (path) entry.path = path;
      if (query) entry.query = query;
      const body = (operation.requestBody as Json | undefined)?.content as Json | undefined;
      const bodySchema = (body?.["application/json"] as Json | undefined)?.schema as
        | Json
        | undefined;
      if (bodySchema) {
        const pointer =
          typeof bodySchema.$ref === "string"
            ? bodySchema.$ref
            : `#${base}/${method}/requestBody/content/application~1json/schema`;
        entry.body = {
          validate: bodyAjv.compile({ $ref: `${DOCUMENT_ID}${pointer}` }),
          schema: deref(json, bodySchema).value,
        };
      }
      checks.set(operation.operationId as string, entry);
    }
  }
  return checks;
}

function describeParameterError(
  error: ErrorObject | undefined,
  check: ParameterCheck,
  location: Location,
): string {
  if (error?.keyword === "additionalProperties") {
    const name = String(error.params.additionalProperty);
    return unknownName(
      `${location} parameter`,
      name,
      check.names,
      `(this route takes ${check.names.join(", ")})`,
    );
  }
  if (error?.keyword === "required") {
    return `missing ${location} parameter ${String(error.params.missingProperty)}`;
  }
  const name = decodePointer(error?.instancePath ?? "")[0] ?? "";
  const rule = check.rules.get(name);
  return rule === undefined
    ? `invalid ${location} parameters`
    : `invalid ${location} parameter ${name}: ${rule}`;
}

function checkParameters(
  check: ParameterCheck | undefined,
  values: Json,
  location: Location,
): Json {
  if (!check) {
    const [extra] = Object.keys(values);
    if (extra !== undefined) {
      throw new InvalidError(
        unknownName(`${location} parameter`, extra, [], `(this route takes none)`),
      );
    }
    return {};
  }
  for (const [name, value] of check.defaults) if (!(name in values)) values[name] = value;
  if (!check.validate(values)) {
    throw new InvalidError(describeParameterError(check.validate.errors?.[0], check, location));
  }
  return values;
}

/** The query of `url` as an object; a parameter given twice is refused. */
function queryOf(url: string): Json {
  const query: Json = Object.create(null);
  const at = url.indexOf("?");
  if (at < 0) return query;
  const hash = url.indexOf("#", at);
  const search = url.slice(at + 1, hash < 0 ? undefined : hash);
  if (search === "") return query;
  for (const [name, value] of new URLSearchParams(search)) {
    if (name in query) {
      // Only a name that could be one of the API's is shown.
      const shown = /^[a-z_]{1,32}$/.test(name) ? name : "(not shown)";
      throw new InvalidError(`query parameter ${shown} is given more than once`);
    }
    query[name] = value;
  }
  return query;
}

/** The description of the schema at `segments` under a body schema (refs followed). */
function ruleAt(document: Json, schema: Json, segments: string[]): string | undefined {
  let at: Json | undefined = deref(document, schema).value;
  for (const segment of segments) {
    if (!at) return undefined;
    const properties = at.properties as Json | undefined;
    const next = (properties?.[segment] ?? undefined) as Json | undefined;
    at = next ? deref(document, next).value : undefined;
  }
  return at?.description as string | undefined;
}

function describeBodyError(error: ErrorObject | undefined, document: Json, schema: Json): string {
  const segments = decodePointer(error?.instancePath ?? "");
  if (!error) return "invalid request body";
  if (segments.length === 0) {
    if (error.keyword === "additionalProperties") {
      const allowed = Object.keys((deref(document, schema).value.properties as Json) ?? {});
      return unknownName(
        "field in the request body",
        String(error.params.additionalProperty),
        allowed,
        `(it takes ${allowed.join(", ")})`,
      );
    }
    if (error.keyword === "required") {
      return `missing field "${String(error.params.missingProperty)}" in the request body`;
    }
    return "invalid request body: expected a JSON object";
  }
  const [field = "", key] = segments;
  const fieldSchema = deref(
    document,
    ((deref(document, schema).value.properties as Json)?.[field] ?? {}) as Json,
  ).value;
  const isMap = typeof fieldSchema.additionalProperties === "object";
  if (isMap && error.propertyName !== undefined) {
    const keyRule = deref(document, (fieldSchema.propertyNames ?? {}) as Json).value.description;
    return `invalid key ${quotedKey(error.propertyName)} in ${field}: ${String(keyRule)}`;
  }
  if (isMap && key !== undefined) {
    const valueRule = deref(document, fieldSchema.additionalProperties as Json).value.description;
    return `invalid value of key ${quotedKey(key)} in ${field}: ${String(valueRule)}`;
  }
  return `invalid ${field} in the request body: ${ruleAt(document, schema, [field]) ?? "see the API document"}`;
}

let compiled: { document: ApiDocument; checks: Map<string, OperationChecks> } | undefined;

/**
 * The validators of every operation, compiled from the document on first use and kept for the
 * life of the process.
 */
export function requestValidators(): RequestValidators {
  if (!compiled) {
    const document = apiDocument();
    compiled = { document, checks: compileAll(document) };
  }
  const { document, checks } = compiled;
  const json = document as unknown as Json;
  const checksOf = (operation: string) => {
    const found = checks.get(operation);
    if (!found) throw new Error(`no operation ${operation} in the API document`);
    return found;
  };
  return {
    params(operation, request) {
      const check = checksOf(operation);
      const path = checkParameters(check.path, { ...request.path }, "path");
      const query = checkParameters(check.query, queryOf(request.url), "query");
      return { path, query } as never;
    },
    body(operation, body) {
      const check = checksOf(operation).body;
      if (!check) throw new Error(`operation ${operation} takes no body`);
      if (!check.validate(body)) {
        throw new InvalidError(describeBodyError(check.validate.errors?.[0], json, check.schema));
      }
      return body as never;
    },
  };
}

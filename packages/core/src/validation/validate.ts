import type { ErrorObject } from "ajv/dist/2020.js";
import { InvalidError } from "../errors.js";
import {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_KEYS,
  KEY_PATTERN,
  MAX_ACTOR_LENGTH,
  MAX_KEY_LENGTH,
  MAX_NAME_LENGTH,
  MAX_VALUE_LENGTH,
} from "./schemas.js";
import * as generated from "./validators.generated.js";

// The schemas of schemas.ts, compiled by ajv at build time (scripts/generate-validators.mjs):
// no process compiles a schema, or loads ajv, at run time.
type Validator<T> = ((data: unknown) => data is T) & { errors?: ErrorObject[] | null };

/**
 * A rule over names, remembering the names it passed (a few thousand at most): a host asks for
 * the same names again and again, and a name that passed once passes forever.
 */
function rememberingPasses(check: Validator<string>): (name: unknown) => name is string {
  const passed = new Set<string>();
  return (name: unknown): name is string => {
    if (typeof name === "string" && passed.has(name)) return true;
    if (!check(name)) return false;
    if (passed.size >= 4_096) passed.clear();
    passed.add(name);
    return true;
  };
}

const checkSecretName = rememberingPasses(
  generated.checkSecretName as unknown as Validator<string>,
);
const checkScopeName = rememberingPasses(generated.checkScopeName as unknown as Validator<string>);
const checkKey = generated.checkKey as unknown as Validator<string>;
const checkEntries = generated.checkEntries as unknown as Validator<Record<string, string>>;
const checkChanges = generated.checkChanges as unknown as Validator<Record<string, string | null>>;
const checkListOptions = generated.checkListOptions as unknown as Validator<unknown>;

/** Per-secret size limits. */
export interface SecretLimits {
  /** Most keys one secret may hold. @default 1000 */
  maxKeys?: number;
  /** Most bytes (UTF-8) of keys + values one secret may hold. @default 1048576 (1 MiB) */
  maxBytes?: number;
}

/** Shortens a user-supplied name for an error message (names are never values). */
function quote(name: unknown): string {
  if (typeof name !== "string") return `(${typeof name})`;
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

function fail(label: string, value: unknown, rule: string): never {
  throw new InvalidError(`invalid ${label} ${quote(value)}: ${rule}`);
}

/** Throws unless `name` is a valid secret name. */
export function assertSecretName(name: unknown): asserts name is string {
  if (!checkSecretName(name)) {
    fail(
      "secret name",
      name,
      `use 1-${MAX_NAME_LENGTH} letters, digits, ".", "_" or "-" (and not an "ap-" object id)`,
    );
  }
}

/** Throws unless `name` is a valid environment name. */
export function assertEnvironmentName(
  name: unknown,
  label = "environment name",
): asserts name is string {
  if (!checkScopeName(name)) {
    fail(
      label,
      name,
      `use 1-${MAX_NAME_LENGTH} letters, digits, ".", "_" or "-", starting with a letter or digit (and not "en-")`,
    );
  }
}

/** Throws unless `name` is a valid workspace name. */
export function assertWorkspaceName(name: unknown): asserts name is string {
  assertEnvironmentName(name, "workspace name");
}

/** Throws unless `key` is a valid environment-variable key. */
export function assertKey(key: unknown): asserts key is string {
  if (!checkKey(key)) {
    fail("key", key, `keys match ${KEY_PATTERN} and have at most ${MAX_KEY_LENGTH} characters`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Turns the first ajv error on an entries/changes object into a message naming the key. */
function explainEntryError(error: ErrorObject | undefined, what: string, valueRule: string): never {
  if (error?.keyword === "propertyNames" || error?.propertyName !== undefined) {
    const key = error?.propertyName ?? "";
    fail(
      `key in ${what}`,
      key,
      `keys match ${KEY_PATTERN} and have at most ${MAX_KEY_LENGTH} characters`,
    );
  }
  const key = decodePointer(error?.instancePath ?? "");
  if (key !== undefined)
    throw new InvalidError(`invalid value of key ${quote(key)} in ${what}: ${valueRule}`);
  throw new InvalidError(`invalid ${what}: expected a plain object of KEY: value pairs`);
}

function decodePointer(path: string): string | undefined {
  const segment = path.split("/")[1];
  return segment === undefined ? undefined : segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Throws unless `entries` fits the per-secret limits (used again after a merge). */
export function assertWithinLimits(
  entries: Readonly<Record<string, string>>,
  what: string,
  limits: SecretLimits = {},
): void {
  const maxKeys = limits.maxKeys ?? DEFAULT_MAX_KEYS;
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const keys = Object.keys(entries);
  if (keys.length > maxKeys) {
    throw new InvalidError(`${what} has ${keys.length} keys; at most ${maxKeys} are allowed`);
  }
  let bytes = 0;
  for (const key of keys) bytes += Buffer.byteLength(key) + Buffer.byteLength(entries[key] ?? "");
  if (bytes > maxBytes) {
    throw new InvalidError(
      `${what} holds ${bytes} bytes of keys and values; at most ${maxBytes} are allowed`,
    );
  }
}

/**
 * Reads a caller's object of entries exactly once (each property read once: a getter or proxy
 * cannot show one value to the checks and another to the store) into an object without a
 * prototype, so that keys such as `__proto__` stay ordinary keys.
 */
function snapshot(value: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(value))
    throw new InvalidError(`invalid ${what}: expected a plain object of KEY: value pairs`);
  let pairs: [string, unknown][];
  try {
    pairs = Object.entries(value);
  } catch (error) {
    throw new InvalidError(`invalid ${what}: its entries cannot be read`, { cause: error });
  }
  const copy: Record<string, unknown> = Object.create(null);
  for (const [key, entry] of pairs) copy[key] = entry;
  return copy;
}

/**
 * Snapshots and checks a secret's contents: every key valid, every value a string within the
 * limits. Returns the snapshot (prototype-free), which is what must be used from then on.
 */
export function snapshotEntries(
  entries: unknown,
  what: string,
  limits?: SecretLimits,
): Record<string, string> {
  const copy = snapshot(entries, what);
  if (!checkEntries(copy)) {
    explainEntryError(
      checkEntries.errors?.[0],
      what,
      `values must be strings of at most ${MAX_VALUE_LENGTH} characters`,
    );
  }
  assertWithinLimits(copy, what, limits);
  return copy;
}

/** Throws unless `entries` is a valid, within-limits set of contents. */
export function assertEntries(
  entries: unknown,
  what: string,
  limits?: SecretLimits,
): asserts entries is Record<string, string> {
  snapshotEntries(entries, what, limits);
}

/**
 * Checks an update's change set, read once: a string sets a key, `null` removes it, `undefined`
 * entries are dropped, as documented. Returns the changes in a `Map` (keys are user data).
 */
export function normalizeChanges(changes: unknown, what: string): Map<string, string | null> {
  const copy = snapshot(changes, what);
  const defined: Record<string, string | null> = Object.create(null);
  for (const key of Object.keys(copy)) {
    const value = copy[key];
    if (value !== undefined) defined[key] = value as string | null;
  }
  if (!checkChanges(defined)) {
    explainEntryError(
      checkChanges.errors?.[0],
      what,
      `use a string of at most ${MAX_VALUE_LENGTH} characters to set it, or null to remove it`,
    );
  }
  return new Map(Object.entries(defined));
}

/** Checks the `limits` option: each a positive safe integer when given. */
export function checkLimits(limits: unknown): SecretLimits {
  if (limits === undefined) return {};
  if (typeof limits !== "object" || limits === null || Array.isArray(limits)) {
    throw new InvalidError("invalid limits: expected { maxKeys?, maxBytes? }");
  }
  const { maxKeys, maxBytes } = limits as Record<string, unknown>;
  const out: SecretLimits = {};
  for (const [name, value] of [
    ["maxKeys", maxKeys],
    ["maxBytes", maxBytes],
  ] as const) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new InvalidError(`invalid limits.${name}: expected a positive integer`);
    }
    out[name] = value as number;
  }
  return out;
}

/** Checks an `actor` option: a string of 1 to MAX_ACTOR_LENGTH characters. */
export function checkActor(actor: unknown): string | undefined {
  if (actor === undefined) return undefined;
  if (typeof actor !== "string" || actor.length === 0 || actor.length > MAX_ACTOR_LENGTH) {
    throw new InvalidError(`invalid actor: expected a string of 1-${MAX_ACTOR_LENGTH} characters`);
  }
  return actor;
}

/** Validated, normalised list options. */
export interface NormalizedListOptions {
  maxObjects?: number;
  createdBefore?: number;
}

/** Checks `list` options; `createdBefore` becomes ms since epoch. */
export function normalizeListOptions(options: {
  maxObjects?: unknown;
  createdBefore?: unknown;
}): NormalizedListOptions {
  const { maxObjects, createdBefore } = options;
  const out: NormalizedListOptions = {};
  if (maxObjects !== undefined && maxObjects !== null) {
    if (!checkListOptions({ maxObjects })) {
      throw new InvalidError("invalid maxObjects: expected a non-negative safe integer");
    }
    out.maxObjects = maxObjects as number;
  }
  if (createdBefore !== undefined && createdBefore !== null) {
    let time: number;
    if (createdBefore instanceof Date) {
      time = createdBefore.getTime();
    } else if (typeof createdBefore === "string" && checkListOptions({ createdBefore })) {
      time = Date.parse(createdBefore);
    } else {
      time = Number.NaN;
    }
    if (Number.isNaN(time)) {
      throw new InvalidError(
        "invalid createdBefore: expected a Date or an ISO 8601 date or date-time string",
      );
    }
    out.createdBefore = time;
  }
  return out;
}

/** The options object of a call: `{}` when omitted; anything but a plain object is refused. */
export function checkOptions<T extends object>(options: T | undefined, call: string): T {
  if (options === undefined) return {} as T;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidError(`${call} expects an options object`);
  }
  return options;
}

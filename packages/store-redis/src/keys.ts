import { InvalidError, type ListCursor, type SecretRef, type SecretScope } from "@envkeep/core";

/**
 * Key layout of one store prefix `P`. Every key of one workspace + environment carries the same
 * hash tag `{workspace/environment}`, so the scripts that touch them run unchanged on a cluster:
 *
 * | key | type | holds |
 * |---|---|---|
 * | `P:{ws/env}:r:<name>` | string | the record, serialized by keyv (readable with `keyv.get`) |
 * | `P:{ws/env}:h:<name>` | hash | its old versions: version → that version, serialized by keyv |
 * | `P:{ws/env}:m` | hash | name → `[secretId, version, index member]` (JSON), for compare-and-set |
 * | `P:{ws/env}:i` | sorted set | index members `<createdAt, 17 digits>:<name>`, all of score 0 |
 * | `P:e:{ws}` | set | environment names of the workspace (may hold empty ones) |
 *
 * Index members sort by code unit (Redis compares bytes; names, workspaces and environments are
 * validated ASCII), so lexicographic order is `createdAt` then `name`, and `ZRANGE … BYLEX REV`
 * is exactly the list order of the contract.
 */
export interface ScopeKeys {
  /** Sorted set: the list index. */
  index: string;
  /** Hash: compare-and-set metadata per name. */
  meta: string;
  /** Prefix of the record keys (`+ name`). */
  recordPrefix: string;
}

/**
 * Shifts createdAt so that negative times still sort correctly as fixed-width decimals; times
 * within ±2^52 ms (±142,000 years) keep `createdAt + TIME_OFFSET` a safe integer.
 */
const TIME_OFFSET = 2 ** 52;
const TIME_WIDTH = 17;

/**
 * The prefix keys start with, checked: a trailing `:` is dropped (the store adds its own, and
 * `"acme:"` must not become `acme::…`); one that would break hash tags or key parsing is refused.
 */
export function normalizePrefix(given: string): string {
  const prefix = typeof given === "string" ? given.replace(/:+$/, "") : given;
  if (typeof prefix !== "string" || prefix.length === 0 || /[{}\s]/.test(prefix)) {
    throw new InvalidError(
      `redisStore: prefix must be non-empty, without braces or whitespace (got ${JSON.stringify(given)})`,
    );
  }
  return prefix;
}

/**
 * Escapes the characters that structure a key (`/ { } :` and `%` itself). Valid workspace and
 * environment names contain none of them, so their keys read plainly; the escape only keeps a
 * store used with other names from mixing two scopes up.
 */
function component(name: string): string {
  return name.replace(/[%/{}:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function scopeKeys(prefix: string, scope: SecretScope): ScopeKeys {
  const tag = `{${component(scope.workspace)}/${component(scope.environment)}}`;
  return {
    index: `${prefix}:${tag}:i`,
    meta: `${prefix}:${tag}:m`,
    recordPrefix: `${prefix}:${tag}:r:`,
  };
}

export function recordKey(prefix: string, ref: SecretRef): string {
  return scopeKeys(prefix, ref).recordPrefix + ref.name;
}

/** The history hash of one secret: same hash tag as its record. */
export function historyKey(prefix: string, ref: SecretRef): string {
  return `${prefix}:{${component(ref.workspace)}/${component(ref.environment)}}:h:${ref.name}`;
}

export function environmentsKey(prefix: string, workspace: string): string {
  return `${prefix}:e:{${component(workspace)}}`;
}

function encodeTime(createdAt: number): string {
  return (createdAt + TIME_OFFSET).toString().padStart(TIME_WIDTH, "0");
}

/** The index member of a record. `createdAt` must be a safe integer (ms since epoch). */
export function indexMember(createdAt: number, name: string): string {
  if (!Number.isSafeInteger(createdAt) || Math.abs(createdAt) >= TIME_OFFSET) {
    throw new TypeError(`createdAt must be an integer number of milliseconds (got ${createdAt})`);
  }
  return `${encodeTime(createdAt)}:${name}`;
}

/**
 * The `createdAt` and name an index member encodes. The name is whatever follows the first `:`
 * (as the list script reads it); a member that is not `<17 digits>:<name>` has a `NaN` time.
 */
export function parseMember(member: string): { createdAt: number; name: string } {
  const separator = member.indexOf(":");
  const name = separator < 0 ? member : member.slice(separator + 1);
  const time = member.slice(0, TIME_WIDTH);
  const createdAt =
    separator === TIME_WIDTH && /^\d+$/.test(time) ? Number(time) - TIME_OFFSET : Number.NaN;
  return { createdAt, name };
}

/**
 * The exclusive upper bound (`ZRANGE … BYLEX REV` max) of the members strictly after `before` in
 * list order, or `undefined` when no member can be after it.
 */
export function upperBound(before: ListCursor | undefined): string | undefined {
  if (!before) return "+";
  const { createdAt, name } = before;
  if (Number.isNaN(createdAt) || createdAt === Number.NEGATIVE_INFINITY) return undefined;
  if (createdAt >= TIME_OFFSET) return "+";
  if (createdAt <= -TIME_OFFSET) return undefined;
  // Records have integer times: `< 1.5` is `< 2`, and no record has a fractional time to tie with.
  if (!Number.isInteger(createdAt)) return `(${encodeTime(Math.ceil(createdAt))}`;
  if (name === undefined) return `(${encodeTime(createdAt)}`;
  return `(${encodeTime(createdAt)}:${name}`;
}

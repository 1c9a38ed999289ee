import { verifyRecord } from "../crypto/sealed-record.js";
import { IntegrityError, InvalidError } from "../errors.js";
import type { ListCursor, SecretScope, StoredEntry, StoredRecord } from "../store.js";
import { checkRecordShape } from "./record-shape.js";
import type { SealedRecords } from "./sealed-records.js";

/** A record `list` or `rotate` left out because it failed its checks. Names only, no values. */
export interface DamagedSecret {
  workspace: string;
  environment: string;
  /** The name the store listed it under (possibly not a valid name: it is damaged). */
  name: string;
  /** Why: always an `IntegrityError` naming the secret. */
  error: IntegrityError;
}

/** One step of a scan: an authenticated record, or a damaged one. */
export type ScannedEntry = { record: StoredRecord } | { damaged: DamagedSecret };

/** Options of {@link scanScope}. */
export interface ScanOptions {
  /** Start strictly after this position. */
  before?: ListCursor;
  /** Entries asked of the store per call. */
  pageSize: number;
}

/** True when `next` lies strictly after `previous` in list order (newest first). */
function isAfter(next: ListCursor, previous: ListCursor | undefined): boolean {
  if (!previous) return true;
  if (next.createdAt !== previous.createdAt) return next.createdAt < previous.createdAt;
  return previous.name !== undefined && next.name !== undefined && next.name < previous.name;
}

/** The position a store ordered `entry` by, if it is a usable cursor. */
function positionOf(entry: StoredEntry): ListCursor | undefined {
  const { createdAt, name } = entry;
  if (!Number.isSafeInteger(createdAt) || typeof name !== "string") return undefined;
  return { createdAt: createdAt as number, name };
}

function damagedAt(scope: SecretScope, name: unknown, error: IntegrityError): ScannedEntry {
  return { damaged: { ...scope, name: String(name), error } };
}

/**
 * The entries a store lists for one scope, in list order, a page at a time, as the store returned
 * them (unchecked). It always ends: when the store's positions stop advancing (a damaged index),
 * it yields the position it stopped at as `{ stoppedAfter }` and ends.
 */
export async function* storeEntries(
  records: SealedRecords,
  scope: SecretScope,
  options: ScanOptions,
): AsyncGenerator<{ entry: StoredEntry } | { stoppedAfter: unknown }, void, undefined> {
  let cursor = options.before;
  for (;;) {
    const query = { limit: options.pageSize, ...(cursor ? { before: cursor } : {}) };
    const page = await records.call(() => records.store.list(scope, query));
    for (const entry of page) yield { entry };
    const last = page.at(-1);
    if (!last || page.length < options.pageSize) return;
    const next = positionOf(last);
    if (!next || !isAfter(next, cursor)) {
      yield { stoppedAfter: last.name };
      return;
    }
    cursor = next;
  }
}

/**
 * Walks one scope in list order and yields each record authenticated for the location it was
 * listed at — or, for one that is not, a {@link DamagedSecret}, and goes on with the rest. A
 * record outside the scope is never yielded, nor a name twice. A damaged index that stops the
 * walk is reported too.
 */
export async function* scanScope(
  records: SealedRecords,
  scope: SecretScope,
  options: ScanOptions,
): AsyncGenerator<ScannedEntry, void, undefined> {
  const seen = new Set<string>();
  for await (const step of storeEntries(records, scope, options)) {
    if ("stoppedAfter" in step) {
      yield damagedAt(
        scope,
        step.stoppedAfter,
        new IntegrityError(
          `the list index of environment "${scope.environment}" is damaged after ${JSON.stringify(String(step.stoppedAfter))}: listing stopped there`,
        ),
      );
      return;
    }
    const { entry } = step;
    const name = entry?.name;
    if (entry?.workspace !== scope.workspace || entry.environment !== scope.environment) {
      yield damagedAt(
        scope,
        name,
        new IntegrityError(
          `the store listed a record of another scope as ${JSON.stringify(String(name))} in environment "${scope.environment}": left out`,
        ),
      );
      continue;
    }
    if (seen.has(name)) continue; // a second index entry for one name: shown once at most
    try {
      const record = checkRecordShape(entry, { ...scope, name });
      verifyRecord(record, records.keyring);
      seen.add(name);
      yield { record };
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      yield damagedAt(scope, name, error);
    }
  }
}

/** Records asked of the store per page by `list` (fewer when fewer are wanted). */
const LIST_PAGE_SIZE = 100;

/**
 * Up to `maxObjects` authenticated records of one scope, newest first, strictly after `before`.
 * Damaged records are left out and passed to `onDamaged`; the page still holds `maxObjects`
 * healthy records when the scope has them. `more` says whether a healthy record follows.
 */
export async function listRecords(
  records: SealedRecords,
  scope: SecretScope,
  options: {
    maxObjects?: number;
    before?: ListCursor;
    onDamaged?: (damaged: DamagedSecret) => void;
  },
): Promise<{ records: StoredRecord[]; more: boolean }> {
  const { maxObjects, before, onDamaged } = options;
  const found: StoredRecord[] = [];
  if (maxObjects === 0) return { records: found, more: false };
  // One more than asked for: whether it exists is what `more` says.
  const pageSize = Math.min(LIST_PAGE_SIZE, (maxObjects ?? LIST_PAGE_SIZE) + 1);
  for await (const entry of scanScope(records, scope, {
    pageSize,
    ...(before ? { before } : {}),
  })) {
    if ("damaged" in entry) {
      onDamaged?.(entry.damaged);
      continue;
    }
    if (found.length === maxObjects) return { records: found, more: true };
    found.push(entry.record);
  }
  return { records: found, more: false };
}

const CURSOR_PREFIX = "c1.";

/** An opaque cursor for the position right after `record` in list order. */
export function cursorAfter(record: StoredRecord): string {
  return (
    CURSOR_PREFIX +
    Buffer.from(JSON.stringify([record.createdAt, record.name])).toString("base64url")
  );
}

/**
 * The list position a cursor of {@link cursorAfter} stands for.
 * @throws {InvalidError} for anything else.
 */
export function parseCursor(cursor: unknown): ListCursor {
  const fail = () =>
    new InvalidError("invalid cursor: pass back the nextCursor of a previous page");
  if (typeof cursor !== "string" || !cursor.startsWith(CURSOR_PREFIX) || cursor.length > 300)
    throw fail();
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      Buffer.from(cursor.slice(CURSOR_PREFIX.length), "base64url").toString("utf8"),
    );
  } catch {
    throw fail();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== "string"
  ) {
    throw fail();
  }
  return { createdAt: parsed[0], name: parsed[1] };
}

/** The later (further along the list) of two start positions. */
export function laterPosition(
  a: ListCursor | undefined,
  b: ListCursor | undefined,
): ListCursor | undefined {
  if (!a || !b) return a ?? b;
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? a : b;
  // Without a name, a position is past every record of its millisecond.
  if (a.name === undefined) return a;
  if (b.name === undefined) return b;
  return a.name < b.name ? a : b;
}

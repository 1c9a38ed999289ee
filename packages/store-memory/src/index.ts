import {
  type ChangeListener,
  type HistoryQuery,
  isUnreadable,
  type ListQuery,
  type ReplaceOptions,
  type SecretRef,
  type SecretScope,
  type SecretStore,
  type StoreChanges,
  type StoredEntry,
  type StoredRecord,
} from "@envkeep/core";

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Records to start from (e.g. a `snapshot()` of another memory store). @default [] */
  records?: readonly StoredRecord[];
  /**
   * The map that holds the store's data: key {@link memoryKey}`(ref)`, value the record as JSON.
   * Pass your own to look at or edit the stored form in tests, as someone with access to a real
   * backend could. @default a new Map
   */
  backing?: Map<string, string>;
}

/** A {@link SecretStore} in process memory, plus a way to look at what it holds. */
export interface MemoryStore extends SecretStore {
  /** Copies of every readable record held, in no particular order (for tests and backups). */
  snapshot(): StoredRecord[];
}

/** The key of a secret's location in a memory store's backing map. */
export function memoryKey(ref: SecretRef): string {
  return JSON.stringify([ref.workspace, ref.environment, ref.name]);
}

/**
 * The key of a secret's history in a memory store's backing map. Its value is a JSON object from
 * version (decimal) to that version's record.
 */
export function memoryHistoryKey(ref: SecretRef): string {
  return JSON.stringify([ref.workspace, ref.environment, ref.name, "history"]);
}

/** The location a backing-map key stands for, if it is one. */
function locationOf(key: string): SecretRef | undefined {
  try {
    const parsed: unknown = JSON.parse(key);
    if (
      Array.isArray(parsed) &&
      parsed.length === 3 &&
      parsed.every((p) => typeof p === "string")
    ) {
      const [workspace, environment, name] = parsed as [string, string, string];
      return { workspace, environment, name };
    }
  } catch {}
  return undefined;
}

/** The stored form of a record: known fields only, optional ones when set. */
function serialize(record: StoredRecord): string {
  return JSON.stringify(storedValue(record));
}

function storedValue(record: StoredRecord): StoredRecord {
  const { workspace, environment, name, secretId, keys, createdAt, updatedAt, version } = record;
  const value: StoredRecord = {
    workspace,
    environment,
    name,
    secretId,
    keys: [...keys],
    createdAt,
    updatedAt,
    version,
    sealed: record.sealed,
  };
  if (record.createdBy !== undefined) value.createdBy = record.createdBy;
  if (record.updatedBy !== undefined) value.updatedBy = record.updatedBy;
  return value;
}

/** A history object as stored (version → record), or an empty one where it does not parse. */
function parseHistory(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {}
  return {};
}

/** A history entry read as the contract asks: the location's identity, the rest as stored. */
function historyEntry(value: unknown, at: SecretRef, version: number): StoredEntry {
  const location = { workspace: at.workspace, environment: at.environment, name: at.name };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ...location, version, unreadable: "its stored value is not an object" };
  }
  return { ...(value as StoredRecord), ...location };
}

/** Versions of a history object, newest first (keys that are not versions are left out). */
function versionsOf(history: Record<string, unknown>): number[] {
  return Object.keys(history)
    .filter((key) => /^[1-9][0-9]{0,15}$/.test(key))
    .map(Number)
    .sort((a, b) => b - a);
}

/** What a stored text that is not JSON parses to. */
const NOT_JSON: unique symbol = Symbol("not JSON");

/** A parsed JSON value made read-only all the way down, so that no caller can alias the store. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** A stored text parsed afresh: a copy its caller may change. */
function parseCopy(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

/**
 * Parses stored texts, remembering the frozen result per backing-map key for as long as the
 * text there stays the same: a read of an unchanged record costs a string comparison (the same
 * string, so one pointer), not a JSON parse. A text edited behind the store's back is another
 * string and is parsed again.
 */
class ParsedTexts {
  readonly #seen = new Map<string, { text: string; value: unknown }>();

  parse(key: string, text: string): unknown {
    const seen = this.#seen.get(key);
    if (seen !== undefined && seen.text === text) return seen.value;
    const value = deepFreeze(parseCopy(text));
    this.#seen.set(key, { text, value });
    return value;
  }

  forget(key: string): void {
    this.#seen.delete(key);
  }
}

/**
 * What is stored at `at` (a parse of the stored text), read as the contract asks: the location's
 * identity, the other fields as stored (core checks them), an unreadable marker for anything that
 * is not a JSON object.
 */
function entryOf(value: unknown, at: SecretRef): StoredEntry {
  const location = { workspace: at.workspace, environment: at.environment, name: at.name };
  if (value === NOT_JSON) return { ...location, unreadable: "its stored value is not JSON" };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ...location, unreadable: "its stored value is not an object" };
  }
  return { ...(value as StoredRecord), ...location };
}

/**
 * The position of an entry in the list order. This store has no index, so a value whose
 * `createdAt` is unusable sorts as the oldest possible time (then by name), which keeps every
 * position a cursor can page past.
 */
function positioned(entry: StoredEntry): StoredEntry {
  const createdAt = Number.isSafeInteger(entry.createdAt)
    ? (entry.createdAt as number)
    : Number.MIN_SAFE_INTEGER;
  return { ...entry, createdAt };
}

/** List order: `createdAt` descending, then `name` descending (code-unit order). */
function newestFirst(a: StoredEntry, b: StoredEntry): number {
  const at = a.createdAt as number;
  const bt = b.createdAt as number;
  if (at !== bt) return bt - at;
  return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

function isBefore(entry: StoredEntry, before: NonNullable<ListQuery["before"]>): boolean {
  const time = entry.createdAt as number;
  if (time !== before.createdAt) return time < before.createdAt;
  return before.name !== undefined && entry.name < before.name;
}

/** The listeners of every watch on one backing map, whichever store made them. */
const watchersOf = new WeakMap<Map<string, string>, Set<ChangeListener>>();

/**
 * The listeners of `backing`, reporting each change of the map — through a store or straight
 * into the map (its `set`, `delete` and `clear` are wrapped once, on the map itself), so that a
 * record edited behind the store's back is reported like any other write.
 */
function watchersFor(backing: Map<string, string>): Set<ChangeListener> {
  let watchers = watchersOf.get(backing);
  if (watchers) return watchers;
  const listeners = new Set<ChangeListener>();
  watchers = listeners;
  watchersOf.set(backing, listeners);
  const report = (key: string | undefined) => {
    const changed = key === undefined ? undefined : locationOf(key);
    for (const listener of listeners) {
      // An unknown key cannot be a record's location: report it as "anything".
      listener(key === undefined || changed === undefined ? undefined : changed);
    }
  };
  const { set, delete: remove, clear } = Map.prototype;
  Object.defineProperties(backing, {
    set: {
      value: (key: string, value: string) => {
        set.call(backing, key, value);
        report(key);
        return backing;
      },
    },
    delete: {
      value: (key: string) => {
        const removed = remove.call(backing, key);
        if (removed) report(key);
        return removed;
      },
    },
    clear: {
      value: () => {
        clear.call(backing);
        report(undefined);
      },
    },
  });
  return listeners;
}

/**
 * A store that keeps sealed records in process memory: what hosts unit-test with, and what a
 * short-lived process can use. Every operation is atomic (single-threaded JS, no await between
 * check and write). Records are kept serialized, like in any real backend, so callers can never
 * alias stored state.
 *
 * @example
 * ```ts
 * import { generateMasterKey, SecretManager } from "@envkeep/core";
 * import { memoryStore } from "@envkeep/store-memory";
 *
 * const secrets = new SecretManager({ store: memoryStore(), masterKey: generateMasterKey() });
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const data = options.backing ?? new Map<string, string>();
  const texts = new ParsedTexts();
  /** The entry stored under `key` (the location `at`), if any. */
  const read = (key: string, at: SecretRef): StoredEntry | undefined => {
    const text = data.get(key);
    if (text === undefined) {
      texts.forget(key);
      return undefined;
    }
    return entryOf(texts.parse(key, text), at);
  };
  /** Workspace → environments that ever held a record (as the contract allows). */
  const environments = new Map<string, Set<string>>();
  let closed = false;

  const remember = (scope: SecretScope) => {
    const known = environments.get(scope.workspace) ?? new Set<string>();
    known.add(scope.environment);
    environments.set(scope.workspace, known);
  };

  /** Every location of one scope with what is stored there. */
  const entriesOf = (scope: SecretScope): StoredEntry[] => {
    const found: StoredEntry[] = [];
    for (const [key, text] of data) {
      const at = locationOf(key);
      if (at && at.workspace === scope.workspace && at.environment === scope.environment) {
        found.push(entryOf(texts.parse(key, text), at));
      }
    }
    return found;
  };

  for (const record of options.records ?? []) {
    data.set(memoryKey(record), serialize(record));
  }
  for (const key of data.keys()) {
    const at = locationOf(key);
    if (at) remember(at);
  }

  /** Changes of this process's map are reported at once, synchronously: nothing to catch up on. */
  const changes: StoreChanges = {
    reportsBackendEdits: true,
    watch: (listener) => {
      const listeners = watchersFor(data);
      listeners.add(listener);
      return {
        lagMs: 0,
        current: () => !closed,
        close: async () => {
          listeners.delete(listener);
        },
      };
    },
  };

  // Async like every real store, so callers never depend on synchronous completion.
  const op = async <T>(work: () => T): Promise<T> => {
    await Promise.resolve();
    if (closed) throw new Error("memory store is closed");
    return work();
  };

  return {
    name: "memory",
    changes,

    get: (ref: SecretRef) => op(() => read(memoryKey(ref), ref)),

    create: (record: StoredRecord) =>
      op(() => {
        const key = memoryKey(record);
        if (data.has(key)) return false;
        data.set(key, serialize(record));
        data.delete(memoryHistoryKey(record));
        remember(record);
        return true;
      }),

    replace: (record: StoredRecord, expectedVersion: number, options: ReplaceOptions = {}) =>
      op(() => {
        const key = memoryKey(record);
        const current = read(key, record);
        if (
          !current ||
          isUnreadable(current) ||
          current.secretId !== record.secretId ||
          current.version !== expectedVersion
        ) {
          return false;
        }
        data.set(key, serialize(record));
        const { history } = options;
        if (history) {
          const historyKey = memoryHistoryKey(record);
          const kept = parseHistory(data.get(historyKey));
          if (history.keep > 0 && history.previous) {
            kept[String(history.previous.version)] = storedValue(history.previous);
          }
          for (const version of versionsOf(kept)) {
            if (version <= record.version - 1 - history.keep) delete kept[String(version)];
          }
          if (Object.keys(kept).length === 0) data.delete(historyKey);
          else data.set(historyKey, JSON.stringify(kept));
        }
        return true;
      }),

    delete: (ref: SecretRef) =>
      op(() => {
        data.delete(memoryHistoryKey(ref));
        const key = memoryKey(ref);
        texts.forget(key);
        return data.delete(key);
      }),

    history: (ref: SecretRef, query: HistoryQuery = {}) =>
      op(() => {
        const kept = parseHistory(data.get(memoryHistoryKey(ref)));
        const versions = versionsOf(kept).filter(
          (version) => query.version === undefined || version === query.version,
        );
        return versions.map((version) => historyEntry(kept[String(version)], ref, version));
      }),

    replaceOldVersion: (record: StoredRecord, expectedSealed: string) =>
      op(() => {
        const historyKey = memoryHistoryKey(record);
        const kept = parseHistory(data.get(historyKey));
        const found = kept[String(record.version)] as Partial<StoredRecord> | undefined;
        if (typeof found !== "object" || found === null || found.sealed !== expectedSealed) {
          return false;
        }
        kept[String(record.version)] = storedValue(record);
        data.set(historyKey, JSON.stringify(kept));
        return true;
      }),

    list: (scope: SecretScope, query: ListQuery = {}) =>
      op(() => {
        let found = entriesOf(scope).map(positioned);
        const { before, limit } = query;
        if (before) found = found.filter((entry) => isBefore(entry, before));
        found.sort(newestFirst);
        return limit === undefined ? found : found.slice(0, limit);
      }),

    count: (scope: SecretScope) => op(() => entriesOf(scope).length),

    environments: (workspace: string) => op(() => [...(environments.get(workspace) ?? [])]),

    snapshot: () => {
      const records: StoredRecord[] = [];
      for (const [key, text] of data) {
        const at = locationOf(key);
        const entry = at && entryOf(parseCopy(text), at);
        if (entry && !isUnreadable(entry)) records.push(entry);
      }
      return records;
    },

    close: async () => {
      closed = true;
    },
  };
}

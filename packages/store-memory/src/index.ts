import {
  type ChangeListener,
  isUnreadable,
  type ListQuery,
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
  return JSON.stringify(value);
}

/**
 * What is stored at `at`, read as the contract asks: the location's identity, the other fields as
 * stored (core checks them), an unreadable marker for anything that is not a JSON object.
 */
function deserialize(text: string, at: SecretRef): StoredEntry {
  const location = { workspace: at.workspace, environment: at.environment, name: at.name };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ...location, unreadable: "its stored value is not JSON" };
  }
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
        found.push(deserialize(text, at));
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

    get: (ref: SecretRef) =>
      op(() => {
        const text = data.get(memoryKey(ref));
        return text === undefined ? undefined : deserialize(text, ref);
      }),

    create: (record: StoredRecord) =>
      op(() => {
        const key = memoryKey(record);
        if (data.has(key)) return false;
        data.set(key, serialize(record));
        remember(record);
        return true;
      }),

    replace: (record: StoredRecord, expectedVersion: number) =>
      op(() => {
        const key = memoryKey(record);
        const text = data.get(key);
        const current = text === undefined ? undefined : deserialize(text, record);
        if (
          !current ||
          isUnreadable(current) ||
          current.secretId !== record.secretId ||
          current.version !== expectedVersion
        ) {
          return false;
        }
        data.set(key, serialize(record));
        return true;
      }),

    delete: (ref: SecretRef) => op(() => data.delete(memoryKey(ref))),

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
        const entry = at && deserialize(text, at);
        if (entry && !isUnreadable(entry)) records.push(entry);
      }
      return records;
    },

    close: async () => {
      closed = true;
    },
  };
}

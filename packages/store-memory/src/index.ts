import type { ListQuery, SecretRef, SecretScope, SecretStore, StoredRecord } from "@envkeep/core";

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Records to start from (e.g. a `snapshot()` of another memory store). @default [] */
  records?: readonly StoredRecord[];
}

/** A {@link SecretStore} in process memory, plus a way to look at what it holds. */
export interface MemoryStore extends SecretStore {
  /** Deep copies of every record held, in no particular order (for tests and backups). */
  snapshot(): StoredRecord[];
}

const scopeKey = (scope: SecretScope) => JSON.stringify([scope.workspace, scope.environment]);

/** List order: `createdAt` descending, then `name` descending (code-unit order). */
function newestFirst(a: StoredRecord, b: StoredRecord): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

function isBefore(record: StoredRecord, before: NonNullable<ListQuery["before"]>): boolean {
  if (record.createdAt !== before.createdAt) return record.createdAt < before.createdAt;
  return before.name !== undefined && record.name < before.name;
}

/**
 * A store that keeps sealed records in process memory: what hosts unit-test with, and what a
 * short-lived process can use. Every operation is atomic (single-threaded JS, no await between
 * check and write). Records are copied in and out, so callers can never alias stored state.
 *
 * @example
 * ```ts
 * import { SecretManager } from "@envkeep/core";
 * import { memoryStore } from "@envkeep/store-memory";
 *
 * const secrets = new SecretManager({ store: memoryStore(), masterKey: generateMasterKey() });
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const scopes = new Map<string, Map<string, StoredRecord>>();
  const environments = new Map<string, Set<string>>();
  let closed = false;

  const scopeOf = (scope: SecretScope, create: boolean) => {
    const key = scopeKey(scope);
    let records = scopes.get(key);
    if (!records && create) {
      records = new Map();
      scopes.set(key, records);
      const known = environments.get(scope.workspace) ?? new Set<string>();
      known.add(scope.environment);
      environments.set(scope.workspace, known);
    }
    return records;
  };

  for (const record of options.records ?? []) {
    scopeOf(record, true)!.set(record.name, structuredClone(record));
  }

  // Async like every real store, so callers never depend on synchronous completion.
  const op = async <T>(work: () => T): Promise<T> => {
    await Promise.resolve();
    if (closed) throw new Error("memory store is closed");
    return work();
  };

  return {
    name: "memory",

    get: (ref: SecretRef) =>
      op(() => {
        const record = scopeOf(ref, false)?.get(ref.name);
        return record ? structuredClone(record) : undefined;
      }),

    create: (record: StoredRecord) =>
      op(() => {
        const records = scopeOf(record, true)!;
        if (records.has(record.name)) return false;
        records.set(record.name, structuredClone(record));
        return true;
      }),

    replace: (record: StoredRecord, expectedVersion: number) =>
      op(() => {
        const records = scopeOf(record, false);
        const current = records?.get(record.name);
        if (
          !current ||
          current.secretId !== record.secretId ||
          current.version !== expectedVersion
        ) {
          return false;
        }
        records!.set(record.name, structuredClone(record));
        return true;
      }),

    delete: (ref: SecretRef) => op(() => scopeOf(ref, false)?.delete(ref.name) ?? false),

    list: (scope: SecretScope, query: ListQuery = {}) =>
      op(() => {
        let records = [...(scopeOf(scope, false)?.values() ?? [])];
        const { before, limit } = query;
        if (before) records = records.filter((record) => isBefore(record, before));
        records.sort(newestFirst);
        if (limit !== undefined) records = records.slice(0, limit);
        return records.map((record) => structuredClone(record));
      }),

    count: (scope: SecretScope) => op(() => scopeOf(scope, false)?.size ?? 0),

    environments: (workspace: string) => op(() => [...(environments.get(workspace) ?? [])]),

    snapshot: () =>
      [...scopes.values()].flatMap((records) =>
        [...records.values()].map((r) => structuredClone(r)),
      ),

    close: async () => {
      closed = true;
    },
  };
}

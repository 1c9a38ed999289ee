import {
  generateMasterKey,
  isUnreadable,
  SecretManager,
  type SecretManagerOptions,
  type SecretRef,
  type SecretStore,
  type StoredRecord,
} from "@envkeep/core";

/**
 * Direct access to what a store keeps for one location, past the store's own API: what someone
 * with the database (a copy of the file, Redis access, a backup) but without the master key can
 * read and write. The tamper tests and the fuzzer edit records through it.
 */
export interface RawBackend {
  /** The stored text of the record at `ref` (the backend's serialized form), or `undefined`. */
  readText(store: SecretStore, ref: SecretRef): Promise<string | undefined>;
  /**
   * Puts `text` as the stored form at `ref`, with whatever index and metadata entries a record
   * there needs to be found by `get` and `list` (taken from the record `text` holds where it
   * parses, as a careful attacker would write them).
   */
  writeText(store: SecretStore, ref: SecretRef, text: string): Promise<void>;
  /** The record object inside a stored text, or `undefined` when it does not parse. */
  decode(text: string): Record<string, unknown> | undefined;
  /** The stored text of a record object (any fields, any values). */
  encode(record: Record<string, unknown>): string;
  /** The stored text of the history entry of `ref` kept under `version`, or `undefined`. */
  readHistoryText?(
    store: SecretStore,
    ref: SecretRef,
    version: number,
  ): Promise<string | undefined>;
  /** Puts `text` as the history entry of `ref` kept under `version` (any record, any bytes). */
  writeHistoryText?(
    store: SecretStore,
    ref: SecretRef,
    version: number,
    text: string,
  ): Promise<void>;
}

/** What a store package hands the suite. */
export interface StoreSuiteOptions {
  /** Name shown in the suite's title, e.g. `"sqlite"`. */
  name: string;
  /**
   * A fresh, empty store. Called once per test; the suite closes it afterwards. Stores that share
   * one backend should use a new file, prefix or namespace each time.
   */
  createStore: () => SecretStore | Promise<SecretStore>;
  /**
   * Everything the backend holds for `store`, as text: rows, values, index entries. Used to prove
   * that no value is ever stored in the clear. Omit only where a backend cannot be read raw.
   */
  readRaw?: (store: SecretStore) => Promise<string>;
  /**
   * Raw access to the backend, for the tamper tests and the tamper fuzzer. Every store with a
   * backend someone else can write to should give one.
   */
  backend?: RawBackend;
  /**
   * Another store on the same backend as `store` (its own connection: the same file, Redis and
   * prefix, or backing map), for the change-feed tests: what another process would write
   * through. The suite closes it. Omit where a backend cannot be shared.
   */
  reopenStore?: (store: SecretStore) => SecretStore | Promise<SecretStore>;
  /** Titles of suite tests to skip on this store (say why next to the list). @default [] */
  disableTests?: readonly string[];
  /** Extra tests of the store, registered inside the suite's `describe` with the same helpers. */
  additionalTests?: (context: StoreSuiteContext) => void;
}

/** Helpers the suite's tests (and a store's additional tests) use. */
export interface StoreSuiteContext {
  options: StoreSuiteOptions;
  /** The store of the running test (fresh per test). */
  store(): SecretStore;
  /** A manager on the running test's store; every manager of one test shares one workspace. */
  manager(overrides?: Partial<SecretManagerOptions>): SecretManager;
  /** The master key managers get by default. */
  masterKey: string;
  /** The workspace of the running test. */
  workspace(): string;
  /** The record the store holds for `name` (environment `"dev"` unless given); fails if none. */
  record(name: string, environment?: string): Promise<StoredRecord>;
}

let runCounter = 0;

/** A unique, valid name fragment for this test run. */
export function uniqueName(prefix: string): string {
  runCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${runCounter}`;
}

/** Builds the mutable per-test state behind {@link StoreSuiteContext}. */
export function createSuiteState(options: StoreSuiteOptions) {
  const masterKey = generateMasterKey();
  let current: SecretStore | undefined;
  let workspace = "ws";
  const opened: SecretStore[] = [];
  const context: StoreSuiteContext = {
    options,
    masterKey,
    store: () => {
      if (!current) throw new Error("no store: the suite's beforeEach did not run");
      return current;
    },
    manager: (overrides = {}) =>
      new SecretManager({
        store: context.store(),
        masterKey,
        workspace,
        environment: "dev",
        ...overrides,
      } as SecretManagerOptions),
    workspace: () => workspace,
    record: async (name, environment = "dev") => {
      const entry = await context.store().get({ workspace, environment, name });
      if (!entry || isUnreadable(entry)) throw new Error(`no readable record ${name}`);
      return entry;
    },
  };
  return {
    context,
    async open() {
      current = await options.createStore();
      opened.push(current);
      workspace = uniqueName("ws");
    },
    async closeAll() {
      for (const store of opened.splice(0)) await store.close();
      current = undefined;
    },
  };
}

/**
 * `decode`/`encode` of keyv's stored form `{"value": <record>}`, which the SQLite and Redis stores
 * keep: for their `RawBackend`s.
 */
export const keyvRecordCodec: Pick<RawBackend, "decode" | "encode"> = {
  decode: (text) => {
    try {
      const value = (JSON.parse(text) as { value?: unknown } | null)?.value;
      return typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  },
  encode: (record) => JSON.stringify({ value: record }),
};

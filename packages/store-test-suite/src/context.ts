import {
  generateMasterKey,
  SecretManager,
  type SecretManagerOptions,
  type SecretStore,
} from "@envkeep/core";

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

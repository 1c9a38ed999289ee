import type { SecretStore } from "@envkeep/core";
import { runStoreSuite } from "@envkeep/store-test-suite";
import { memoryHistoryKey, memoryKey, memoryStore } from "../src/index.js";

/** Each store's backing map: its "backend", for the tamper tests. */
const backings = new WeakMap<SecretStore, Map<string, string>>();
const backingOf = (store: SecretStore) => {
  const backing = backings.get(store);
  if (!backing) throw new Error("not a store of this file");
  return backing;
};

runStoreSuite({
  name: "memory",
  createStore: () => {
    const backing = new Map<string, string>();
    const store = memoryStore({ backing });
    backings.set(store, backing);
    return store;
  },
  readRaw: async (store) => JSON.stringify([...backingOf(store)]),
  reopenStore: (store) => memoryStore({ backing: backingOf(store) }),
  backend: {
    readText: async (store, ref) => backingOf(store).get(memoryKey(ref)),
    writeText: async (store, ref, text) => {
      backingOf(store).set(memoryKey(ref), text);
    },
    decode: (text) => {
      try {
        const value: unknown = JSON.parse(text);
        return typeof value === "object" && value !== null && !Array.isArray(value)
          ? (value as Record<string, unknown>)
          : undefined;
      } catch {
        return undefined;
      }
    },
    encode: (record) => JSON.stringify(record),
    readHistoryText: async (store, ref, version) => {
      const text = backingOf(store).get(memoryHistoryKey(ref));
      const entry = text === undefined ? undefined : JSON.parse(text)[String(version)];
      return entry === undefined ? undefined : JSON.stringify(entry);
    },
    writeHistoryText: async (store, ref, version, text) => {
      const backing = backingOf(store);
      const history = JSON.parse(backing.get(memoryHistoryKey(ref)) ?? "{}");
      let entry: unknown;
      try {
        entry = JSON.parse(text);
      } catch {
        entry = text;
      }
      history[String(version)] = entry;
      backing.set(memoryHistoryKey(ref), JSON.stringify(history));
    },
  },
});

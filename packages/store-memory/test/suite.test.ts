import { runStoreSuite } from "@envkeep/store-test-suite";
import { type MemoryStore, memoryStore } from "../src/index.js";

runStoreSuite({
  name: "memory",
  createStore: () => memoryStore(),
  readRaw: async (store) => JSON.stringify((store as MemoryStore).snapshot()),
});

// Benchmark of @envkeep/store-memory: envkeep's `resolve` of one 10-key secret next to the DIY
// floor on keyv's own in-memory store (a Map), the cache hit, and `create` next to a keyv `set`.
// Runs the BUILT packages: `pnpm bench` at the root builds everything first.
import { generateMasterKey, SecretManager } from "@envkeep/core";
import Keyv from "keyv";
import { compareWithRaw, machineLine, ROUNDS, tenKeys } from "../../../scripts/bench-kit.mjs";
import { memoryStore } from "../dist/index.js";

console.log(machineLine());
console.log(
  "caveat: timings depend on machine load; compare ratios from one run, not absolute figures across machines.",
);
console.log(`medians over ${ROUNDS} rounds\n`);

const store = memoryStore();
const options = { store, masterKey: generateMasterKey(), workspace: "bench", environment: "ops" };
const secrets = new SecretManager(options);
const cached = new SecretManager({ ...options, cache: { ttlMs: 60_000 } });
const raw = new Keyv({ throwOnErrors: true });
try {
  await secrets.create("ten-keys", tenKeys);
  const size = (await store.snapshot()).map((record) => JSON.stringify(record))[0].length;
  const rawValue = "v".repeat(size);
  await raw.set("ten-keys", rawValue);
  await compareWithRaw({ secrets, cached, raw, rawValue, size, createOps: 300, label: "memory" });
} finally {
  await cached.close();
  await secrets.close();
}

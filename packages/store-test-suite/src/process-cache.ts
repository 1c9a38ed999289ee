/**
 * The cache across processes: a real Node child process writes, this process's cached manager
 * must see each write at its next read (after the store's staleness bound).
 */
import { generateMasterKey, SecretManager, type SecretStore } from "@envkeep/core";
import { afterEach, describe, expect, it } from "vitest";
import { countingStore } from "./backend-tests.js";
import { type StoreWorker, type StoreWorkerTarget, spawnStoreWorkers } from "./store-worker.js";

export interface CacheFreshnessTestOptions extends StoreWorkerTarget {
  /** Name shown in the describe title, e.g. `"sqlite"`. */
  name: string;
  /** Factory options of a fresh store shared by the worker and this process. */
  storeOptions: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Opens the same store in this process (the factory of `storeModule`). */
  openStore: (storeOptions: Record<string, unknown>) => SecretStore;
  /** Writes by the other process. @default 12 */
  writes?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Registers the two-process cache test of a store (top level of a vitest file): another process
 * updates a secret again and again; after each update returns there, this process's cached
 * `resolve` and `info` — served from its cache in between — show it, once the store's
 * staleness bound (`ChangeWatch.lagMs`: 0 for SQLite) has passed.
 */
export function runCacheFreshnessTests(options: CacheFreshnessTestOptions): void {
  const writes = options.writes ?? 12;
  describe(`the cache across two processes: ${options.name}`, () => {
    let workers: StoreWorker[] = [];
    let managers: SecretManager[] = [];
    afterEach(async () => {
      await Promise.all(workers.map((worker) => worker.close()));
      await Promise.all(managers.map((manager) => manager.close()));
      workers = [];
      managers = [];
    });

    it("another process writes; this one's next cached resolve and info see it within the bound", async () => {
      const masterKey = generateMasterKey();
      const storeOptions = await options.storeOptions();
      const [writer] = await spawnStoreWorkers({ ...options, storeOptions, masterKey, count: 1 });
      workers.push(writer as StoreWorker);
      const store = countingStore(options.openStore(storeOptions));
      const local = new SecretManager({
        store,
        masterKey,
        workspace: "race",
        environment: "dev",
        cache: { ttlMs: 60_000 },
      });
      managers.push(local);
      expect(local.caching).toBe(true);
      const probe = store.changes?.watch(() => {});
      const lagMs = probe?.lagMs ?? 0;
      await probe?.close();

      expect((await writer!.createEach(["fresh"])).outcomes).toEqual(["ok"]);
      const handle = local.fromName("fresh");
      expect(await local.resolve([handle])).toEqual({ WINNER: "0" });
      let reads = 0;
      for (let i = 0; i < writes; i++) {
        // Warm: repeated reads of the unchanged secret (served from the cache once it vouches).
        for (let j = 0; j < 5; j++) {
          await local.resolve([handle]);
          await local.info("fresh");
          reads += 2;
          if (lagMs > 0) await sleep(lagMs / 4);
        }
        expect((await writer!.updateKeys("fresh", [`K${i}`])).outcomes).toEqual(["ok"]);
        if (lagMs > 0) await sleep(lagMs + 5);
        const seen = await local.resolve([handle]);
        expect(seen[`K${i}`], `write ${i} seen`).toBe("0");
        expect((await local.info("fresh")).version).toBe(i + 2);
        reads += 2;
      }
      // Not vacuous: most reads never reached the store.
      expect(store.calls.get("get") ?? 0).toBeLessThan(reads / 2);
    }, 120_000);
  });
}

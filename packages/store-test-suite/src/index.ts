import { afterEach, beforeEach, describe } from "vitest";
import { defineApiTests } from "./api-tests.js";
import { defineBackendTests } from "./backend-tests.js";
import { defineCanaryTests } from "./canary-tests.js";
import { defineChangeTests } from "./change-tests.js";
import { defineConcurrencyTests } from "./concurrency-tests.js";
import { createSuiteState, type StoreSuiteContext, type StoreSuiteOptions } from "./context.js";
import { defineContractTests } from "./contract-tests.js";
import { defineCryptoTests } from "./crypto-tests.js";
import { testDefiner } from "./define.js";
import { defineHistoryTests } from "./history-tests.js";
import { defineInputFuzzTests } from "./input-fuzz-tests.js";
import { defineModelTests } from "./model-tests.js";
import { defineTamperFuzzTests } from "./tamper-fuzz-tests.js";

export { countingStore, errorOf } from "./backend-tests.js";
export type { RawBackend, StoreSuiteContext, StoreSuiteOptions } from "./context.js";
export { keyvRecordCodec, uniqueName } from "./context.js";
export { sampleRecord } from "./contract-tests.js";
export { fuzzRuns, within } from "./fuzz-runs.js";
export * from "./process-cache.js";
export * from "./process-race.js";
export * from "./store-worker.js";
export { overlapping, raceUntilOverlapping } from "./write-window.js";

/**
 * The envkeep store compliance suite: the `SecretStore` contract member by member, every semantic
 * of the behaviour contract through `SecretManager`, concurrency, encryption, rotation and a
 * canary leak check (which, with `readRaw`, also proves the backend holds no value in any form).
 * Call it at the top level of a vitest test file.
 *
 * @example
 * ```ts
 * // packages/store-memory/test/suite.test.ts
 * import { runStoreSuite } from "@envkeep/store-test-suite";
 * import { memoryStore } from "../src/index.js";
 *
 * runStoreSuite({ name: "memory", createStore: () => memoryStore() });
 * ```
 */
export function runStoreSuite(options: StoreSuiteOptions): void {
  describe(`store compliance: ${options.name}`, () => {
    const state = createSuiteState(options);
    const context: StoreSuiteContext = state.context;
    const test = testDefiner(context);
    beforeEach(() => state.open());
    afterEach(() => state.closeAll());

    defineContractTests(context, test);
    defineApiTests(context, test);
    defineConcurrencyTests(context, test);
    defineCryptoTests(context, test);
    defineCanaryTests(context, test);
    defineModelTests(context, test);
    defineHistoryTests(context, test);
    defineInputFuzzTests(context, test);
    defineChangeTests(context, test);
    if (options.backend) {
      defineBackendTests(context, test);
      defineTamperFuzzTests(context, test);
      // The same edits, read through a manager with the cache on, where the store's change feed
      // sees edits of the backend (elsewhere its ttlMs bounds them: see the change tests).
      describe("with the cache on", () => {
        const cached: StoreSuiteContext = {
          ...context,
          manager: (overrides = {}) =>
            context.manager({
              ...(context.store().changes?.reportsBackendEdits ? { cache: { ttlMs: 60_000 } } : {}),
              ...overrides,
            }),
        };
        defineBackendTests(cached, test);
      });
    }
    options.additionalTests?.(context);
  });
}

// What every envkeep benchmark shares: medians, interleaved rounds, the machine line, the
// 10-key payload. Benchmarks compare ratios measured in one run, never absolute figures.
import { cpus, loadavg, totalmem } from "node:os";

/** Rounds each benchmark measures. */
export const ROUNDS = 7;

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Milliseconds as right-aligned microseconds. */
export const us = (ms) => `${(ms * 1000).toFixed(1).padStart(8)} µs`;

/**
 * Per-call time (ms) of each of `calls`: ROUNDS rounds, each running `ops` sequential calls of
 * every one in turn (interleaved, so a change of machine load hits all alike); the median of the
 * rounds' means. Each call gets a running index (negative during warm-up).
 */
export async function measure(ops, ...calls) {
  for (const call of calls) for (let i = 0; i < Math.min(ops, 50); i++) await call(-1 - i); // warm-up
  const perOp = calls.map(() => []);
  const next = calls.map(() => 0);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [c, call] of calls.entries()) {
      const start = performance.now();
      for (let i = 0; i < ops; i++) await call(next[c]++);
      perOp[c].push((performance.now() - start) / ops);
    }
  }
  return perOp.map(median);
}

/** One line naming the machine and its load, printed at the top of every benchmark. */
export function machineLine() {
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  return `machine: ${cpus().length} CPU (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, load average ${load}; node ${process.version}`;
}

/** The secret both store benchmarks resolve and create: 10 keys, ~1.1 kB sealed. */
export const tenKeys = Object.fromEntries(
  Array.from({ length: 10 }, (_, i) => [`KEY_${i}`, `value-${i}-${"x".repeat(24)}`]),
);

/**
 * Prints envkeep's `resolve` and `create` of the 10-key secret next to a raw keyv `get` and `set`
 * of a value of the same stored size, on the same backend. `ten-keys` must exist in both.
 */
export async function compareWithRaw({ secrets, raw, rawValue, size, createOps }) {
  const handle = secrets.fromName("ten-keys");
  const [resolveMs, getMs] = await measure(
    500,
    () => secrets.resolve([handle]),
    () => raw.get("ten-keys"),
  );
  const [createMs, setMs] = await measure(
    createOps,
    (i) => secrets.create(`c${i + 100}`, tenKeys),
    (i) => raw.set(`c${i + 100}`, rawValue),
  );
  console.log(`one 10-key secret, stored size ${size} bytes`);
  console.log(
    `  envkeep resolve  ${us(resolveMs)}   raw keyv get  ${us(getMs)}   ratio ${(resolveMs / getMs).toFixed(2)}x`,
  );
  console.log(
    `  envkeep create   ${us(createMs)}   raw keyv set  ${us(setMs)}   ratio ${(createMs / setMs).toFixed(2)}x`,
  );
}

/**
 * Prints `list({ maxObjects: 10 })` (plain and with `createdBefore`) and `count` for the
 * environments "small" (1,000 secrets) and "large" (100,000), created from 1_700_000_000_000 ms
 * on, one per ms. Sets a failing exit code if the 100k list costs more than 3x the 1k one.
 */
export async function compareListing({ secrets, countOps, countNote }) {
  const listOf =
    (environment, extra = {}) =>
    () =>
      secrets.list({ environment, maxObjects: 10, ...extra });
  const [small, large] = await measure(300, listOf("small"), listOf("large"));
  console.log(`  1,000 secrets    ${us(small)}`);
  console.log(
    `  100,000 secrets  ${us(large)}   ratio 100k/1k ${(large / small).toFixed(2)}x (must stay ≤ 3x)`,
  );
  const before = new Date(1_700_000_000_000 + 500).toISOString();
  const [smallBefore, largeBefore] = await measure(
    300,
    listOf("small", { createdBefore: before }),
    listOf("large", { createdBefore: before }),
  );
  console.log("  with createdBefore (middle of 1k; near the oldest of 100k):");
  console.log(`  1,000 secrets    ${us(smallBefore)}`);
  console.log(
    `  100,000 secrets  ${us(largeBefore)}   ratio 100k/1k ${(largeBefore / smallBefore).toFixed(2)}x`,
  );
  const [countSmall, countLarge] = await measure(
    countOps,
    () => secrets.store.count({ workspace: "bench", environment: "small" }),
    () => secrets.store.count({ workspace: "bench", environment: "large" }),
  );
  console.log(`  count: 1,000 ${us(countSmall)}; 100,000 ${us(countLarge)} (${countNote})`);
  if (large / small > 3) process.exitCode = 1;
}

/**
 * Prints `update` of the 10-key secret with history on (the manager's default, 10 versions kept)
 * next to today's `update` without it: the same store, wrapped so that `replace` never sees a
 * history option (`maxVersions: 0` there, so nothing is sealed for history either), and `resolve`
 * of each. Sets a failing exit code when update with history costs more than 1.3x.
 */
export async function compareHistory({ SecretManager, store, masterKey, updateOps }) {
  const withHistory = new SecretManager({
    store,
    masterKey,
    workspace: "bench",
    environment: "hist",
  });
  const plain = new Proxy(store, {
    get(target, property) {
      if (property === "replace") return (record, version) => target.replace(record, version);
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const withoutHistory = new SecretManager({
    store: plain,
    masterKey,
    workspace: "bench",
    environment: "hist",
    maxVersions: 0,
  });
  await withHistory.create("with-history", tenKeys);
  await withoutHistory.create("without-history", tenKeys);
  const [withMs, withoutMs] = await measure(
    updateOps,
    (i) => withHistory.update("with-history", { KEY_0: `v${i}` }),
    (i) => withoutHistory.update("without-history", { KEY_0: `v${i}` }),
  );
  const [resolveWith, resolveWithout] = await measure(
    300,
    () => withHistory.resolve([withHistory.fromName("with-history")]),
    () => withoutHistory.resolve([withoutHistory.fromName("without-history")]),
  );
  const kept = (await withHistory.versions("with-history")).length - 1;
  console.log(`update of a 10-key secret, history on (${kept} old versions kept) vs off`);
  console.log(
    `  update, history  ${us(withMs)}   without  ${us(withoutMs)}   ratio ${(withMs / withoutMs).toFixed(2)}x (must stay ≤ 1.3x)`,
  );
  console.log(
    `  resolve current  ${us(resolveWith)}   without  ${us(resolveWithout)}   ratio ${(resolveWith / resolveWithout).toFixed(2)}x`,
  );
  if (withMs / withoutMs > 1.3) process.exitCode = 1;
}

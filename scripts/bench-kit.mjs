// What every envkeep benchmark shares: medians, interleaved rounds, the machine line, the
// 10-key payload. Benchmarks compare ratios measured in one run, never absolute figures.
import { createRequire } from "node:module";
import { cpus, loadavg, totalmem } from "node:os";

// tweetnacl as core resolves it (the root package does not depend on it).
const nacl = createRequire(new URL("../packages/core/package.json", import.meta.url))("tweetnacl");

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
  for (const call of calls) for (let i = 0; i < Math.min(ops, 1000); i++) await call(-1 - i); // warm-up (the JIT settles)
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

/** Issue 13's goal for `resolve` of one 10-key secret: at most this many times the DIY floor. */
export const FLOOR_GOAL = 1.2;
/** Issue 13's goal for a cache hit (`info` of an unchanged secret), in µs. */
export const CACHE_HIT_GOAL_US = 2;

/**
 * The DIY floor: what a hand-rolled app does on the same keyv adapter to read one secret — one
 * `keyv.get` of `{ key, box }` (a 32-byte data key wrapped by a master key, and the payload sealed
 * by the data key, both tweetnacl `secretbox` with the nonce in front, base64), two
 * `secretbox.open`s and a `JSON.parse`. No identity, no metadata, no checks. Stores the record
 * under `key` in `raw` and returns the read.
 */
export async function diyFloor(raw, key, entries = tenKeys) {
  const master = nacl.randomBytes(32);
  const dataKey = nacl.randomBytes(32);
  const seal = (message, with_) => {
    const nonce = nacl.randomBytes(24);
    return Buffer.concat([nonce, nacl.secretbox(message, nonce, with_)]).toString("base64");
  };
  await raw.set(key, {
    key: seal(dataKey, master),
    box: seal(new TextEncoder().encode(JSON.stringify(entries)), dataKey),
  });
  const open = (text, with_) => {
    const bytes = Buffer.from(text, "base64");
    return nacl.secretbox.open(bytes.subarray(24), bytes.subarray(0, 24), with_);
  };
  return async () => {
    const stored = await raw.get(key);
    const opened = open(stored.box, open(stored.key, master));
    return JSON.parse(Buffer.from(opened).toString("utf8"));
  };
}

/**
 * Prints envkeep's `resolve` of the 10-key secret beside the DIY floor (see {@link diyFloor})
 * and a raw keyv `get` of a value of the same stored size, with the ratio to the floor and its
 * goal; then, when `cached` (a manager with `cache` on, same store) is given, a cache hit of
 * `info` and of `resolve` (beside `hitFloor`, when given: what every hit must do on this store,
 * measured in the same rounds); then `create` beside a raw keyv `set`. `ten-keys` must exist in
 * both. Returns the figures.
 */
export async function compareWithRaw({
  secrets,
  cached,
  raw,
  rawValue,
  size,
  createOps,
  label,
  hitFloor,
}) {
  const handle = secrets.fromName("ten-keys");
  const floor = await diyFloor(raw, "diy-ten-keys");
  const [resolveMs, floorMs, getMs] = await measure(
    500,
    () => secrets.resolve([handle]),
    floor,
    () => raw.get("ten-keys"),
  );
  const ratio = resolveMs / floorMs;
  console.log(`one 10-key secret, stored size ${size} bytes`);
  console.log(
    `  envkeep resolve  ${us(resolveMs)}   DIY floor  ${us(floorMs)}   ratio ${ratio.toFixed(2)}x (goal <= ${FLOOR_GOAL}x${ratio <= FLOOR_GOAL ? ", met" : ", NOT met"})   raw keyv get ${us(getMs)}`,
  );
  const figures = { label, resolveMs, floorMs, ratio };
  if (cached) {
    const cachedHandle = cached.fromName("ten-keys");
    await cached.info("ten-keys");
    await cached.resolve([cachedHandle]);
    const [infoHitMs, resolveHitMs, hitFloorMs] = await measure(
      2000,
      () => cached.info("ten-keys"),
      () => cached.resolve([cachedHandle]),
      ...(hitFloor ? [hitFloor.run] : []),
    );
    const hitUs = infoHitMs * 1000;
    console.log(
      `  cache hit: info  ${us(infoHitMs)} (goal <= ${CACHE_HIT_GOAL_US} µs${hitUs <= CACHE_HIT_GOAL_US ? ", met" : ", NOT met"})   resolve ${us(resolveHitMs)} (opens the sealed record: the cache keeps no plaintext)`,
    );
    if (hitFloor) console.log(`    each hit first does ${hitFloor.label}: alone ${us(hitFloorMs)}`);
    Object.assign(figures, { infoHitMs, resolveHitMs });
  }
  const [createMs, setMs] = await measure(
    createOps,
    (i) => secrets.create(`c${i + 100}`, tenKeys),
    (i) => raw.set(`c${i + 100}`, rawValue),
  );
  console.log(
    `  envkeep create   ${us(createMs)}   raw keyv set  ${us(setMs)}   ratio ${(createMs / setMs).toFixed(2)}x`,
  );
  return figures;
}

/** When the listing benchmark's secrets were created: secret `i` of an environment at BASE + i ms. */
export const LIST_BASE_MS = 1_700_000_000_000;

/**
 * `count` real sealed 1-key records of workspace "bench" / `environment`, named `s000000`…, each
 * sealed under `masterKey` for its own identity and created at LIST_BASE_MS + i (the clock is
 * held still for each create) — so every record authenticates, as a listing needs. Made through a
 * manager on a memory store, then handed to `write` in batches of `batch` for a bulk insert.
 */
export async function fillSealed({ SecretManager, masterKey, environment, count, batch, write }) {
  const { memoryStore } = await import("@envkeep/store-memory");
  const realNow = Date.now;
  for (let from = 0; from < count; from += batch) {
    const store = memoryStore();
    const maker = new SecretManager({ store, masterKey, workspace: "bench", environment });
    const records = [];
    try {
      for (let i = from; i < Math.min(count, from + batch); i++) {
        const name = `s${String(i).padStart(6, "0")}`;
        Date.now = () => LIST_BASE_MS + i;
        await maker.create(name, { KEY: `value-${i}` });
        records.push(await store.get({ workspace: "bench", environment, name }));
      }
    } finally {
      Date.now = realNow;
      await maker.close();
    }
    await write(records);
  }
}

/**
 * Prints `list({ maxObjects: 10 })` (plain and with `createdBefore`) and `count` for the
 * environments "small" (1,000 secrets) and "large" (100,000), created from 1_700_000_000_000 ms
 * on, one per ms (see {@link fillSealed}). Sets a failing exit code if the 100k list costs more than 3x the 1k one.
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
  const before = new Date(LIST_BASE_MS + 500).toISOString();
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

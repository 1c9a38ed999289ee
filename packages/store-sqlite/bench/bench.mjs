// Benchmark of @envkeep/store-sqlite: envkeep's per-operation cost next to raw keyv on the same
// database file, and list({ maxObjects: 10 }) with 1,000 vs 100,000 secrets in the environment.
// Runs the BUILT packages: `pnpm --filter @envkeep/core build && pnpm --filter @envkeep/store-sqlite build`
// (or `pnpm bench` at the root, which builds everything first).
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateMasterKey, SecretManager } from "@envkeep/core";
import KeyvSqlite from "@keyv/sqlite";
import Keyv from "keyv";
import { machineLine, measure, ROUNDS, tenKeys, us } from "../../../scripts/bench-kit.mjs";
import { sqliteStore } from "../dist/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "envkeep-sqlite-bench-"));
const file = path.join(dir, "bench.db");

console.log(machineLine());
console.log(
  "caveat: timings depend on machine load and disk (fsync per write); compare ratios from one run, not absolute figures across machines.",
);
console.log(`medians over ${ROUNDS} rounds; database file in ${dir}\n`);

const secrets = new SecretManager({
  store: sqliteStore({ path: file }),
  masterKey: generateMasterKey(),
  workspace: "bench",
  environment: "ops",
});
const raw = new Keyv({
  store: new KeyvSqlite({ uri: `sqlite://${file}`, table: "keyv_raw", busyTimeout: 5000 }),
  throwOnErrors: true,
});
const probe = new KeyvSqlite({ uri: `sqlite://${file}`, table: "envkeep_secrets" });

try {
  // ---- per-operation cost ---------------------------------------------------------------------
  await secrets.create("ten-keys", tenKeys);
  const [{ size }] = await probe.query(
    "SELECT length(value) AS size FROM envkeep_secrets WHERE key = 'bench/ops/ten-keys'",
  );
  // A raw value of the same stored size (keyv wraps it as {"value": …}, like envkeep's rows).
  const rawValue = "v".repeat(size - '{"value":""}'.length);
  await raw.set("ten-keys", rawValue);
  const handle = secrets.fromName("ten-keys");

  const [resolveMs, getMs] = await measure(
    500,
    () => secrets.resolve([handle]),
    () => raw.get("ten-keys"),
  );
  const [createMs, setMs] = await measure(
    150,
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

  // ---- list at scale --------------------------------------------------------------------------
  // Realistic rows (a real sealed 1-key record, copied under new names) written in bulk through a
  // second connection, since 100,000 encrypted creates one by one would dominate the run.
  const template = await secrets.store.get({
    workspace: "bench",
    environment: "ops",
    name: "ten-keys",
  });
  async function fill(environment, count) {
    const base = 1_700_000_000_000;
    await probe.query("BEGIN IMMEDIATE");
    for (let from = 0; from < count; from += 5_000) {
      const rows = [];
      for (let i = from; i < Math.min(count, from + 5_000); i++) {
        const name = `s${String(i).padStart(6, "0")}`;
        const record = {
          ...template,
          environment,
          name,
          secretId: `st-bench${i}`,
          createdAt: base + i,
          updatedAt: base + i,
        };
        rows.push([`bench/${environment}/${name}`, JSON.stringify({ value: record })]);
      }
      await probe.query(
        "INSERT INTO envkeep_secrets (key, value) SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]') FROM json_each(?) AS j",
        JSON.stringify(rows),
      );
    }
    await probe.query("COMMIT");
  }
  const fillStart = performance.now();
  await fill("small", 1_000);
  await fill("large", 100_000);
  const fillSeconds = (performance.now() - fillStart) / 1000;
  console.log(
    `\nlist({ maxObjects: 10 }) — filled 101,000 rows in ${fillSeconds.toFixed(1)} s; file ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB (+WAL)`,
  );
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
  console.log(`  with createdBefore (middle of 1k; near the oldest of 100k):`);
  console.log(`  1,000 secrets    ${us(smallBefore)}`);
  console.log(
    `  100,000 secrets  ${us(largeBefore)}   ratio 100k/1k ${(largeBefore / smallBefore).toFixed(2)}x`,
  );
  const [countSmall, countLarge] = await measure(
    20,
    () => secrets.store.count({ workspace: "bench", environment: "small" }),
    () => secrets.store.count({ workspace: "bench", environment: "large" }),
  );
  console.log(
    `  count: 1,000 ${us(countSmall)}; 100,000 ${us(countLarge)} (index-only, linear in the count)`,
  );
  if (large / small > 3) process.exitCode = 1;
} finally {
  await probe.close();
  await raw.disconnect();
  await secrets.close();
  rmSync(dir, { recursive: true, force: true });
}

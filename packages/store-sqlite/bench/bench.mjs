// Benchmark of @envkeep/store-sqlite: envkeep's per-operation cost next to raw keyv on the same
// database file, and list({ maxObjects: 10 }) with 1,000 vs 100,000 secrets in the environment.
// Runs the BUILT packages: `pnpm --filter @envkeep/core build && pnpm --filter @envkeep/store-sqlite build`
// (or `pnpm bench` at the root, which builds everything first).
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateMasterKey, SecretManager } from "@envkeep/core";
import KeyvSqlite from "@keyv/sqlite";
import Keyv from "keyv";
import {
  compareHistory,
  compareListing,
  compareWithRaw,
  fillSealed,
  machineLine,
  ROUNDS,
  tenKeys,
} from "../../../scripts/bench-kit.mjs";
import { sqliteStore } from "../dist/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "envkeep-sqlite-bench-"));
const file = path.join(dir, "bench.db");

console.log(machineLine());
console.log(
  "caveat: timings depend on machine load and disk (fsync per write); compare ratios from one run, not absolute figures across machines.",
);
console.log(`medians over ${ROUNDS} rounds; database file in ${dir}\n`);

const benchKey = generateMasterKey();
const managerOptions = {
  store: sqliteStore({ path: file }),
  masterKey: benchKey,
  workspace: "bench",
  environment: "ops",
};
const secrets = new SecretManager(managerOptions);
// The same store with the opt-in cache: what a repeated read of an unchanged secret costs.
const cached = new SecretManager({ ...managerOptions, cache: { ttlMs: 60_000 } });
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
  // A hit's change check is one fstat of a held descriptor (of the write-ahead log); measured here
  // on a file of its own, so that no descriptor of the database's files is ever closed.
  const fstatProbe = path.join(dir, "fstat-probe");
  writeFileSync(fstatProbe, "");
  const probeFd = openSync(fstatProbe, "r");
  await compareWithRaw({
    secrets,
    cached,
    raw,
    rawValue,
    size,
    createOps: 150,
    label: "sqlite",
    hitFloor: { label: "one fstat of a held descriptor", run: () => fstatSync(probeFd) },
  });
  closeSync(probeFd);
  await compareHistory({
    SecretManager,
    store: secrets.store,
    masterKey: benchKey,
    updateOps: 150,
  });

  // ---- list at scale --------------------------------------------------------------------------
  // Real sealed records, each sealed for its own name (a listing shows only records that
  // authenticate), written in bulk through a second connection: 100,000 creates through the
  // store one by one would dominate the run.
  async function fill(environment, count) {
    await probe.query("BEGIN IMMEDIATE");
    await fillSealed({
      SecretManager,
      masterKey: benchKey,
      environment,
      count,
      batch: 5_000,
      write: (records) =>
        probe.query(
          "INSERT INTO envkeep_secrets (key, value) SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]') FROM json_each(?) AS j",
          JSON.stringify(
            records.map((record) => [
              `bench/${environment}/${record.name}`,
              JSON.stringify({ value: record }),
            ]),
          ),
        ),
    });
    await probe.query("COMMIT");
  }
  const fillStart = performance.now();
  await fill("small", 1_000);
  await fill("large", 100_000);
  const fillSeconds = (performance.now() - fillStart) / 1000;
  console.log(
    `\nlist({ maxObjects: 10 }) — filled 101,000 rows in ${fillSeconds.toFixed(1)} s; file ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB (+WAL)`,
  );
  await compareListing({ secrets, countOps: 20, countNote: "index-only, linear in the count" });
} finally {
  await probe.close();
  await raw.disconnect();
  await secrets.close();
  rmSync(dir, { recursive: true, force: true });
}

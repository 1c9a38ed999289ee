// Start-up cost of the envkeep CLI next to a bare `node -e ""`, whole processes, in one run, each
// against its goal (issue 13): `envkeep --help` ≤ 1.5x and `envkeep run -s … -- node -e ""`
// ≤ 2x; `envkeep secret list` (SQLite, 100 secrets) and `run` on a Redis store (when one answers
// at REDIS_URL or 127.0.0.1:6379) are shown beside them. Then core's
// `secrets.spawn` next to a bare `child_process.spawn`. Rounds are interleaved (each round runs
// every command once), and each figure is the median of its rounds. A figure over its goal sets
// a failing exit code. Beside `run`, its floor: a Node process that does nothing but spawn the
// same child — two Node starts, which no CLI written in Node can go below; beside `--help`, a Node
// process that loads commander (the CLI's argument parser) and prints one help.
// Runs the BUILT packages, as installed: bin/envkeep.cjs (`pnpm bench` at the root builds first).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateMasterKey, SecretManager } from "@envkeep/core";
import { machineLine, median } from "../../../scripts/bench-kit.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
// BENCH_ENVKEEP_BIN measures another build of the CLI (say, an older commit's) the same way.
const bin =
  process.env.BENCH_ENVKEEP_BIN ?? path.resolve(import.meta.dirname, "../bin/envkeep.cjs");
const commanderPath = createRequire(path.resolve(import.meta.dirname, "../package.json")).resolve(
  "commander",
);
const dir = mkdtempSync(path.join(tmpdir(), "envkeep-cli-bench-"));
const masterKey = generateMasterKey();
const store = `sqlite:${path.join(dir, "secrets.db")}`;
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ENVKEEP_MASTER_KEY: masterKey,
  ENVKEEP_STORE: store,
};

/** Wall-clock ms of each command (argv of node), median of ROUNDS interleaved rounds. */
function timeProcesses(commands) {
  const samples = commands.map(() => []);
  for (let round = -1; round < ROUNDS; round++) {
    for (const [i, args] of commands.entries()) {
      const start = process.hrtime.bigint();
      const { status, stderr } = spawnSync(process.execPath, args, { env, stdio: "pipe" });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (status !== 0) throw new Error(`${args.join(" ")} exited with ${status}: ${stderr}`);
      if (round >= 0) samples[i].push(ms); // round -1 warms the disk cache
    }
  }
  return samples.map(median);
}

async function timeAsync(...calls) {
  const samples = calls.map(() => []);
  for (let round = -1; round < ROUNDS; round++) {
    for (const [i, call] of calls.entries()) {
      const start = process.hrtime.bigint();
      await call();
      if (round >= 0) samples[i].push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return samples.map(median);
}

/**
 * A Redis store holding one secret under a prefix of this run's, for `envkeep run --store …`, or
 * undefined when no Redis answers. `remove()` deletes every key written under the prefix.
 */
async function redisTarget() {
  const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const prefix = `envkeep-cli-bench-${process.pid}`;
  const storeUrl = `${url}${url.includes("?") ? "&" : "?"}prefix=${prefix}&connectTimeoutMs=500`;
  let manager;
  try {
    manager = await SecretManager.open({
      store: storeUrl,
      masterKey,
      importModule: (name) => import(name),
    });
    await manager.create("secret-7", { API_KEY: "value-7", REGION: "eu" });
  } catch {
    await manager?.close();
    return undefined;
  }
  await manager.close();
  // The admin client of the store package's own Redis dependency.
  const { createClient } = createRequire(import.meta.resolve("@envkeep/store-redis"))(
    "@keyv/redis",
  );
  return {
    storeUrl,
    async remove() {
      const admin = await createClient({ url }).connect();
      for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        if (keys.length > 0) await admin.unlink(keys);
      }
      admin.destroy();
    },
  };
}

console.log(machineLine());
const redis = await redisTarget();
const secrets = await SecretManager.open({
  store,
  masterKey,
  importModule: (name) => import(name),
});
try {
  for (let i = 0; i < 100; i++) {
    await secrets.create(`secret-${i}`, { API_KEY: `value-${i}`, REGION: "eu" });
  }

  // The floor of any `run` written in Node: a Node process that only starts the child and waits.
  const spawnOnly = `require("node:child_process").spawnSync(process.execPath, ["-e", ""], { stdio: "inherit" })`;
  // The floor of a `--help` written with commander (the CLI's parser): load it, print one help.
  const commanderOnly = `const { Command } = require(${JSON.stringify(commanderPath)}); new Command("envkeep").description("secrets").option("-v, --verbose").outputHelp()`;
  const runArgs = ["run", "-s", "secret-7", "--", process.execPath, "-e", ""];
  const [node, help, list, run, nodeSpawnsNode, nodeLoadsCommander, runOnRedis] = timeProcesses([
    ["-e", ""],
    [bin, "--help"],
    [bin, "secret", "list"],
    [bin, ...runArgs],
    ["-e", spawnOnly],
    ["-e", commanderOnly],
    ...(redis ? [[bin, "--store", redis.storeUrl, ...runArgs]] : []),
  ]);

  const bareSpawn = () =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
      child.on("error", reject);
      child.on("close", resolve);
    });
  const handle = secrets.fromName("secret-7");
  const envkeepSpawn = async () => {
    const { exit } = await secrets.spawn(process.execPath, ["-e", ""], {
      secrets: [handle],
      stdio: "ignore",
    });
    await exit;
  };
  const [rawSpawn, coreSpawn] = await timeAsync(bareSpawn, envkeepSpawn);

  const row = (label, ms, base, goal) => {
    const ratio = ms / base;
    const verdict =
      goal === undefined ? "" : `  goal ≤ ${goal}x: ${ratio <= goal ? "met" : "MISSED"}`;
    if (goal !== undefined && ratio > goal) process.exitCode = 1;
    console.log(
      `${label.padEnd(46)} ${ms.toFixed(1).padStart(8)} ms  ${ratio.toFixed(2).padStart(5)}x${verdict}`,
    );
  };
  /** A command beside its floor: the ratio, and the ms envkeep adds over it. */
  const vsFloor = (label, ms, floor) =>
    console.log(
      `  ${label} vs its floor: ${(ms / floor).toFixed(2)}x (what envkeep adds: ${(ms - floor).toFixed(1)} ms)`,
    );
  console.log(`median of ${ROUNDS} interleaved rounds; ratios against the bare substrate`);
  row('node -e ""  (baseline)', node, node);
  row("envkeep --help", help, node, 1.5);
  row("node printing a commander help (floor of --help)", nodeLoadsCommander, node);
  vsFloor("--help", help, nodeLoadsCommander);
  row("envkeep secret list  (SQLite, 100 secrets)", list, node);
  row('envkeep run -s secret-7 -- node -e ""', run, node, 2);
  row('node spawning node -e "" (floor of run)', nodeSpawnsNode, node);
  vsFloor("run", run, nodeSpawnsNode);
  if (runOnRedis === undefined) console.log("(run on Redis: skipped, no Redis answered)");
  else row('envkeep run … -- node -e ""  (Redis store)', runOnRedis, node);
  row('child_process.spawn node -e ""  (baseline)', rawSpawn, rawSpawn);
  row("secrets.spawn  (resolve 1 named secret + spawn)", coreSpawn, rawSpawn);
  console.log(
    "caveat: wall-clock times on a shared machine; other load moves absolute numbers, compare ratios from one run.",
  );
} finally {
  await secrets.close();
  await redis?.remove();
  rmSync(dir, { recursive: true, force: true });
}

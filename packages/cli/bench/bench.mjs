// Cost of the envkeep CLI and of core's spawn, next to the bare substrate, in one run:
//   node startup  vs  `envkeep --help`  vs  `envkeep secret list` (SQLite, 100 secrets)
//   `node -e ""`  vs  `envkeep run -s … -- node -e ""`
//   child_process.spawn  vs  secrets.spawn (in-process: resolve + spawn)
// Run after `pnpm build` (uses ../dist/bin.js and the built @envkeep/core).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateMasterKey, SecretManager } from "@envkeep/core";
import { median } from "../../../scripts/bench-kit.mjs";

const ROUNDS = 15;
const bin = path.resolve(import.meta.dirname, "../dist/bin.js");
const dir = mkdtempSync(path.join(tmpdir(), "envkeep-cli-bench-"));
const masterKey = generateMasterKey();
const store = `sqlite:${path.join(dir, "secrets.db")}`;
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ENVKEEP_MASTER_KEY: masterKey,
  ENVKEEP_STORE: store,
};

function timeProcess(args) {
  const samples = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    const { status } = spawnSync(process.execPath, args, { env, stdio: "ignore" });
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (status !== 0) throw new Error(`${args.join(" ")} exited with ${status}`);
  }
  return median(samples);
}

async function timeAsync(fn) {
  const samples = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

const secrets = await SecretManager.open({
  store,
  masterKey,
  importModule: (name) => import(name),
});
try {
  for (let i = 0; i < 100; i++) {
    await secrets.create(`secret-${i}`, { API_KEY: `value-${i}`, REGION: "eu" });
  }

  const node = timeProcess(["-e", ""]);
  const help = timeProcess([bin, "--help"]);
  const list = timeProcess([bin, "secret", "list"]);
  const run = timeProcess([bin, "run", "-s", "secret-7", "--", process.execPath, "-e", ""]);

  const rawSpawn = await timeAsync(
    () =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
        child.on("error", reject);
        child.on("close", resolve);
      }),
  );
  const handle = secrets.fromName("secret-7");
  const envkeepSpawn = await timeAsync(async () => {
    const { exit } = await secrets.spawn(process.execPath, ["-e", ""], {
      secrets: [handle],
      stdio: "ignore",
    });
    await exit;
  });

  const row = (label, ms, base) =>
    console.log(`${label.padEnd(46)} ${ms.toFixed(1).padStart(8)} ms  ${(ms / base).toFixed(2)}x`);
  console.log(`median of ${ROUNDS} rounds; ratios against the bare substrate of the same run`);
  row('node -e ""  (baseline)', node, node);
  row("envkeep --help", help, node);
  row("envkeep secret list  (SQLite, 100 secrets)", list, node);
  row('envkeep run -s secret-7 -- node -e ""', run, node);
  row('child_process.spawn node -e ""  (baseline)', rawSpawn, rawSpawn);
  row("secrets.spawn  (resolve 1 named secret + spawn)", envkeepSpawn, rawSpawn);
  console.log(
    "caveat: wall-clock times on a shared machine; other load moves absolute numbers, compare ratios from one run.",
  );
} finally {
  await secrets.close();
  rmSync(dir, { recursive: true, force: true });
}

// envkeep end to end, on the embedded default store (SQLite at ./.envkeep/secrets.db):
// create → list → update → resolve (with explain) → run a child process that sees its secrets →
// rotate the master key. Values are never printed; the child shows only whether each is set.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { generateMasterKey, Secret, SecretManager } from "@envkeep/core";

const stateDir = path.resolve(".envkeep");
const keyFile = path.join(stateDir, "demo-master.key");

/** The demo keeps its own key file so reruns can open what earlier runs stored. A real host
 *  takes ENVKEEP_MASTER_KEY(S) from its secret manager or KMS instead. */
async function demoMasterKey() {
  if (process.env.ENVKEEP_MASTER_KEY || process.env.ENVKEEP_MASTER_KEYS) return undefined;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  try {
    return (await readFile(keyFile, "utf8")).trim();
  } catch {
    const key = generateMasterKey();
    await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
    await chmod(keyFile, 0o600);
    console.log(`(demo) generated a master key in ${path.relative(process.cwd(), keyFile)}`);
    return key;
  }
}

const step = (title) => console.log(`\n── ${title}`);
const masterKey = await demoMasterKey();
const secrets = await SecretManager.open({
  ...(masterKey ? { masterKey } : {}),
  workspace: "demo",
  environment: "dev",
  actor: "demo-script",
});

try {
  step(
    `store: ${secrets.store.name} (ENVKEEP_STORE or the embedded default ./.envkeep/secrets.db)`,
  );

  step("create two named secrets (overwrite, so the demo can run again)");
  const api = await secrets.create(
    "api-keys",
    { API_KEY: "sk-demo-4f1c9a", API_URL: "https://api.example.com" },
    { ifExists: "overwrite" },
  );
  await secrets.create(
    "database",
    { PGHOST: "db.internal", PGUSER: "app", PGPASSWORD: "correct-horse-battery" },
    { ifExists: "overwrite" },
  );
  await secrets.create(
    "api-keys",
    { API_KEY: "ignored" },
    { environment: "prod", ifExists: "skip" },
  );
  console.log(`api-keys: ${api.secretId}, version ${api.version}, keys ${api.keys.join(", ")}`);

  step("list (newest first; metadata only, never values)");
  for (const info of await secrets.list({ maxObjects: 10 })) {
    console.log(
      `${info.name.padEnd(10)} v${String(info.version).padEnd(3)} ${info.keys.join(",").padEnd(32)} by ${info.updatedBy}`,
    );
  }

  step("update like dict.update, as a check-and-set on the version just read");
  const updated = await secrets.update(
    "api-keys",
    { API_KEY: "sk-demo-77aa01", DEPRECATED: null },
    { ifVersion: api.version },
  );
  console.log(`api-keys is now version ${updated.version}`);

  step("resolve: later layers win, env last — explain says which layer supplied each key");
  const layers = [
    secrets.fromName("database", { requiredKeys: ["PGPASSWORD"] }),
    secrets.fromName("api-keys"),
    Secret.fromObject({ API_URL: "https://staging.example.com", LOG_LEVEL: "debug" }),
  ];
  const { explain } = await secrets.resolve(layers, { env: { PORT: "8080" }, explain: true });
  for (const [key, { from, overrode }] of Object.entries(explain)) {
    const where = (o) => (o.kind === "named" ? `${o.name}@${o.environment} v${o.version}` : o.kind);
    const over = overrode.length ? ` (overrode ${overrode.map(where).join(", ")})` : "";
    console.log(`${key.padEnd(11)} ← ${where(from)}${over}`);
  }

  step("spawn a child process with the secrets in its environment");
  const childCode = `
    // Never any part of a value: only whether it is there, and its length.
    const mask = (v) => v === undefined ? "(missing)" : "set (" + v.length + " chars)";
    for (const k of ["API_KEY", "API_URL", "PGPASSWORD", "PORT"]) console.log("  child sees " + k + " = " + mask(process.env[k]));`;
  const { exit } = await secrets.spawn(process.execPath, ["-e", childCode], {
    secrets: layers,
    env: { PORT: "8080" },
    stdio: "inherit",
  });
  const { code } = await exit;
  console.log(
    `child exited with code ${code}; this process's env has API_KEY: ${"API_KEY" in process.env}`,
  );

  step("rotate the master key: new key first in the keyring, re-wrap, then drop the old key");
  if (masterKey) {
    const newKey = generateMasterKey();
    const rotating = await SecretManager.open({ keyring: [newKey, masterKey], workspace: "demo" });
    const report = await rotating.rotate({
      onProgress: ({ done, total }) => process.stdout.write(`\r  re-wrapped ${done}/${total}`),
    });
    await rotating.close();
    console.log(
      `\n  ${report.rewrapped} re-wrapped, ${report.failed.length} failed; now under ${report.keyId}`,
    );
    await writeFile(keyFile, `${newKey}\n`, { mode: 0o600 });
    const after = await SecretManager.open({
      masterKey: newKey,
      workspace: "demo",
      environment: "dev",
    });
    const env = await after.resolve([after.fromName("api-keys")]);
    console.log(`  with only the new key, api-keys still opens: ${Object.keys(env).join(", ")}`);
    await after.close();
  } else {
    console.log("  (skipped: the master key comes from the environment)");
  }
} finally {
  await secrets.close();
}

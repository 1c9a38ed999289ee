import { userInfo } from "node:os";
import { type DamagedSecret, InvalidError, SecretManager, UnknownKeyError } from "@envkeep/core";
import { importStorePackage } from "./store-packages.js";

/** Options every command accepts (defined once, on the program). */
export interface GlobalOptions {
  /** `--store URL`. */
  store?: string;
  /** `--workspace NAME`. */
  workspace?: string;
  /** `-e, --env NAME`. */
  env?: string;
}

function actor(): string | undefined {
  if (process.env.ENVKEEP_ACTOR) return process.env.ENVKEEP_ACTOR;
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return undefined;
  }
}

/**
 * Opens a manager on the configured store: `--store`, else `ENVKEEP_STORE`, else the embedded
 * default (SQLite at `./.envkeep/secrets.db`). The master key comes from `ENVKEEP_MASTER_KEYS` or
 * `ENVKEEP_MASTER_KEY`; its absence is reported before any store is touched.
 */
export async function openManager(options: GlobalOptions): Promise<SecretManager> {
  if (!process.env.ENVKEEP_MASTER_KEY?.trim() && !process.env.ENVKEEP_MASTER_KEYS?.trim()) {
    throw new InvalidError(
      "no master key: set ENVKEEP_MASTER_KEY (create one with `envkeep key generate`)",
    );
  }
  const who = actor();
  return SecretManager.open({
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.workspace === undefined ? {} : { workspace: options.workspace }),
    ...(options.env === undefined ? {} : { environment: options.env }),
    ...(who === undefined ? {} : { actor: who }),
    // Resolve store packages from the CLI, which depends on all of them.
    importModule: importStorePackage,
  });
}

/** Runs `body` with a manager and always closes it. */
export async function withManager<T>(
  options: GlobalOptions,
  body: (secrets: SecretManager) => Promise<T>,
): Promise<T> {
  const secrets = await openManager(options);
  try {
    return await body(secrets);
  } finally {
    await secrets.close().catch(() => {});
  }
}

/** How many records sealed under keys this manager lacks the key check looks past. */
const KEY_CHECK_LIMIT = 5;

/**
 * Refuses to write with a master key that opens none of the newest secrets of the environment
 * (when it holds any): a wrong `ENVKEEP_MASTER_KEY` must not seal new data under a key nobody
 * else has. `list` authenticates each record's metadata with the master key, so one listed record
 * proves the key. Only records sealed under a key not held count against it: a record damaged in
 * any other way (forged, truncated) says nothing about the key, and blocks no write.
 */
export async function assertKeyOpensEnvironment(
  secrets: SecretManager,
  environment: string | undefined,
): Promise<void> {
  const foreign: DamagedSecret[] = [];
  const fail = () =>
    new InvalidError(
      `the master key opens none of the newest secrets in environment "${foreign[0]?.environment}": check ENVKEEP_MASTER_KEY (${foreign[0]?.error.message})`,
    );
  const recent = await secrets.list({
    maxObjects: 1,
    ...(environment === undefined ? {} : { environment }),
    onDamaged: (record) => {
      if (!(record.error instanceof UnknownKeyError)) return;
      foreign.push(record);
      if (foreign.length >= KEY_CHECK_LIMIT) throw fail();
    },
  });
  if (recent.length === 0 && foreign.length > 0) throw fail();
}

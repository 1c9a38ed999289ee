import { userInfo } from "node:os";
import { assertSecretName, InvalidError, type SecretInfo, SecretManager } from "@envkeep/core";

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
    importModule: (specifier) => import(specifier),
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

/**
 * A record whose stored name is not a valid name was written around envkeep (a damaged or forged
 * database): it cannot be opened by name, says nothing about the key, and must not block writes.
 */
function hasValidName(info: SecretInfo): boolean {
  try {
    assertSecretName(info.name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses to write with a master key that opens none of the newest secrets of the environment
 * (when it holds any): a wrong `ENVKEEP_MASTER_KEY` must not seal new data under a key nobody
 * else has. One list call and at most a few reads; values are opened and dropped, never shown.
 */
export async function assertKeyOpensEnvironment(
  secrets: SecretManager,
  environment: string | undefined,
): Promise<void> {
  const recent = await secrets.list({
    maxObjects: 5,
    ...(environment === undefined ? {} : { environment }),
  });
  let firstFailure: unknown;
  for (const info of recent) {
    if (!hasValidName(info)) continue;
    try {
      await secrets.resolve([secrets.fromName(info.name, { environment: info.environment })]);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "INTEGRITY") throw error;
      firstFailure ??= error;
    }
  }
  if (firstFailure !== undefined) {
    throw new InvalidError(
      `the master key opens none of the newest secrets in environment "${recent[0]?.environment}": check ENVKEEP_MASTER_KEY (${(firstFailure as Error).message})`,
    );
  }
}

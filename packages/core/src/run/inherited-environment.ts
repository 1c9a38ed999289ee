import { storeUrlHoldsCredentials } from "../store-url.js";

/**
 * Variables a child process never inherits, whatever their value: the master keys open every
 * secret, and a child gets only the secrets it is given. Pass one in `env` explicitly if a child
 * really needs it.
 */
export const NOT_INHERITED = ["ENVKEEP_MASTER_KEY", "ENVKEEP_MASTER_KEYS"] as const;

const ALWAYS_WITHHELD: ReadonlySet<string> = new Set(NOT_INHERITED);

/**
 * The names of the variables of `env` that envkeep withholds: {@link NOT_INHERITED} (the master
 * keys) and `ENVKEEP_STORE` when its URL holds credentials (a user or password, a
 * credential-looking query parameter, or a URL that can't be parsed; see
 * `storeUrlHoldsCredentials`). Names are compared case-insensitively, as Windows does.
 *
 * This one rule decides both what a child started by `SecretManager.spawn` / `envkeep run`
 * inherits and what a `.env` file may expand, so the two can never disagree.
 *
 * @example
 * ```ts
 * withheldVariables({ ENVKEEP_MASTER_KEY: "ek1_…", ENVKEEP_STORE: "redis://:pw@h", HOME: "/root" });
 * // Set { "ENVKEEP_MASTER_KEY", "ENVKEEP_STORE" }
 * ```
 */
export function withheldVariables(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Set<string> {
  const withheld = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    const upper = name.toUpperCase();
    if (ALWAYS_WITHHELD.has(upper)) withheld.add(name);
    else if (upper === "ENVKEEP_STORE" && value !== undefined && storeUrlHoldsCredentials(value)) {
      withheld.add(name);
    }
  }
  return withheld;
}

/**
 * What a child process inherits from `parent`: every defined variable except the
 * {@link withheldVariables}. Also what a `.env` file's `${VAR}` references see after the file's
 * own earlier keys.
 *
 * @example
 * ```ts
 * const env = Object.fromEntries(inheritedEnvironment(process.env));
 * spawn("node", ["worker.js"], { env }); // no master key, no store password
 * ```
 */
export function inheritedEnvironment(
  parent: Readonly<Record<string, string | undefined>> = process.env,
): Map<string, string> {
  const withheld = withheldVariables(parent);
  const inherited = new Map<string, string>();
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !withheld.has(name)) inherited.set(name, value);
  }
  return inherited;
}

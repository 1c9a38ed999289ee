import { InvalidError } from "../errors.js";
import { inheritedEnvironment } from "../run/inherited-environment.js";
import { DEFAULT_MAX_BYTES, MAX_VALUE_LENGTH } from "../validation/schemas.js";
import { readDotenvEntries } from "./dotenv-entries.js";
import { expandDotenv } from "./expand-dotenv.js";

/** Largest `.env` text read, in bytes of UTF-8: 1 MiB. */
export const MAX_DOTENV_BYTES = 1024 * 1024;

/** Most characters one value may have after expansion: the value rule's 32,768. */
export const MAX_DOTENV_VALUE_LENGTH = MAX_VALUE_LENGTH;

/**
 * Most characters all keys and values of one `.env` text may add up to after expansion: the
 * default size of one secret, 1 MiB.
 */
export const MAX_DOTENV_EXPANDED_LENGTH = DEFAULT_MAX_BYTES;

/** Options of {@link parseDotenv}. */
export interface ParseDotenvOptions {
  /**
   * The environment that `${VAR}` references see after the file's own earlier keys, minus what
   * envkeep withholds from children (`withheldVariables`: the master keys, a credential-bearing
   * `ENVKEEP_STORE`). Read, never written.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Names the text in error messages. @default "dotenv text" */
  source?: string;
}

/**
 * Parses `.env` text: dotenv's grammar (see `readDotenvEntries`), then one linear expansion pass
 * (see `expandValue`): `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`,
 * `${VAR+alt}` against the file's earlier keys, then the inherited environment; an unknown or
 * withheld name expands to "". `$(…)` is never run and `process.env` never written.
 *
 * @throws {InvalidError} naming `source` and a line (never a value) for text over
 * {@link MAX_DOTENV_BYTES}, an unreadable line, an invalid key, a value over
 * {@link MAX_DOTENV_VALUE_LENGTH} or a total over {@link MAX_DOTENV_EXPANDED_LENGTH} characters.
 * @example
 * ```ts
 * parseDotenv("HOST=db\nURL=postgres://${HOST}:${PORT:-5432}/app", { env: {} });
 * // { HOST: "db", URL: "postgres://db:5432/app" }
 * ```
 */
export function parseDotenv(
  text: string,
  options: ParseDotenvOptions = {},
): Record<string, string> {
  const source = options.source ?? "dotenv text";
  if (typeof text !== "string") throw new InvalidError(`${source}: expected text`);
  if (text.length > MAX_DOTENV_BYTES || Buffer.byteLength(text) > MAX_DOTENV_BYTES) {
    throw new InvalidError(`${source} is larger than ${MAX_DOTENV_BYTES} bytes`);
  }
  return expandDotenv(
    readDotenvEntries(text, source),
    inheritedEnvironment(options.env ?? process.env),
    source,
    { maxValueLength: MAX_DOTENV_VALUE_LENGTH, maxTotalLength: MAX_DOTENV_EXPANDED_LENGTH },
  );
}

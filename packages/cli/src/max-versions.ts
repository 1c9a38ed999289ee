/**
 * How many old versions a command's writes keep per secret: `--max-versions`, else
 * `ENVKEEP_MAX_VERSIONS`, else core's default (10). Checked before any store is opened; a bad
 * value is a usage error that never echoes it (it may be a value typed in the wrong place).
 */
import { UsageError } from "./io.js";

/** The largest bound core accepts (`SecretManager`'s `maxVersions`; a test keeps them equal). */
export const MAX_VERSIONS_LIMIT = 1000;

function parseCount(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^[0-9]{1,4}$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return value <= MAX_VERSIONS_LIMIT ? value : undefined;
}

/**
 * The `maxVersions` of the manager: `flag` (the text of `--max-versions`) when given, else
 * `ENVKEEP_MAX_VERSIONS` when set to anything but blanks, else `undefined` (core's default).
 *
 * @throws {UsageError} unless the value is a whole number from 0 to {@link MAX_VERSIONS_LIMIT}.
 */
export function resolveMaxVersions(flag: string | undefined): number | undefined {
  const fromEnvironment = process.env.ENVKEEP_MAX_VERSIONS;
  const [text, rule] =
    flag !== undefined
      ? [flag, "--max-versions takes"]
      : [fromEnvironment, "ENVKEEP_MAX_VERSIONS must be"];
  if (text === undefined || (flag === undefined && text.trim() === "")) return undefined;
  const value = parseCount(text);
  if (value === undefined) {
    throw new UsageError(
      `${rule} a whole number from 0 to ${MAX_VERSIONS_LIMIT} (old versions kept per secret)`,
    );
  }
  return value;
}

import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import dotenv from "dotenv";
import { expand } from "dotenv-expand";
import { InvalidError, NotFoundError } from "../errors.js";
import { assertEntries } from "../validation/validate.js";

/** Options of `Secret.fromDotenv`. */
export interface DotenvOptions {
  /** Name of the file to look for. @default ".env" */
  filename?: string;
}

async function statOrUndefined(file: string) {
  try {
    return await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new InvalidError(`cannot read ${JSON.stringify(file)}`, { cause: error });
  }
}

/**
 * Finds the dotenv file: from `start` (a directory, or a file whose directory is used) upward to
 * the filesystem root. Returns `undefined` when there is none.
 */
export async function findDotenvFile(
  start: string | undefined,
  filename: string,
): Promise<string | undefined> {
  let directory = path.resolve(start ?? process.cwd());
  const startStat = await statOrUndefined(directory);
  if (!startStat) throw new NotFoundError(`dotenv path ${JSON.stringify(start)} does not exist`);
  if (!startStat.isDirectory()) {
    if (path.basename(directory) === filename) return directory;
    directory = path.dirname(directory);
  }
  for (;;) {
    const candidate = path.join(directory, filename);
    const found = await statOrUndefined(candidate);
    if (found?.isFile()) return candidate;
    const parent = path.dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

/**
 * Parses dotenv text with the `dotenv` parser and expands `${VAR}` / `${VAR:-default}` with
 * `dotenv-expand` 12 (which never runs `$(…)` commands): earlier keys of the same file first,
 * then the process environment. `process.env` is read, never written.
 */
export function parseDotenv(
  text: string,
  env: Record<string, string | undefined> = process.env,
): Record<string, string> {
  const parsed = dotenv.parse(text);
  // dotenv-expand lets its processEnv win over the file's own keys and writes the result into
  // it, so hand it a copy without the file's keys.
  const processEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !Object.hasOwn(parsed, key)) processEnv[key] = value;
  }
  const { parsed: expanded = {} } = expand({ parsed: { ...parsed }, processEnv });
  return Object.fromEntries(Object.entries(expanded));
}

/** Finds, reads, parses and validates a dotenv file; no file found → `{}`. */
export async function loadDotenv(
  start: string | undefined,
  options: DotenvOptions = {},
): Promise<Record<string, string>> {
  const filename = options.filename ?? ".env";
  if (!filename || filename.includes("/") || filename.includes("\\")) {
    throw new InvalidError(
      `invalid dotenv filename ${JSON.stringify(filename)}: expected a plain file name`,
    );
  }
  const file = await findDotenvFile(start, filename);
  if (!file) return {};
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InvalidError(`cannot read dotenv file ${JSON.stringify(file)}`, { cause: error });
  }
  const entries = parseDotenv(text);
  assertEntries(entries, `dotenv file ${JSON.stringify(file)}`);
  return entries;
}

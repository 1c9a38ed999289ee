import type { FileHandle } from "node:fs/promises";
import path from "node:path";
import { InvalidError, NotFoundError, SecretsError } from "../errors.js";
import { fsPromises } from "../lazy-modules.js";
import { assertEntries } from "../validation/validate.js";
import { MAX_DOTENV_BYTES, parseDotenv } from "./parse-dotenv.js";

/** Options of `Secret.fromDotenv`. */
export interface DotenvOptions {
  /** Name of the file to look for. @default ".env" */
  filename?: string;
}

async function statOrUndefined(file: string) {
  try {
    return await fsPromises().stat(file);
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

function tooLarge(file: string): InvalidError {
  return new InvalidError(
    `dotenv file ${JSON.stringify(file)} is larger than ${MAX_DOTENV_BYTES} bytes`,
  );
}

/** Reads at most {@link MAX_DOTENV_BYTES} (+1, to tell a larger file) of a regular file. */
async function readDotenvText(file: string): Promise<string> {
  // Checked before opening: opening a FIFO would wait for a writer forever.
  if ((await statOrUndefined(file))?.isFile() === false) {
    throw new InvalidError(`dotenv file ${JSON.stringify(file)} is not a regular file`);
  }
  let handle: FileHandle;
  try {
    handle = await fsPromises().open(file, "r");
  } catch (error) {
    throw new InvalidError(`cannot read dotenv file ${JSON.stringify(file)}`, { cause: error });
  }
  try {
    if ((await handle.stat()).size > MAX_DOTENV_BYTES) throw tooLarge(file);
    // The file may grow after stat(): never read more than the limit + 1 byte.
    const buffer = Buffer.alloc(MAX_DOTENV_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_DOTENV_BYTES) throw tooLarge(file);
    }
    return buffer.toString("utf8", 0, length);
  } catch (error) {
    if (error instanceof SecretsError) throw error;
    throw new InvalidError(`cannot read dotenv file ${JSON.stringify(file)}`, { cause: error });
  } finally {
    await handle.close();
  }
}

/**
 * Finds, reads, parses ({@link parseDotenv}, against `process.env`) and validates a dotenv file;
 * no file found → `{}`. Errors name the file and the line, never a value.
 */
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
  const source = `dotenv file ${JSON.stringify(file)}`;
  const entries = parseDotenv(await readDotenvText(file), { source });
  assertEntries(entries, source);
  return entries;
}

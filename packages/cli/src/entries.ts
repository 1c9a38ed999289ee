import { statSync } from "node:fs";
import path from "node:path";
import { InvalidError, NotFoundError, Secret, type SecretManager } from "@envkeep/core";
import { readAllStdin, readHiddenLine, stripOneNewline, UsageError } from "./io.js";

/** One `KEY=VALUE` argument; `value: undefined` means `KEY=-` (read from standard input). */
interface Assignment {
  key: string;
  value: string | undefined;
}

/** `text` cut at 80 characters: keys and paths are quoted before they are checked. */
function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Splits `KEY=VALUE` arguments at the first `=`. `KEY=-` reads the value from standard input. */
export function parseAssignments(args: readonly string[]): Assignment[] {
  const assignments = args.map((arg, index) => {
    const equals = arg.indexOf("=");
    if (equals <= 0) {
      // The argument is not echoed: it may be a value typed in the wrong place.
      throw new UsageError(
        `argument ${index + 1} after the secret name is not KEY=VALUE${equals === 0 ? " (no KEY before =)" : ""}; KEY=- reads the value from standard input`,
      );
    }
    const key = arg.slice(0, equals);
    const value = arg.slice(equals + 1);
    return { key, value: value === "-" ? undefined : value };
  });
  const fromStdin = assignments.filter((assignment) => assignment.value === undefined);
  if (fromStdin.length > 1) {
    throw new UsageError(
      `only one KEY=- may read standard input (got ${fromStdin.map((a) => shorten(a.key)).join(", ")})`,
    );
  }
  return assignments;
}

/**
 * Refuses a name (of a secret, environment, workspace or template) holding "=": it is a KEY=VALUE
 * typed in the wrong place (`secret create API_KEY=sk-…`, the name forgotten), and a name is
 * quoted in error messages, a value never. No valid name holds "=".
 */
export function assertNotAssignment(text: string, what: string): void {
  if (text.includes("=")) {
    throw new UsageError(
      `${what} looks like KEY=VALUE (not shown: it may hold a value); names never contain "="`,
    );
  }
}

/**
 * Turns assignments into entries (later wins), reading standard input once for a `KEY=-`: all of
 * it with one trailing newline stripped, or a hidden line when standard input is a terminal.
 */
export async function resolveAssignments(
  assignments: readonly Assignment[],
): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  for (const { key, value } of assignments) {
    if (value !== undefined) {
      entries.set(key, value);
      continue;
    }
    const text = process.stdin.isTTY
      ? await readHiddenLine(`Value for ${key}: `)
      : stripOneNewline(await readAllStdin());
    entries.set(key, text);
  }
  return entries;
}

/**
 * A path typed on the command line, for a message: quoted and cut at 80 characters, or not shown
 * at all when it holds "=", like a KEY=VALUE given to `-f` or `--from-json` by mistake.
 */
export function quotePath(file: string): string {
  if (file.includes("=")) return '(path not shown: it holds "=", so it may be KEY=VALUE)';
  return JSON.stringify(shorten(file));
}

/**
 * A dotenv file as an ephemeral secret, parsed by core when used (`${VAR}` expansion, never runs
 * `$(…)`). The path must be a file: core's upward search is for hosts, not for an explicit path.
 */
export function dotenvFileSecret(file: string): Secret {
  const full = path.resolve(file);
  let found: ReturnType<typeof statSync>;
  try {
    found = statSync(full, { throwIfNoEntry: false });
  } catch (error) {
    // ENAMETOOLONG, EACCES on a parent…: the file cannot be read.
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new InvalidError(`cannot read dotenv file ${quotePath(file)} (${code})`);
  }
  if (!found) throw new NotFoundError(`dotenv file ${quotePath(file)} does not exist`);
  if (!found.isFile()) throw new InvalidError(`dotenv file ${quotePath(file)} is not a file`);
  return Secret.fromDotenv(full, { filename: path.basename(full) });
}

/** Entries of a dotenv file (see {@link dotenvFileSecret}). */
export async function readDotenvFile(
  secrets: Pick<SecretManager, "resolve">,
  file: string,
): Promise<Record<string, string>> {
  return secrets.resolve([dotenvFileSecret(file)]);
}

/** Entries of a JSON file holding one object of string values. */
export async function readJsonFile(file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    // Imported here, not at the top: most commands never read a file.
    text = await (await import("node:fs/promises")).readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new NotFoundError(`JSON file ${quotePath(file)} does not exist`);
    throw new InvalidError(`cannot read JSON file ${quotePath(file)} (${code ?? "error"})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidError(`JSON file ${quotePath(file)} is not valid JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidError(
      `JSON file ${quotePath(file)} must hold one object of KEY: "value" pairs`,
    );
  }
  // Numbers and booleans become the strings of themselves, as they would in a shell variable;
  // anything else (null, an object, a list) has no string form to take.
  const entries = new Map<string, string>();
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === "string") entries.set(key, value);
    else if (typeof value === "number" || typeof value === "boolean")
      entries.set(key, String(value));
    else {
      const kind = value === null ? "null" : Array.isArray(value) ? "a list" : "an object";
      throw new InvalidError(
        `JSON file ${quotePath(file)}: the value of ${JSON.stringify(key)} must be a string, a number or true/false (got ${kind})`,
      );
    }
  }
  return Object.fromEntries(entries);
}

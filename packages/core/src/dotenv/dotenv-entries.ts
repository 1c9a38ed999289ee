import { InvalidError } from "../errors.js";
import { dotenv } from "../lazy-modules.js";
import { KEY_PATTERN, MAX_KEY_LENGTH } from "../validation/schemas.js";

/**
 * dotenv 16.6.1's `LINE` regex, verbatim from its `lib/main.js` (dotenv does not export it). It
 * is the whole grammar of a `.env` entry: `[export ]KEY=value` or `KEY: value`, the value
 * unquoted, or in single, double or back quotes (quoted values may span lines), then an optional
 * `# comment`. `dotenv-fuzz.test.ts` checks that this copy and `dotenv.parse` agree.
 */
const DOTENV_LINE =
  /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;

// Sticky: an entry must start exactly where a line starts. `dotenv.parse` instead searches
// forward, which drops unreadable lines silently and re-scans runs of blank lines once per line
// (quadratic: 20k blank lines take a second, a 1 MiB file of them hours).
const ENTRY = new RegExp(DOTENV_LINE.source, "dmy");

// A blank or comment-only line, with its line terminator. `^`/`$` of DOTENV_LINE also break
// lines at U+2028 / U+2029, so these do too.
const BLANK_OR_COMMENT = /[^\S\n\u2028\u2029]*(?:#[^\n\u2028\u2029]*)?(?:[\n\u2028\u2029]|$)/y;

const KEY = new RegExp(KEY_PATTERN);

/** One `KEY=value` entry of a `.env` text, before expansion. */
export interface DotenvEntry {
  /** The key, already checked against the key rule. */
  key: string;
  /** The value as `dotenv` reads it: unquoted, `\n` / `\r` turned into line breaks in "…". */
  value: string;
  /** Line of the key, from 1. */
  line: number;
  /** Single-quoted: taken literally, never expanded (as in shells, dotenvx and Compose). */
  literal: boolean;
}

/** A key quoted (and shortened) for a message: keys are names, never values. */
export function quoteKey(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
}

/** Line numbers of offsets of `text`, asked in increasing order (linear overall). */
function lineCounter(text: string): (offset: number) => number {
  let line = 1;
  let counted = 0;
  return (offset) => {
    for (let next = text.indexOf("\n", counted); next !== -1 && next < offset; ) {
      line += 1;
      next = text.indexOf("\n", next + 1);
    }
    counted = Math.max(counted, offset);
    return line;
  };
}

/**
 * Reads the entries of a `.env` text in order, with dotenv's grammar, in one linear pass.
 *
 * Every line is blank, a `# comment`, or (part of) an entry; anything else is an `InvalidError`
 * naming `source` and the line number, never the line's text. A key that dotenv accepts but
 * envkeep doesn't (`A.B`, `A-B`, `1A`) is an `InvalidError` naming the key and its line. Each
 * entry's value is read by `dotenv.parse` itself.
 *
 * @throws {InvalidError} on the first unreadable line or invalid key.
 */
export function* readDotenvEntries(text: string, source: string): Generator<DotenvEntry> {
  const normalized = text.replace(/\r\n?/g, "\n");
  const lineOf = lineCounter(normalized);
  let position = 0;
  while (position < normalized.length) {
    BLANK_OR_COMMENT.lastIndex = position;
    if (BLANK_OR_COMMENT.test(normalized)) {
      position = BLANK_OR_COMMENT.lastIndex;
      continue;
    }
    ENTRY.lastIndex = position;
    const match = ENTRY.exec(normalized);
    const keyAt = match?.indices?.[1];
    if (!match || !keyAt) {
      throw new InvalidError(
        `${source}: line ${lineOf(position)} is not KEY=VALUE, a # comment or blank`,
      );
    }
    const key = match[1] ?? "";
    const line = lineOf(keyAt[0]);
    if (key.length > MAX_KEY_LENGTH || !KEY.test(key)) {
      throw new InvalidError(
        `${source}: line ${line}: invalid key ${quoteKey(key)}: keys match ${KEY_PATTERN} and have at most ${MAX_KEY_LENGTH} characters`,
      );
    }
    // dotenv.parse reads the value of exactly this entry; the key is swapped for a plain one
    // because parse() stores into a {} (where "__proto__" would be lost).
    const start = keyAt[0] - match.index;
    const entry = `${match[0].slice(0, start)}K${match[0].slice(keyAt[1] - match.index)}`;
    const value = dotenv().parse(entry).K ?? "";
    // dotenv's own rule for a quoted value: it starts and ends with the same quote.
    const raw = (match[2] ?? "").trim();
    const literal = raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'");
    yield { key, value, line, literal };
    // The entry ends at the end of a line: go past its line terminator.
    position = ENTRY.lastIndex + 1;
  }
}

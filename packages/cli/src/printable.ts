/**
 * Text from a store, a file, the environment or the command line is shown through `printable`:
 * a record's actor, key names or environment, or an error message quoting any of them, must not
 * be able to start a new line of output, move the cursor, recolour the terminal or reorder what is
 * displayed.
 */

/**
 * Characters never written as they are: control characters (C0, DEL, C1: `\n`, `\r`, `\t`, ESC…),
 * format characters (the bidi overrides and isolates, zero-width characters, BOM…), the line and
 * paragraph separators, lone surrogates, and the whole invisible-operators block U+2060–U+206F
 * (its unassigned points too: a terminal that knows a newer Unicode may act on them).
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u2060-\u206F]/gu;

/**
 * The unsafe characters `JSON.stringify` leaves as they are: it escapes C0 and lone surrogates in
 * strings, and its only raw C0 characters are the newlines of its indentation.
 */
const UNSAFE_IN_JSON = /[\u007F-\u009F\p{Cf}\p{Zl}\p{Zp}\u2060-\u206F]/gu;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

const hex = (code: number, width: number) => code.toString(16).toUpperCase().padStart(width, "0");

function escapeCharacter(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  const code = char.codePointAt(0) ?? 0;
  if (code <= 0xff) return `\\x${hex(code, 2)}`;
  if (code <= 0xffff) return `\\u${hex(code, 4)}`;
  return `\\u{${hex(code, 1)}}`;
}

/**
 * `text` safe to print on one line: each unsafe character becomes a visible escape (`\n`, `\r`,
 * `\t`, `\x1B`, `\u202E`, `\u{E0041}`); everything else is kept. Backslashes are kept as they
 * are, so the escapes are for reading, not for parsing back.
 *
 * @example
 * ```ts
 * printable("ci\nUpdated: 2020-01-01 by root"); // 'ci\\nUpdated: 2020-01-01 by root'
 * ```
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, escapeCharacter);
}

/**
 * `JSON.stringify(value, null, indent)`, with every character {@link printable} would escape
 * written as a `\uXXXX` escape: the same JSON for a parser, nothing a terminal acts on. With
 * `indent` 0 it is one line.
 */
export function toJson(value: unknown, indent = 2): string {
  // Per UTF-16 unit (an astral character is two escapes), lower case like JSON.stringify's own.
  const escapeUnits = (char: string) =>
    char
      .split("")
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`)
      .join("");
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, escapeUnits);
}

import { InvalidError } from "../errors.js";
import { type DotenvEntry, quoteKey } from "./dotenv-entries.js";

/** Limits of one expansion (see `parseDotenv`). */
export interface ExpansionLimits {
  /** Most characters one expanded value (or one `${…:-…}` word inside it) may have. */
  maxValueLength: number;
  /** Most characters all expanded keys and values of one text may add up to. */
  maxTotalLength: number;
}

type Operator = ":-" | "-" | ":+" | "+";

/** An open `${NAME<operator>` whose word is being read. */
interface OpenReference {
  name: string;
  operator: Operator;
  /** The source text `${NAME<operator>`, for when no `}` closes it. */
  opener: string;
  /** The word so far, already expanded. */
  word: string;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const SPECIAL = /[$\\{}]/g;

function nameAt(raw: string, at: number): string | undefined {
  NAME.lastIndex = at;
  return NAME.exec(raw)?.[0];
}

function operatorAt(raw: string, at: number): Operator | undefined {
  const char = raw[at];
  if (char === "-" || char === "+") return char;
  const next = raw[at + 1];
  if (char === ":" && (next === "-" || next === "+")) return `:${next}`;
  return undefined;
}

/**
 * Expands one value in a single left-to-right pass; substituted text is never scanned again, so
 * a value can't refer to itself, loop or grow beyond its limit.
 *
 * - `$NAME` and `${NAME}` → the value of NAME, or "" when `lookup` knows none.
 * - `${NAME:-word}` / `${NAME-word}` → NAME's value when not empty, else `word`;
 *   `${NAME:+word}` / `${NAME+word}` → `word` when NAME's value is not empty, else "" (as
 *   dotenv-expand 12: an empty value counts as unset). `word` may hold references itself.
 * - `\$` → a literal `$`. Any other `$` that does not start a well-formed reference (`$(…)`,
 *   `$1`, `${}`, `${A B}`, a `${…` with no `}`, a `{` inside a `${…:-…}` word) stays as it is.
 *
 * `tooLong` is called (and must throw) as soon as the value or a word passes `maxLength`.
 */
export function expandValue(
  raw: string,
  lookup: (name: string) => string | undefined,
  maxLength: number,
  tooLong: () => never,
): string {
  if (!raw.includes("$")) {
    if (raw.length > maxLength) tooLong();
    return raw;
  }
  const open: OpenReference[] = [];
  let out = "";
  const append = (piece: string) => {
    const top = open.at(-1);
    if (top) {
      top.word += piece;
      if (top.word.length > maxLength) tooLong();
    } else {
      out += piece;
      if (out.length > maxLength) tooLong();
    }
  };
  // An unclosed reference is literal text; so is every reference still open around it.
  const closeAllAsText = () => {
    const pending = open.splice(0);
    for (const reference of pending) append(reference.opener + reference.word);
  };
  let position = 0;
  while (position < raw.length) {
    SPECIAL.lastIndex = position;
    const found = SPECIAL.exec(raw);
    const at = found ? found.index : raw.length;
    if (at > position) append(raw.slice(position, at));
    if (!found) break;
    position = at + 1;
    switch (raw[at]) {
      case "\\":
        if (raw[at + 1] === "$") {
          append("$");
          position = at + 2;
        } else {
          append("\\");
        }
        break;
      case "{":
        closeAllAsText();
        append("{");
        break;
      case "}": {
        const reference = open.pop();
        if (!reference) {
          append("}");
          break;
        }
        const value = lookup(reference.name);
        const isSet = value !== undefined && value !== "";
        if (reference.operator === ":-" || reference.operator === "-") {
          append(isSet ? value : reference.word);
        } else {
          append(isSet ? reference.word : "");
        }
        break;
      }
      default: {
        // "$"
        if (raw[at + 1] === "{") {
          const name = nameAt(raw, at + 2);
          if (name !== undefined) {
            const after = at + 2 + name.length;
            if (raw[after] === "}") {
              append(lookup(name) ?? "");
              position = after + 1;
              break;
            }
            const operator = operatorAt(raw, after);
            if (operator) {
              position = after + operator.length;
              open.push({ name, operator, opener: raw.slice(at, position), word: "" });
              break;
            }
          }
          append("$");
          break;
        }
        const name = nameAt(raw, at + 1);
        if (name === undefined) {
          append("$");
        } else {
          append(lookup(name) ?? "");
          position = at + 1 + name.length;
        }
      }
    }
  }
  closeAllAsText();
  return out;
}

/**
 * Expands the entries of a `.env` text in order (single-quoted values are taken literally). A
 * reference sees the file's earlier keys (their
 * expanded values, as defined on earlier lines) first, then `inherited`; nothing else. Builds the
 * result with own properties only, so `__proto__`, `constructor` or `toString` are ordinary keys;
 * a key defined twice keeps its last value.
 *
 * @throws {InvalidError} naming `source`, the line and the key (never a value) when a value
 * expands past `limits.maxValueLength`, or all of them past `limits.maxTotalLength`.
 */
export function expandDotenv(
  entries: Iterable<DotenvEntry>,
  inherited: ReadonlyMap<string, string>,
  source: string,
  limits: ExpansionLimits,
): Record<string, string> {
  const values = new Map<string, string>();
  const lookup = (name: string) => (values.has(name) ? values.get(name) : inherited.get(name));
  let total = 0;
  for (const { key, value: raw, line, literal } of entries) {
    const value = literal
      ? raw
      : expandValue(raw, lookup, limits.maxValueLength, () => {
          throw new InvalidError(
            `${source}: line ${line}: the value of ${quoteKey(key)} is longer than ${limits.maxValueLength} characters (after expansion)`,
          );
        });
    total += key.length + value.length;
    if (total > limits.maxTotalLength) {
      throw new InvalidError(
        `${source}: line ${line}: the keys and values expand to more than ${limits.maxTotalLength} characters in total`,
      );
    }
    values.set(key, value);
  }
  return Object.fromEntries(values);
}

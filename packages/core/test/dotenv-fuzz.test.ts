/**
 * Property-based tests of `.env` parsing (fast-check). Run counts are CI-sized; set
 * FAST_CHECK_RUNS to raise them (see support/fuzz-runs.ts). A failure prints the seed and path
 * to replay it with `{ seed, path }`.
 */
import { fc, test } from "@fast-check/vitest";
import dotenv from "dotenv";
import { describe, expect } from "vitest";
import { readDotenvEntries } from "../src/dotenv/dotenv-entries.js";
import { MAX_DOTENV_BYTES, parseDotenv } from "../src/dotenv/parse-dotenv.js";
import { InvalidError } from "../src/errors.js";
import { childEnvironment } from "../src/run/spawn.js";
import { MAX_VALUE_LENGTH } from "../src/validation/schemas.js";
import { fuzzRuns } from "./support/fuzz-runs.js";

// Canaries hold "<", "!" and ">", which no key can: finding one in a message or a result can
// only mean a value leaked.
const VALUE_CANARY = "<file-value!>";
const MASTER_CANARY = "<master-key!>";
const STORE_CANARY = "<store-password!>";
const ENV = {
  HOME: "/home/fuzz",
  PATH: "/usr/bin",
  EMPTY: "",
  LOOKS_LIKE_A_REFERENCE: "${HOME}$PATH",
  ENVKEEP_MASTER_KEY: `ek1_${MASTER_CANARY}`,
  ENVKEEP_MASTER_KEYS: `ek1_${MASTER_CANARY},ek1_b`,
  ENVKEEP_STORE: `redis://:${STORE_CANARY}@cache:6379/0`,
};
const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

const names = fc.constantFrom(
  "A",
  "B",
  "_x1",
  "HOME",
  "PATH",
  "EMPTY",
  "UNSET",
  "LOOKS_LIKE_A_REFERENCE",
  "ENVKEEP_MASTER_KEY",
  "ENVKEEP_MASTER_KEYS",
  "ENVKEEP_STORE",
  "__proto__",
  "constructor",
  "toString",
);
const badKeys = fc.constantFrom("A.B", "A-B", "1A", "a.b-c");
const operators = fc.constantFrom(":-", "-", ":+", "+");

/** A piece of a value: text, canaries, references (possibly nested and unclosed), escapes. */
const valuePiece: fc.Arbitrary<string> = fc.letrec<{ piece: string }>((tie) => ({
  piece: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(VALUE_CANARY, "x", " ", "#", "=", "'", '"', "`", "\\", "\\$", "\\n", "{", "}"),
    fc.constantFrom("$", "$(touch /tmp/x)", "$1", "${}", "${A B}", "${", "\u2028"),
    names.map((name) => `$${name}`),
    names.map((name) => `\${${name}}`),
    fc
      .tuple(names, operators, fc.array(tie("piece"), { maxLength: 3 }), fc.boolean())
      .map(([name, op, word, closed]) => `\${${name}${op}${word.join("")}${closed ? "}" : ""}`),
  ),
})).piece;

const value = fc
  .tuple(
    fc.array(valuePiece, { maxLength: 8 }),
    fc.constantFrom("", "'", '"', "`"),
    fc.constantFrom("", "\n", "\nmore\n"),
  )
  .map(([pieces, quote, lineBreak]) => {
    const body = VALUE_CANARY + pieces.join("");
    return quote === "" ? body.replace(/\n/g, " ") : `${quote}${body}${lineBreak}${quote}`;
  });

const entryLine = (keys: fc.Arbitrary<string>) =>
  fc
    .tuple(
      fc.constantFrom("", "  ", "export "),
      keys,
      fc.constantFrom("=", " = ", ": ", "="),
      value,
      fc.constantFrom("", " # comment", "   "),
    )
    .map(([lead, key, separator, text, trail]) => `${lead}${key}${separator}${text}${trail}`);

const anyEntryLine = entryLine(
  fc.oneof({ weight: 9, arbitrary: names }, { weight: 1, arbitrary: badKeys }),
);
const quietLine = fc.constantFrom(
  "",
  "   ",
  "# a comment",
  "  # indented",
  "# a\u2028B=b",
  " \u2029",
);
const otherLine = fc.oneof(quietLine, fc.constantFrom("oops", "A B=1", "=x"));

/** Whole files: mostly entries, some blank, comment or unreadable lines, any line ending. */
const dotenvText = fc
  .tuple(
    fc.array(
      fc.oneof({ weight: 4, arbitrary: anyEntryLine }, { weight: 1, arbitrary: otherLine }),
      { maxLength: 12 },
    ),
    fc.constantFrom("\n", "\r\n", "\r"),
  )
  .map(([lines, eol]) => lines.join(eol));

/** Any text at all over the characters that matter to the grammar and the expander. */
const anyText = fc.string({
  unit: fc.constantFrom(
    ..."AB_x1 \t=:#'\"`$\\{}()-+.\n\r\u2028",
    "export ",
    "${",
    ":-",
    "__proto__",
    "constructor",
    VALUE_CANARY,
  ),
  maxLength: 200,
});

function expectNoLeak(text: string): void {
  for (const canary of [VALUE_CANARY, MASTER_CANARY, STORE_CANARY]) {
    expect(text).not.toContain(canary);
  }
}

/** Parses; a thrown error must be an InvalidError whose message holds no value. */
function parseOrInvalid(text: string): Record<string, string> | undefined {
  try {
    return parseDotenv(text, { env: ENV, source: "fuzz.env" });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidError);
    expectNoLeak((error as Error).message);
    return undefined;
  }
}

function expectWellFormed(result: Record<string, string>): void {
  expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  for (const key of Reflect.ownKeys(result)) {
    expect(key).toMatch(KEY);
    const value: unknown = Object.getOwnPropertyDescriptor(result, key)?.value;
    expect(typeof value).toBe("string");
    expect(String(value).length).toBeLessThanOrEqual(MAX_VALUE_LENGTH);
    // The file never holds these: only expanding a withheld variable could bring them in.
    expect(value).not.toContain(MASTER_CANARY);
    expect(value).not.toContain(STORE_CANARY);
  }
  expect(Object.keys(Object.prototype)).toEqual([]);
}

describe("parseDotenv, fuzzed", () => {
  test.prop([fc.oneof(dotenvText, anyText)], { numRuns: fuzzRuns(400) })(
    "returns well-formed entries or throws an InvalidError without a value in its message",
    (text) => {
      const result = parseOrInvalid(text);
      if (result) expectWellFormed(result);
    },
  );

  test.prop([fc.oneof(dotenvText, anyText)], { numRuns: fuzzRuns(300) })(
    "reads every entry exactly as dotenv.parse does, or names the line it can't read",
    (text) => {
      let entries: Map<string, string>;
      try {
        entries = new Map();
        for (const { key, value } of readDotenvEntries(text, "fuzz.env")) entries.set(key, value);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidError);
        expect((error as Error).message).toMatch(/^fuzz\.env: line \d+(:| is not KEY=VALUE)/);
        return;
      }
      // dotenv.parse stores into a {} and so loses a "__proto__" key; everything else must agree.
      entries.delete("__proto__");
      expect(Object.fromEntries(entries)).toEqual({ ...dotenv.parse(text) });
    },
  );

  test.prop(
    [fc.array(fc.oneof(entryLine(names), quietLine), { minLength: 1, maxLength: 4 }), fc.boolean()],
    { numRuns: fuzzRuns(6, { max: 100 }) },
  )(
    "parses files of up to 1 MiB in bounded time",
    (pattern, addBrokenLine) => {
      const unit = `${pattern.join("\n")}\n`;
      const copies = Math.max(1, Math.floor((MAX_DOTENV_BYTES - 8) / Buffer.byteLength(unit)));
      const text = unit.repeat(copies) + (addBrokenLine ? "oops" : "");
      const started = performance.now();
      parseOrInvalid(text);
      // Measured: ~0.5 s for 1 MiB of the smallest entries; a super-linear pass takes minutes.
      expect(performance.now() - started).toBeLessThan(5_000);
    },
    600_000,
  );

  test.prop(
    [
      fc.array(
        fc.tuple(
          fc.constantFrom(
            "ENVKEEP_MASTER_KEY",
            "ENVKEEP_MASTER_KEYS",
            "ENVKEEP_STORE",
            "envkeep_store",
            "Envkeep_Master_Key",
            "HOME",
            "OTHER",
          ),
          fc.constantFrom(
            "",
            "memory:",
            "sqlite:./x.db",
            "sqlite:x.db?table=t",
            "redis://cache:6379/0?prefix=app:",
            "redis://:pw@cache",
            "redis://user@cache",
            "rediss://u:p@cache/1",
            "redis://cache?token=t",
            "postgres://cache",
            "not a url",
            "/home/x",
          ),
        ),
        { maxLength: 6 },
      ),
    ],
    { numRuns: fuzzRuns(200) },
  )("a reference sees exactly what a child process inherits", (pairs) => {
    const env = Object.fromEntries(pairs);
    const child = childEnvironment({}, true, env);
    for (const name of Object.keys(env)) {
      const expanded = parseDotenv(`V=\${${name}}`, { env, source: "fuzz.env" }).V;
      expect(expanded).toBe(Object.hasOwn(child, name) ? child[name] : "");
    }
  });
});

/** The one rule for text envkeep prints that it did not write itself: unsafe characters escaped. */
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { printable, toJson } from "../src/printable.js";
import { fastCheckRuns } from "./support/runs.js";
import { FORGERIES, isUnsafe, unsafeCharacters } from "./support/unsafe.js";

/** Strings rich in what matters here: unsafe characters among ordinary and astral ones. */
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom("\n", "\r", "\t", "\x1b", "\x07", "\x7f", "\u009b", "\u0085", "\u202e"),
    fc.constantFrom("\u2028", "\u2066", "\u200b", "\ufeff", "\ud800", "\udc00", "\u{e0041}"),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
    fc.constantFrom("a", "Z", "=", "\\", "é", "😀"),
  ),
  maxLength: 40,
});

describe("printable", () => {
  it("shows each unsafe character as a visible escape", () => {
    expect(printable("ci\nUpdated: 2099 by root")).toBe("ci\\nUpdated: 2099 by root");
    expect(printable("a\r\tb")).toBe("a\\r\\tb");
    expect(printable("\x1b[31mred\x1b]0;t\x07")).toBe("\\x1B[31mred\\x1B]0;t\\x07");
    expect(printable("\0\x7f\u009b\u0085")).toBe("\\x00\\x7F\\x9B\\x85");
    expect(printable("rtl\u202egnp.exe")).toBe("rtl\\u202Egnp.exe");
    expect(printable("\u2066\u2069\u2028\u2029\u200b\ufeff")).toBe(
      "\\u2066\\u2069\\u2028\\u2029\\u200B\\uFEFF",
    );
    expect(printable("lone \ud800 tag \u{e0041}")).toBe("lone \\uD800 tag \\u{E0041}");
  });

  it("keeps everything else as it is", () => {
    for (const kept of ["db", "cli:alice", "é ü 漢字 😀 👩‍💻", "C:\\path\\x", 'quote "x"', ""]) {
      expect(printable(kept)).toBe(kept.replace("\u200d", "\\u200D"));
    }
  });

  test.prop([text], { numRuns: fastCheckRuns(300) })(
    "never lets an unsafe character through",
    (s) => {
      expect(unsafeCharacters(printable(s))).toEqual([]);
      expect(printable(s).includes("\n")).toBe(false);
      expect(printable(printable(s))).toBe(printable(s)); // escapes are plain ASCII
    },
  );

  test.prop([text], { numRuns: fastCheckRuns(300) })("changes nothing in safe text", (s) => {
    const safe = Array.from(s)
      .filter((char) => !isUnsafe(char.codePointAt(0) ?? 0) && !/\p{Cf}/u.test(char))
      .join("");
    expect(printable(safe)).toBe(safe);
  });
});

describe("toJson", () => {
  it("writes the unsafe characters JSON.stringify leaves raw as \\u escapes", () => {
    expect(toJson({ by: "x\u2028y\u202e\u009b\x7f" })).toBe(
      '{\n  "by": "x\\u2028y\\u202e\\u009b\\u007f"\n}',
    );
    expect(toJson(FORGERIES).split("\n")).toHaveLength(FORGERIES.length + 2);
  });

  test.prop([fc.array(fc.record({ name: text, keys: fc.array(text, { maxLength: 3 }) }))], {
    numRuns: fastCheckRuns(200),
  })("is the same JSON, with no unsafe character outside its own line breaks", (value) => {
    const json = toJson(value);
    // Lone surrogates are not preserved by JSON.stringify either: compare with its own parse.
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(value)));
    expect(unsafeCharacters(json)).toEqual([]);
  });
});

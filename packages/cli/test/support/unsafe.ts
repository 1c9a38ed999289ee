/**
 * The characters no line of envkeep's output may carry as they are, listed by hand (not with the
 * Unicode classes `src/printable.ts` uses), so the tests check the code against an independent
 * list.
 */
const UNSAFE_RANGES: readonly [number, number][] = [
  [0x00, 0x1f], // C0: \n, \r, \t, ESC…
  [0x7f, 0x9f], // DEL, C1 (CSI 0x9B, NEL 0x85…)
  [0x061c, 0x061c], // Arabic letter mark
  [0x200b, 0x200f], // zero-width space/joiners, LRM, RLM
  [0x2028, 0x202e], // line and paragraph separators; LRE, RLE, PDF, LRO, RLO
  [0x2060, 0x2069], // word joiner…; LRI, RLI, FSI, PDI
  [0xd800, 0xdfff], // lone surrogates
  [0xfeff, 0xfeff], // BOM
];

export function isUnsafe(codePoint: number): boolean {
  return UNSAFE_RANGES.some(([from, to]) => codePoint >= from && codePoint <= to);
}

/**
 * The unsafe characters of `text` as `U+XXXX` (empty: none). The newlines that end lines are
 * envkeep's own and allowed.
 */
export function unsafeCharacters(text: string): string[] {
  const found: string[] = [];
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char !== "\n" && isUnsafe(code)) {
      found.push(`U+${code.toString(16).toUpperCase().padStart(4, "0")}`);
    }
  }
  return found;
}

/** A few strings made to forge output: new lines, terminal escapes, bidi reordering. */
export const FORGERIES = [
  "ci\nUpdated:     2099-01-01 00:00:00Z by root",
  "a\r\x1b[2K\x1b[1Aover",
  "title\x1b]0;owned\x07",
  "csi\u009b2J",
  "tab\there",
  "rtl\u202egnp.exe",
  "isolate\u2066x\u2069",
  "line\u2028sep\u2029para",
  "nul\0del\x7f",
];

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64Url, toBase64Url } from "../src/crypto/encoding.js";
import { mergeLayers } from "../src/merge.js";
import { fuzzRuns } from "./support/fuzz-runs.js";

/** The rule fromBase64Url implements by arithmetic: the text Node would encode those bytes as. */
const canonical = (text: string) =>
  /^[A-Za-z0-9_-]*$/.test(text) && Buffer.from(text, "base64url").toString("base64url") === text;

describe("fromBase64Url", () => {
  it("decodes every encoding of bytes back to those bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
      }),
      { numRuns: fuzzRuns(500) },
    );
  });

  it("accepts exactly the canonical base64url texts", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.";
    const text = fc
      .array(fc.constantFrom(...alphabet), { maxLength: 12 })
      .map((chars) => chars.join(""));
    fc.assert(
      fc.property(text, (candidate) => {
        expect(fromBase64Url(candidate) !== undefined).toBe(canonical(candidate));
      }),
      { numRuns: fuzzRuns(5_000) },
    );
  });
});

describe("mergeLayers", () => {
  it("later layers win, first position kept, and __proto__ is an ordinary key", () => {
    const key = fc.constantFrom("A", "B", "__proto__", "constructor", "toString", "Z_1");
    const layer = fc.dictionary(key, fc.string({ maxLength: 4 }), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.array(layer, { maxLength: 4 }), (layers) => {
        const expected = Object.fromEntries(
          layers.reduce((map, l) => {
            for (const [k, v] of Object.entries(l)) map.set(k, v);
            return map;
          }, new Map<string, string>()),
        );
        const merged = mergeLayers(layers);
        expect(Object.entries(merged)).toEqual(Object.entries(expected));
        expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
      }),
      { numRuns: fuzzRuns(500) },
    );
  });
});

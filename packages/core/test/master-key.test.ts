import { describe, expect, it } from "vitest";
import { Keyring } from "../src/crypto/keyring.js";
import {
  encodeMasterKey,
  generateMasterKey,
  masterKeyId,
  parseMasterKey,
} from "../src/crypto/master-key.js";
import { InvalidError } from "../src/errors.js";

describe("master keys", () => {
  it("generates self-describing ek1_ keys that parse back to 32 bytes", () => {
    const key = generateMasterKey();
    expect(key).toMatch(/^ek1_[A-Za-z0-9_-]{48}$/);
    expect(parseMasterKey(key).bytes).toHaveLength(32);
    expect(generateMasterKey()).not.toBe(key);
  });

  it("accepts raw bytes, hex and base64 of the same key, all with the same id", () => {
    const bytes = new Uint8Array(32).map((_, i) => i * 7);
    const id = masterKeyId(bytes);
    const forms = [
      bytes,
      encodeMasterKey(bytes),
      Buffer.from(bytes).toString("hex"),
      Buffer.from(bytes).toString("base64"),
      `  ${encodeMasterKey(bytes)}\n`,
    ];
    for (const form of forms) expect(parseMasterKey(form).id).toBe(id);
    expect(id).toMatch(/^k[A-Za-z0-9_-]{12}$/);
    expect(masterKeyId(new Uint8Array(32))).not.toBe(id);
  });

  it("derives the same ids and checksums as ever (known answers; stored records name key ids)", () => {
    const bytes = new Uint8Array(32).map((_, i) => i * 7);
    expect(masterKeyId(bytes)).toBe("kcQ9AIyIKyiER");
    expect(encodeMasterKey(bytes)).toBe("ek1_AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tkG0oCS");
  });

  it("rejects malformed keys with InvalidError that never echoes the input", () => {
    const key = generateMasterKey();
    const typo = `${key.slice(0, 20)}${key[20] === "x" ? "y" : "x"}${key.slice(21)}`;
    const cases: unknown[] = [
      "",
      "ek1_",
      key.slice(0, -1),
      `${key}A`,
      typo,
      "not-a-key-at-all-but-a-secret-looking-thing",
      "zz".repeat(32),
      Buffer.from(new Uint8Array(32)).toString("base64url"),
      new Uint8Array(16),
      42,
    ];
    for (const input of cases) {
      let error: unknown;
      try {
        parseMasterKey(input as string);
      } catch (e) {
        error = e;
      }
      expect(error, String(input)).toBeInstanceOf(InvalidError);
      const message = (error as Error).message;
      if (typeof input === "string" && input.length > 8)
        expect(message).not.toContain(input.slice(4, 20));
    }
    expect(() => parseMasterKey(typo)).toThrow(/checksum/);
  });

  it("a copy of the raw bytes is kept, so wiping the caller's buffer does not change the key", () => {
    const bytes = new Uint8Array(32).fill(9);
    const key = parseMasterKey(bytes);
    bytes.fill(0);
    expect(key.bytes.every((b) => b === 9)).toBe(true);
  });
});

describe("keyring", () => {
  const one = generateMasterKey();
  const two = generateMasterKey();

  it("the first key seals, every key opens", () => {
    const ring = Keyring.fromOptions({ keyring: [two, one] }, {});
    expect(ring.primary.id).toBe(parseMasterKey(two).id);
    expect(ring.get(parseMasterKey(one).id)).toBeDefined();
    expect(ring.ids).toHaveLength(2);
  });

  it("reads ENVKEEP_MASTER_KEYS (comma-separated) before ENVKEEP_MASTER_KEY", () => {
    const fromMany = Keyring.fromOptions(
      {},
      { ENVKEEP_MASTER_KEYS: ` ${two} , ${one}`, ENVKEEP_MASTER_KEY: one },
    );
    expect(fromMany.primary.id).toBe(parseMasterKey(two).id);
    expect(fromMany.ids).toHaveLength(2);
    const fromOne = Keyring.fromOptions({}, { ENVKEEP_MASTER_KEY: one });
    expect(fromOne.ids).toEqual([parseMasterKey(one).id]);
    expect(Keyring.fromOptions({ masterKey: two }, { ENVKEEP_MASTER_KEY: one }).primary.id).toBe(
      parseMasterKey(two).id,
    );
  });

  it("no key at all is an error, never a plaintext fallback", () => {
    expect(() => Keyring.fromOptions({}, {})).toThrow(/no master key/);
    expect(() => Keyring.fromOptions({ keyring: [] }, {})).toThrow(InvalidError);
    expect(() => Keyring.fromOptions({ masterKey: one, keyring: [two] }, {})).toThrow(/either/);
    expect(() => Keyring.fromOptions({}, { ENVKEEP_MASTER_KEYS: `${one},oops` })).toThrow(
      /entry 2/,
    );
  });
});

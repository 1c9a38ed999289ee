/**
 * The per-secret limits at their edges: exactly the limit is allowed, one more is refused, and
 * size is counted in UTF-8 bytes of keys + values (not characters, not UTF-16 code units).
 */
import { describe, expect, it } from "vitest";
import { memoryStore } from "../../store-memory/src/index.js";
import { generateMasterKey } from "../src/crypto/master-key.js";
import { InvalidError } from "../src/errors.js";
import { SecretManager, type SecretManagerOptions } from "../src/manager.js";
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_KEYS } from "../src/validation/schemas.js";

const MAX_KEYS = 4;
const MAX_BYTES = 32;

function manager(
  limits: SecretManagerOptions["limits"] = { maxKeys: MAX_KEYS, maxBytes: MAX_BYTES },
) {
  return new SecretManager({ store: memoryStore(), masterKey: generateMasterKey(), limits });
}

/** `count` keys K0, K1, … each holding "v". */
const keys = (count: number, from = 0) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`K${from + i}`, "v"]));

/** One key "K" whose value brings the secret to exactly `bytes` UTF-8 bytes. */
const sized = (bytes: number) => ({ K: "x".repeat(bytes - 1) });

const utf8Bytes = (entries: Record<string, string>) =>
  Object.entries(entries).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);

describe("maxBytes: keys + values in UTF-8 bytes", () => {
  it("create: exactly maxBytes is accepted, one byte more is refused", async () => {
    const secrets = manager();
    expect(utf8Bytes(sized(MAX_BYTES))).toBe(MAX_BYTES);
    await secrets.create("at-limit", sized(MAX_BYTES));
    await expect(secrets.create("over", sized(MAX_BYTES + 1))).rejects.toThrow(
      new InvalidError(
        `secret "over" holds ${MAX_BYTES + 1} bytes of keys and values; at most ${MAX_BYTES} are allowed`,
      ),
    );
    expect((await secrets.list()).map((s) => s.name)).toEqual(["at-limit"]);
  });

  it("update: a merge landing exactly on maxBytes is accepted, one byte more is refused", async () => {
    const secrets = manager();
    await secrets.create("grows", { A: "1" }); // 2 bytes
    await secrets.update("grows", { B: "x".repeat(MAX_BYTES - 3) }); // 2 + 1 + 29 = 32
    expect((await secrets.info("grows")).version).toBe(2);
    await expect(secrets.update("grows", { A: "12" })).rejects.toThrow(InvalidError); // 33
    expect((await secrets.info("grows")).version).toBe(2);
    expect(await secrets.resolve([secrets.fromName("grows")])).toEqual({
      A: "1",
      B: "x".repeat(MAX_BYTES - 3),
    });
  });

  it("multi-byte characters count as bytes: 2-byte é and 4-byte 🔑", async () => {
    const secrets = manager();
    // 1 + 2 × 15 + 1 = 32 bytes in 17 characters: at the limit.
    const twoByte = { K: `${"é".repeat(15)}a` };
    expect(utf8Bytes(twoByte)).toBe(MAX_BYTES);
    await secrets.create("two-byte", twoByte);
    // 1 + 2 × 16 = 33 bytes in 17 characters: over, although far fewer than 32 characters.
    await expect(secrets.create("two-byte-over", { K: "é".repeat(16) })).rejects.toThrow(
      /33 bytes/,
    );
    // 🔑 is 4 bytes but 2 UTF-16 code units: 1 + 4 × 8 = 33 bytes in 16 code units.
    await expect(secrets.create("emoji-over", { K: "🔑".repeat(8) })).rejects.toThrow(/33 bytes/);
    // Keys count too: a 31-byte key with a 2-byte value is 33 bytes.
    await expect(secrets.create("long-key", { ["K".repeat(31)]: "xy" })).rejects.toThrow(
      /33 bytes/,
    );
    expect((await secrets.list()).map((s) => s.name)).toEqual(["two-byte"]);
  });

  it("the default limit is exactly 1 MiB", async () => {
    const secrets = manager({}); // no limits given: the defaults
    // 32 keys "K00".."K31" (3 bytes each) and values filling the rest: 1,048,576 bytes in total.
    const atLimit = Object.fromEntries(
      Array.from({ length: 32 }, (_, i) => [`K${String(i).padStart(2, "0")}`, "x".repeat(32_765)]),
    );
    expect(utf8Bytes(atLimit)).toBe(DEFAULT_MAX_BYTES);
    await secrets.create("mib", atLimit);
    await expect(secrets.update("mib", { K00: "x".repeat(32_766) })).rejects.toThrow(
      /1048577 bytes/,
    );
  });
});

describe("maxKeys", () => {
  it("create: exactly maxKeys keys is accepted, one more is refused", async () => {
    const secrets = manager();
    await secrets.create("at-limit", keys(MAX_KEYS));
    await expect(secrets.create("over", keys(MAX_KEYS + 1))).rejects.toThrow(
      new InvalidError(`secret "over" has ${MAX_KEYS + 1} keys; at most ${MAX_KEYS} are allowed`),
    );
    expect((await secrets.list()).map((s) => s.name)).toEqual(["at-limit"]);
  });

  it("update: landing exactly on maxKeys is accepted, one more is refused", async () => {
    const secrets = manager();
    await secrets.create("grows", keys(MAX_KEYS - 2));
    await secrets.update("grows", keys(2, MAX_KEYS - 2));
    expect((await secrets.info("grows")).keys).toHaveLength(MAX_KEYS);
    await expect(secrets.update("grows", { EXTRA: "v" })).rejects.toThrow(InvalidError);
    // Replacing a key and removing one in the same update stays within the limit.
    await secrets.update("grows", { K0: null, EXTRA: "v" });
    const info = await secrets.info("grows");
    expect(info.keys).toHaveLength(MAX_KEYS);
    expect(info.version).toBe(3);
  });

  it("the default limit is exactly 1,000 keys", async () => {
    const secrets = manager({}); // no limits given: the defaults
    await secrets.create("many", keys(DEFAULT_MAX_KEYS - 1));
    await secrets.update("many", { LAST: "v" });
    await expect(secrets.update("many", { ONE_MORE: "v" })).rejects.toThrow(/1001 keys/);
    await expect(secrets.create("too-many", keys(DEFAULT_MAX_KEYS + 1))).rejects.toThrow(
      /1001 keys/,
    );
  });
});

import nacl from "tweetnacl";
import { describe, expect, it } from "vitest";
import { Keyring } from "../src/crypto/keyring.js";
import { generateMasterKey } from "../src/crypto/master-key.js";
import {
  openRecord,
  type RecordHeader,
  rewrapRecord,
  sealedKeyId,
  sealRecord,
  verifyRecord,
} from "../src/crypto/sealed-record.js";
import { KEY_BYTES, MAC_BYTES, NONCE_BYTES } from "../src/crypto/secretbox-sizes.js";
import { IntegrityError } from "../src/errors.js";
import type { StoredRecord } from "../src/store.js";

const header: RecordHeader = {
  workspace: "acme",
  environment: "dev",
  name: "db",
  secretId: "st-123",
  keys: ["PGPASSWORD", "PGUSER"],
  createdAt: 1_700_000_000_000,
  updatedAt: 1_700_000_000_500,
  version: 3,
  createdBy: "alice",
  updatedBy: "bob",
};
const entries = { PGPASSWORD: "hunter2", PGUSER: "app" };

describe("sealed records (format v2)", () => {
  const oldKey = generateMasterKey();
  const newKey = generateMasterKey();
  const ring = Keyring.fromOptions({ masterKey: oldKey }, {});
  const seal = (h: RecordHeader = header, e: Record<string, string> = entries): StoredRecord => ({
    ...h,
    sealed: sealRecord(h, e, ring),
  });

  it("writes out secretbox's sizes as tweetnacl has them", () => {
    expect([KEY_BYTES, NONCE_BYTES, MAC_BYTES]).toEqual([
      nacl.secretbox.keyLength,
      nacl.secretbox.nonceLength,
      nacl.secretbox.overheadLength,
    ]);
  });

  it("round-trips and says which key sealed it", () => {
    const record = seal();
    expect(record.sealed.split(".")).toHaveLength(5);
    expect(record.sealed.startsWith("v2.")).toBe(true);
    expect(sealedKeyId(record.sealed)).toBe(ring.primary.id);
    expect(openRecord(record, ring)).toEqual(entries);
    expect(() => verifyRecord(record, ring)).not.toThrow();
  });

  it("uses a fresh data key and nonces on every seal", () => {
    const a = seal().sealed.split(".");
    const b = seal().sealed.split(".");
    expect(a[2]).not.toBe(b[2]);
    expect(a[4]).not.toBe(b[4]);
    expect(Buffer.from(a[2]!, "base64url").subarray(0, 24)).not.toEqual(
      Buffer.from(b[2]!, "base64url").subarray(0, 24),
    );
  });

  it("every single-bit change anywhere in the sealed fields fails authentication", () => {
    const record = seal(header, { K: "v" });
    const withKeys = { ...record, keys: ["K"] };
    const resealed = { ...withKeys, sealed: sealRecord(withKeys, { K: "v" }, ring) };
    const parts = resealed.sealed.split(".");
    for (const index of [2, 3, 4]) {
      const bytes = Buffer.from(parts[index]!, "base64url");
      for (let i = 0; i < bytes.length; i++) {
        const altered = Buffer.from(bytes);
        altered[i] = altered[i]! ^ 0x01;
        const changed = [...parts];
        changed[index] = altered.toString("base64url");
        expect(
          () => openRecord({ ...resealed, sealed: changed.join(".") }, ring),
          `field ${index} byte ${i}`,
        ).toThrow(IntegrityError);
      }
    }
  });

  it("authenticates every metadata field: a change to any one is an IntegrityError", () => {
    const record = seal();
    const changes: Partial<StoredRecord>[] = [
      { workspace: "other" },
      { environment: "prod" },
      { name: "db2" },
      { secretId: "st-456" },
      { version: 4 },
      { version: 2 },
      { createdAt: header.createdAt - 1 },
      { updatedAt: header.updatedAt + 86_400_000 },
      { createdBy: "mallory" },
      { updatedBy: "mallory" },
      { keys: ["PGPASSWORD"] },
      { keys: ["PGPASSWORD", "PGUSER", "X"] },
    ];
    for (const change of changes) {
      const altered = { ...record, ...change };
      expect(() => verifyRecord(altered, ring), JSON.stringify(change)).toThrow(IntegrityError);
      expect(() => openRecord(altered, ring), JSON.stringify(change)).toThrow(IntegrityError);
    }
    const { createdBy: _c, ...withoutCreator } = record;
    expect(() => verifyRecord(withoutCreator, ring)).toThrow(IntegrityError);
  });

  it("older contents under newer metadata are refused; so are parts swapped between records", () => {
    const v3 = seal();
    const v4Header = { ...header, version: 4, updatedAt: header.updatedAt + 10 };
    const v4 = seal(v4Header, { PGPASSWORD: "new", PGUSER: "app" });
    // Replay: v3's ciphertext under v4's metadata.
    expect(() => openRecord({ ...v4, sealed: v3.sealed }, ring)).toThrow(IntegrityError);
    // v4's tag on v3's wrapped key and box, and every other mix of the three sealed parts.
    const [f, id, w3, t3, b3] = v3.sealed.split(".");
    const [, , w4, t4, b4] = v4.sealed.split(".");
    for (const [w, t, b] of [
      [w3, t4, b3],
      [w3, t3, b4],
      [w4, t4, b3],
      [w3, t4, b4],
      [w4, t3, b4],
    ]) {
      expect(() => openRecord({ ...v4, sealed: [f, id, w, t, b].join(".") }, ring)).toThrow(
        IntegrityError,
      );
    }
    expect(openRecord(v4, ring)).toEqual({ PGPASSWORD: "new", PGUSER: "app" });
  });

  it("rewrap changes only the key wrap and tag, keeps the contents, and refuses corrupt records", () => {
    const record = seal();
    const both = Keyring.fromOptions({ keyring: [newKey, oldKey] }, {});
    const rewrapped = { ...record, sealed: rewrapRecord(record, both) };
    expect(sealedKeyId(rewrapped.sealed)).toBe(both.primary.id);
    expect(rewrapped.sealed.split(".")[4]).toBe(record.sealed.split(".")[4]);
    const newOnly = Keyring.fromOptions({ masterKey: newKey }, {});
    expect(openRecord(rewrapped, newOnly)).toEqual(entries);
    expect(() => openRecord(record, newOnly)).toThrow(/does not hold/);
    const corrupt = { ...record, sealed: `${record.sealed.slice(0, -4)}AAAA` };
    expect(() => rewrapRecord(corrupt, both)).toThrow(IntegrityError);
  });

  it("format v1 and malformed input are IntegrityErrors, not crashes", () => {
    const record = seal();
    const v1 = `v1.${ring.primary.id}.${record.sealed.split(".")[2]}.${record.sealed.split(".")[4]}`;
    expect(() => openRecord({ ...record, sealed: v1 }, ring)).toThrow(/format v1/);
    for (const sealed of [42, null, "", "v2", "v2....", `${record.sealed}.x`]) {
      expect(() => openRecord({ ...record, sealed: sealed as string }, ring)).toThrow(
        IntegrityError,
      );
    }
    expect(sealedKeyId(42)).toBeUndefined();
  });

  it("error messages name the secret and key ids, never a value", () => {
    const record = seal();
    const errors: Error[] = [];
    const stranger = Keyring.fromOptions({ masterKey: generateMasterKey() }, {});
    for (const attempt of [
      () => openRecord(record, stranger),
      () => openRecord({ ...record, name: "x" }, ring),
      () => openRecord({ ...record, keys: ["PGUSER"] }, ring),
      () => openRecord({ ...record, sealed: "junk" }, ring),
    ]) {
      try {
        attempt();
      } catch (error) {
        errors.push(error as Error);
      }
    }
    expect(errors).toHaveLength(4);
    for (const error of errors) {
      expect(error).toBeInstanceOf(IntegrityError);
      expect(error.message).not.toContain("hunter2");
    }
  });
});

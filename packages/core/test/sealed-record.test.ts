import { describe, expect, it } from "vitest";
import { Keyring } from "../src/crypto/keyring.js";
import { generateMasterKey } from "../src/crypto/master-key.js";
import { openRecord, rewrapRecord, sealedKeyId, sealRecord } from "../src/crypto/sealed-record.js";
import { IntegrityError } from "../src/errors.js";

const identity = { workspace: "acme", environment: "dev", name: "db", secretId: "st-123" };
const entries = { PGPASSWORD: "hunter2", PGUSER: "app" };
const keys = ["PGPASSWORD", "PGUSER"];

describe("sealed records", () => {
  const oldKey = generateMasterKey();
  const newKey = generateMasterKey();
  const ring = Keyring.fromOptions({ masterKey: oldKey }, {});

  it("round-trips and says which key sealed it", () => {
    const sealed = sealRecord(identity, entries, ring);
    expect(sealed.split(".")).toHaveLength(4);
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(sealedKeyId(sealed)).toBe(ring.primary.id);
    expect(openRecord(sealed, identity, keys, ring)).toEqual(entries);
  });

  it("uses a fresh data key and nonces on every seal", () => {
    const a = sealRecord(identity, entries, ring).split(".");
    const b = sealRecord(identity, entries, ring).split(".");
    expect(a[2]).not.toBe(b[2]);
    expect(a[3]).not.toBe(b[3]);
    expect(Buffer.from(a[2]!, "base64url").subarray(0, 24)).not.toEqual(
      Buffer.from(b[2]!, "base64url").subarray(0, 24),
    );
  });

  it("every single-byte change anywhere in the ciphertext fails authentication", () => {
    const sealed = sealRecord(identity, { K: "v" }, ring);
    const [format, keyId, wrap, box] = sealed.split(".") as [string, string, string, string];
    for (const [part, text] of [
      ["wrap", wrap],
      ["box", box],
    ] as const) {
      const bytes = Buffer.from(text, "base64url");
      for (let i = 0; i < bytes.length; i++) {
        const altered = Buffer.from(bytes);
        altered[i] = altered[i]! ^ 0x01;
        const parts = [format, keyId, wrap, box];
        parts[part === "wrap" ? 2 : 3] = altered.toString("base64url");
        expect(() => openRecord(parts.join("."), identity, ["K"], ring), `${part}[${i}]`).toThrow(
          IntegrityError,
        );
      }
    }
  });

  it("binds the contents to workspace, environment, name and secretId", () => {
    const sealed = sealRecord(identity, entries, ring);
    for (const moved of [
      { ...identity, workspace: "other" },
      { ...identity, environment: "prod" },
      { ...identity, name: "db2" },
      { ...identity, secretId: "st-456" },
    ]) {
      expect(() => openRecord(sealed, moved, keys, ring)).toThrow(/belongs to another secret/);
    }
  });

  it("rewrap changes only the key wrap, keeps the contents, and refuses corrupt records", () => {
    const sealed = sealRecord(identity, entries, ring);
    const both = Keyring.fromOptions({ keyring: [newKey, oldKey] }, {});
    const rewrapped = rewrapRecord(sealed, identity, keys, both);
    expect(sealedKeyId(rewrapped)).toBe(both.primary.id);
    expect(rewrapped.split(".")[3]).toBe(sealed.split(".")[3]);
    const newOnly = Keyring.fromOptions({ masterKey: newKey }, {});
    expect(openRecord(rewrapped, identity, keys, newOnly)).toEqual(entries);
    expect(() => openRecord(sealed, identity, keys, newOnly)).toThrow(/does not hold/);
    const corrupt = `${sealed.slice(0, -4)}AAAA`;
    expect(() => rewrapRecord(corrupt, identity, keys, both)).toThrow(IntegrityError);
  });

  it("malformed metadata is an IntegrityError, not a crash", () => {
    const sealed = sealRecord(identity, entries, ring);
    expect(() => openRecord(sealed, identity, undefined as never, ring)).toThrow(IntegrityError);
    expect(() => openRecord(sealed, identity, "PGPASSWORD" as never, ring)).toThrow(IntegrityError);
    expect(() => openRecord(42 as never, identity, keys, ring)).toThrow(IntegrityError);
  });

  it("error messages name the secret and key ids, never a value", () => {
    const sealed = sealRecord(identity, entries, ring);
    const errors: Error[] = [];
    const stranger = Keyring.fromOptions({ masterKey: generateMasterKey() }, {});
    for (const attempt of [
      () => openRecord(sealed, identity, keys, stranger),
      () => openRecord(sealed, { ...identity, name: "x" }, keys, ring),
      () => openRecord(sealed, identity, ["PGUSER"], ring),
      () => openRecord("junk", identity, keys, ring),
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

import { InvalidError } from "../errors.js";
import { nacl, nodeCrypto } from "../lazy-modules.js";
import { concatBytes, fromBase64Url, toBase64Url, utf8Encode } from "./encoding.js";
import { KEY_BYTES } from "./secretbox-sizes.js";

/** Length in bytes of a master key (XSalsa20-Poly1305 key size). */
export const MASTER_KEY_BYTES = KEY_BYTES;

const KEY_PREFIX = "ek1_";
const CHECKSUM_BYTES = 4;
const CHECKSUM_LABEL = utf8Encode("envkeep/master-key-checksum/v1\0");
const KEY_ID_LABEL = utf8Encode("envkeep/master-key-id/v1\0");

/** A master key with its public id. */
export interface MasterKey {
  /** Derived from the key; not secret. Stored in each record to say which key wrapped it. */
  readonly id: string;
  /** The 32 key bytes. */
  readonly bytes: Uint8Array;
}

/** A master key as given by a host: 32 raw bytes, or a string encoding of them. */
export type MasterKeyInput = Uint8Array | string;

/**
 * SHA-512, by Node's native crypto: the same bytes as tweetnacl's `nacl.hash`, without a cold JS
 * SHA-512 (about 2 ms of the CLI's start-up, which derives a key id at every command).
 */
const sha512 = (bytes: Uint8Array): Uint8Array => nodeCrypto().hash("sha512", bytes, "buffer");

function checksumOf(key: Uint8Array): Uint8Array {
  return sha512(concatBytes(CHECKSUM_LABEL, key)).subarray(0, CHECKSUM_BYTES);
}

/**
 * The public id of a master key: a hash prefix, so the same key always has the same id and the
 * id reveals nothing usable about the key.
 */
export function masterKeyId(key: Uint8Array): string {
  return `k${toBase64Url(sha512(concatBytes(KEY_ID_LABEL, key)).subarray(0, 9))}`;
}

/** Encodes 32 key bytes as an `ek1_…` string (with a checksum that catches typos). */
export function encodeMasterKey(key: Uint8Array): string {
  if (key.length !== MASTER_KEY_BYTES) {
    throw new InvalidError(`a master key must be ${MASTER_KEY_BYTES} bytes`);
  }
  return KEY_PREFIX + toBase64Url(concatBytes(key, checksumOf(key)));
}

/**
 * Generates a new random master key, encoded as `ek1_` + base64url(key ‖ checksum).
 *
 * @example
 * ```ts
 * import { generateMasterKey } from "@envkeep/core";
 * const key = generateMasterKey(); // "ek1_…": keep it in your secret manager or KMS, not in git
 * ```
 */
export function generateMasterKey(): string {
  return encodeMasterKey(nacl().randomBytes(MASTER_KEY_BYTES));
}

function malformed(label: string): InvalidError {
  return new InvalidError(
    `${label} is malformed: expected an "ek1_…" key from generateMasterKey(), 32 raw bytes, or 32 bytes as padded base64 or hex`,
  );
}

/**
 * Parses a master key. Accepts 32 raw bytes, an `ek1_…` string (checksum verified), or 32 bytes
 * as padded standard base64 or hex. Throws {@link InvalidError} without echoing the input.
 */
export function parseMasterKey(input: MasterKeyInput, label = "master key"): MasterKey {
  let bytes: Uint8Array | undefined;
  if (input instanceof Uint8Array) {
    if (input.length !== MASTER_KEY_BYTES) throw malformed(label);
    bytes = new Uint8Array(input);
  } else if (typeof input === "string") {
    const text = input.trim();
    if (text.startsWith(KEY_PREFIX)) {
      const decoded = fromBase64Url(text.slice(KEY_PREFIX.length));
      if (decoded?.length !== MASTER_KEY_BYTES + CHECKSUM_BYTES) throw malformed(label);
      bytes = decoded.slice(0, MASTER_KEY_BYTES);
      const expected = checksumOf(bytes);
      const given = decoded.slice(MASTER_KEY_BYTES);
      if (!nacl().verify(expected, given)) {
        throw new InvalidError(`${label} failed its checksum: it was mistyped or truncated`);
      }
    } else if (/^[0-9a-fA-F]{64}$/.test(text)) {
      bytes = new Uint8Array(Buffer.from(text, "hex"));
    } else if (/^[A-Za-z0-9+/]{43}=$/.test(text)) {
      // Padded standard base64 only (`openssl rand -base64 32`): an unpadded 43-character word is
      // too easily something else.
      bytes = new Uint8Array(Buffer.from(text, "base64"));
      if (bytes.length !== MASTER_KEY_BYTES) throw malformed(label);
    } else {
      throw malformed(label);
    }
  } else {
    throw malformed(label);
  }
  return { id: masterKeyId(bytes), bytes };
}

import nacl from "tweetnacl";
import { IntegrityError } from "../errors.js";
import type { SecretRef } from "../store.js";
import {
  concatBytes,
  fromBase64Url,
  toBase64Url,
  utf8Decode,
  utf8Encode,
  wipe,
} from "./encoding.js";
import type { Keyring } from "./keyring.js";
import type { MasterKey } from "./master-key.js";

/**
 * Envelope encryption of a secret's contents (XSalsa20-Poly1305 `secretbox` from tweetnacl).
 *
 * Sealed format, version 1 — four dot-separated fields, all base64url:
 *
 *     v1.<keyId>.<wrapNonce ‖ secretbox(dataKey, wrapNonce, masterKey)>.<nonce ‖ secretbox(payload, nonce, dataKey)>
 *
 * Each seal draws a fresh random 32-byte data key and fresh random 24-byte nonces, so neither is
 * ever reused across records. The payload is JSON that carries the secret's identity
 * (workspace, environment, name, secretId) next to its entries: Poly1305 authenticates it, so a
 * record copied under another identity opens to the wrong identity and is rejected.
 */

const FORMAT = "v1";
const NONCE_BYTES = nacl.secretbox.nonceLength;
const KEY_BYTES = nacl.secretbox.keyLength;

/** The identity a sealed record is bound to. */
export interface SealedIdentity extends SecretRef {
  secretId: string;
}

interface Payload {
  w: string;
  e: string;
  n: string;
  i: string;
  d: Record<string, string>;
}

interface ParsedSealed {
  keyId: string;
  wrapped: Uint8Array;
  boxed: Uint8Array;
}

function describe(identity: SecretRef): string {
  return `secret "${identity.name}" (environment "${identity.environment}", workspace "${identity.workspace}")`;
}

function parseSealed(sealed: string, identity: SecretRef): ParsedSealed {
  const parts = typeof sealed === "string" ? sealed.split(".") : [];
  const [format, keyId, wrapText, boxText] = parts;
  const wrapped = wrapText === undefined ? undefined : fromBase64Url(wrapText);
  const boxed = boxText === undefined ? undefined : fromBase64Url(boxText);
  if (
    parts.length !== 4 ||
    format !== FORMAT ||
    !keyId ||
    !wrapped ||
    !boxed ||
    wrapped.length < NONCE_BYTES + nacl.secretbox.overheadLength ||
    boxed.length < NONCE_BYTES + nacl.secretbox.overheadLength
  ) {
    throw new IntegrityError(`${describe(identity)} is corrupt: its sealed record is malformed`);
  }
  return { keyId, wrapped, boxed };
}

function boxWith(message: Uint8Array, key: Uint8Array): Uint8Array {
  const nonce = nacl.randomBytes(NONCE_BYTES);
  return concatBytes(nonce, nacl.secretbox(message, nonce, key));
}

function unboxWith(boxed: Uint8Array, key: Uint8Array): Uint8Array | null {
  return nacl.secretbox.open(boxed.subarray(NONCE_BYTES), boxed.subarray(0, NONCE_BYTES), key);
}

function unwrapDataKey(parsed: ParsedSealed, keyring: Keyring, identity: SecretRef): Uint8Array {
  const master = keyring.get(parsed.keyId);
  if (!master) {
    throw new IntegrityError(
      `${describe(identity)} was sealed under master key ${parsed.keyId}, which this manager does not hold (held: ${keyring.ids.join(", ")})`,
    );
  }
  const dataKey = unboxWith(parsed.wrapped, master.bytes);
  if (!dataKey || dataKey.length !== KEY_BYTES) {
    throw new IntegrityError(
      `${describe(identity)} failed authentication: its data key is corrupt`,
    );
  }
  return dataKey;
}

function wrapDataKey(dataKey: Uint8Array, master: MasterKey): string {
  return `${master.id}.${toBase64Url(boxWith(dataKey, master.bytes))}`;
}

/** Seals `entries` for `identity` under the keyring's primary key. */
export function sealRecord(
  identity: SealedIdentity,
  entries: Record<string, string>,
  keyring: Keyring,
): string {
  const payload: Payload = {
    w: identity.workspace,
    e: identity.environment,
    n: identity.name,
    i: identity.secretId,
    d: entries,
  };
  const plaintext = utf8Encode(JSON.stringify(payload));
  const dataKey = nacl.randomBytes(KEY_BYTES);
  try {
    const boxed = boxWith(plaintext, dataKey);
    return `${FORMAT}.${wrapDataKey(dataKey, keyring.primary)}.${toBase64Url(boxed)}`;
  } finally {
    wipe(dataKey, plaintext);
  }
}

/**
 * Opens a sealed record and checks that it belongs to `identity` and holds exactly `keys`.
 * Throws {@link IntegrityError} for any tampering, truncation, move or unknown key.
 */
export function openRecord(
  sealed: string,
  identity: SealedIdentity,
  keys: readonly string[],
  keyring: Keyring,
): Record<string, string> {
  const parsed = parseSealed(sealed, identity);
  const dataKey = unwrapDataKey(parsed, keyring, identity);
  let plaintext: Uint8Array | null = null;
  try {
    plaintext = unboxWith(parsed.boxed, dataKey);
    if (!plaintext) {
      throw new IntegrityError(
        `${describe(identity)} failed authentication: its contents were altered`,
      );
    }
    let payload: Payload;
    try {
      payload = JSON.parse(utf8Decode(plaintext)) as Payload;
    } catch {
      throw new IntegrityError(`${describe(identity)} is corrupt: its contents do not decode`);
    }
    if (
      payload.w !== identity.workspace ||
      payload.e !== identity.environment ||
      payload.n !== identity.name ||
      payload.i !== identity.secretId
    ) {
      throw new IntegrityError(
        `${describe(identity)} failed authentication: the record belongs to another secret`,
      );
    }
    const entries = payload.d;
    if (typeof entries !== "object" || entries === null) {
      throw new IntegrityError(`${describe(identity)} is corrupt: its contents do not decode`);
    }
    const found = Object.keys(entries).sort();
    if (
      !Array.isArray(keys) ||
      found.length !== keys.length ||
      found.some((key, i) => key !== keys[i] || typeof entries[key] !== "string")
    ) {
      throw new IntegrityError(
        `${describe(identity)} failed authentication: its key list does not match its contents`,
      );
    }
    return entries;
  } finally {
    wipe(dataKey, plaintext ?? undefined);
  }
}

/** The id of the master key that wrapped `sealed`, or `undefined` if it is malformed. */
export function sealedKeyId(sealed: string): string | undefined {
  const [format, keyId] = sealed.split(".", 3);
  return format === FORMAT ? keyId : undefined;
}

/**
 * Re-wraps the data key of `sealed` under the keyring's primary key, leaving the contents'
 * ciphertext as it is. The contents are authenticated first, so a corrupt record is never
 * re-wrapped into a valid-looking one.
 */
export function rewrapRecord(
  sealed: string,
  identity: SealedIdentity,
  keys: readonly string[],
  keyring: Keyring,
): string {
  openRecord(sealed, identity, keys, keyring);
  const parsed = parseSealed(sealed, identity);
  const dataKey = unwrapDataKey(parsed, keyring, identity);
  try {
    return `${FORMAT}.${wrapDataKey(dataKey, keyring.primary)}.${toBase64Url(parsed.boxed)}`;
  } finally {
    wipe(dataKey);
  }
}

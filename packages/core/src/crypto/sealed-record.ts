import { IntegrityError, UnknownKeyError } from "../errors.js";
import { nacl, nodeCrypto } from "../lazy-modules.js";
import type { SecretRef, StoredRecord } from "../store.js";
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
import { KEY_BYTES, MAC_BYTES, NONCE_BYTES } from "./secretbox-sizes.js";

/**
 * Envelope encryption of a secret's contents, with every piece of its metadata authenticated.
 *
 * Sealed format, version 2 — five dot-separated fields, all base64url but the first two:
 *
 *     v2.<keyId>.<wrapped>.<tag>.<box>
 *
 *     wrapped = wrapNonce ‖ secretbox(dataKey, wrapNonce, masterKey)        (tweetnacl)
 *     box     = nonce ‖ secretbox(JSON(entries), nonce, dataKey)            (tweetnacl)
 *     tag     = HMAC-SHA256(metadataKey(masterKey), header)
 *     header  = JSON [format, keyId, wrapped, workspace, environment, name, secretId, version,
 *                     createdAt, updatedAt, createdBy, updatedBy, keys]
 *
 * Each seal draws a fresh random 32-byte data key and fresh nonces. The tag binds everything a
 * store keeps beside `sealed` (identity, version, times, actors, key names) to this particular
 * wrapped data key, and the data key is the only key that opens the box: so no field can be
 * changed, no record moved under another identity, and no older ciphertext put under newer
 * metadata, without the tag failing. The tag is checked before anything is decrypted, and it is
 * all `info` and `list` need: they authenticate metadata without opening contents.
 *
 * The metadata key is derived from the master key (HMAC-SHA256 with a fixed label), so the master
 * key itself is only ever used as a secretbox key.
 */

const FORMAT = "v2";
const BOX_OVERHEAD = NONCE_BYTES + MAC_BYTES;
const WRAPPED_BYTES = BOX_OVERHEAD + KEY_BYTES;
const TAG_BYTES = 32;
const METADATA_KEY_LABEL = "envkeep/record-metadata-key/v2";

/** Everything a store keeps beside `sealed`: what the tag authenticates. */
export type RecordHeader = Omit<StoredRecord, "sealed">;

/** @internal The five fields of a sealed string, decoded. */
export interface ParsedSealed {
  keyId: string;
  wrappedText: string;
  wrapped: Uint8Array;
  tag: Uint8Array;
  boxed: Uint8Array;
}

const metadataKeys = new WeakMap<MasterKey, Buffer>();

function metadataKeyOf(master: MasterKey): Buffer {
  let key = metadataKeys.get(master);
  if (!key) {
    key = nodeCrypto().createHmac("sha256", master.bytes).update(METADATA_KEY_LABEL).digest();
    metadataKeys.set(master, key);
  }
  return key;
}

/** Names a secret for messages: identity only, never contents. */
export function describeSecret(identity: SecretRef): string {
  return `secret ${quoteName(identity.name)} (environment ${quoteName(identity.environment)}, workspace ${quoteName(identity.workspace)})`;
}

function quoteName(name: unknown): string {
  const text = String(name);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

function parseSealed(sealed: unknown, identity: SecretRef): ParsedSealed {
  const parts = typeof sealed === "string" ? sealed.split(".") : [];
  const [format, keyId, wrappedText, tagText, boxText] = parts;
  if (parts.length === 4 && format === "v1") {
    throw new IntegrityError(
      `${describeSecret(identity)} was sealed in format v1, whose metadata is not authenticated: create it again`,
    );
  }
  const wrapped = wrappedText === undefined ? undefined : fromBase64Url(wrappedText);
  const tag = tagText === undefined ? undefined : fromBase64Url(tagText);
  const boxed = boxText === undefined ? undefined : fromBase64Url(boxText);
  if (
    parts.length !== 5 ||
    format !== FORMAT ||
    !keyId ||
    !wrappedText ||
    wrapped?.length !== WRAPPED_BYTES ||
    tag?.length !== TAG_BYTES ||
    !boxed ||
    boxed.length < BOX_OVERHEAD
  ) {
    throw new IntegrityError(
      `${describeSecret(identity)} is corrupt: its sealed record is malformed`,
    );
  }
  return { keyId, wrappedText, wrapped, tag, boxed };
}

/** The authenticated header, as the UTF-8 text the tag is computed over. */
function headerText(header: RecordHeader, keyId: string, wrappedText: string): string {
  return JSON.stringify([
    FORMAT,
    keyId,
    wrappedText,
    header.workspace,
    header.environment,
    header.name,
    header.secretId,
    header.version,
    header.createdAt,
    header.updatedAt,
    header.createdBy ?? null,
    header.updatedBy ?? null,
    header.keys,
  ]);
}

function tagOf(master: MasterKey, header: RecordHeader, wrappedText: string): Buffer {
  return nodeCrypto()
    .createHmac("sha256", metadataKeyOf(master))
    .update(headerText(header, master.id, wrappedText), "utf8")
    .digest();
}

function masterOf(parsed: ParsedSealed, keyring: Keyring, identity: SecretRef): MasterKey {
  const master = keyring.get(parsed.keyId);
  if (!master) {
    throw new UnknownKeyError(
      `${describeSecret(identity)} was sealed under master key ${quoteName(parsed.keyId)}, which this manager does not hold (held: ${keyring.ids.join(", ")})`,
      parsed.keyId,
      { secret: identity, heldKeyIds: keyring.ids },
    );
  }
  return master;
}

/**
 * A record whose tag was checked against every metadata field, with its sealed parts parsed: what
 * `verifyRecord` returns and `openVerified` opens. Holds nothing in the clear but metadata; the
 * record cache keeps these.
 */
export interface VerifiedRecord {
  readonly record: StoredRecord;
  /** @internal */
  readonly parsed: ParsedSealed;
  /** @internal */
  readonly master: MasterKey;
}

/** Parses `record.sealed` and checks its tag over every metadata field; returns its parts. */
function authenticate(record: StoredRecord, keyring: Keyring): VerifiedRecord {
  const parsed = parseSealed(record.sealed, record);
  const master = masterOf(parsed, keyring, record);
  const expected = tagOf(master, record, parsed.wrappedText);
  if (!nodeCrypto().timingSafeEqual(expected, parsed.tag)) {
    throw new IntegrityError(
      `${describeSecret(record)} failed authentication: its record was altered, moved from another secret, or replaced by older contents`,
    );
  }
  return { record, parsed, master };
}

function boxWith(message: Uint8Array, key: Uint8Array): Uint8Array {
  const nonce = nacl().randomBytes(NONCE_BYTES);
  return concatBytes(nonce, nacl().secretbox(message, nonce, key));
}

function unboxWith(boxed: Uint8Array, key: Uint8Array): Uint8Array | null {
  return nacl().secretbox.open(boxed.subarray(NONCE_BYTES), boxed.subarray(0, NONCE_BYTES), key);
}

function unwrapDataKey(parsed: ParsedSealed, master: MasterKey, identity: SecretRef): Uint8Array {
  const dataKey = unboxWith(parsed.wrapped, master.bytes);
  if (!dataKey || dataKey.length !== KEY_BYTES) {
    throw new IntegrityError(
      `${describeSecret(identity)} failed authentication: its data key is corrupt`,
    );
  }
  return dataKey;
}

/** `v2.<keyId>.<wrapped>.<tag>.<box>` for a data key wrapped under the keyring's primary key. */
function assemble(header: RecordHeader, dataKey: Uint8Array, boxText: string, keyring: Keyring) {
  const master = keyring.primary;
  const wrappedText = toBase64Url(boxWith(dataKey, master.bytes));
  const tag = toBase64Url(tagOf(master, header, wrappedText));
  return `${FORMAT}.${master.id}.${wrappedText}.${tag}.${boxText}`;
}

/**
 * Seals `entries` under the keyring's primary key, authenticating every field of `header`. The
 * record to store is `{ ...header, sealed }`: change any field and it no longer opens.
 */
export function sealRecord(
  header: RecordHeader,
  entries: Readonly<Record<string, string>>,
  keyring: Keyring,
): string {
  const plaintext = utf8Encode(JSON.stringify(entries));
  const dataKey = nacl().randomBytes(KEY_BYTES);
  try {
    return assemble(header, dataKey, toBase64Url(boxWith(plaintext, dataKey)), keyring);
  } finally {
    wipe(dataKey, plaintext);
  }
}

/**
 * Checks that every metadata field of `record` is the one it was sealed with, without decrypting
 * its contents. `record` must already be well-typed (see `checkRecordShape`).
 * @throws {IntegrityError} for any change, move, replay of older contents, or a key not held.
 */
export function verifyRecord(record: StoredRecord, keyring: Keyring): VerifiedRecord {
  return authenticate(record, keyring);
}

function decodeEntries(plaintext: Uint8Array, record: StoredRecord): Record<string, string> {
  let entries: unknown;
  try {
    entries = JSON.parse(utf8Decode(plaintext));
  } catch {
    entries = undefined;
  }
  if (typeof entries !== "object" || entries === null || Array.isArray(entries)) {
    throw new IntegrityError(`${describeSecret(record)} is corrupt: its contents do not decode`);
  }
  const found = Object.keys(entries).sort();
  const values = entries as Record<string, unknown>;
  const { keys } = record;
  let matches = found.length === keys.length;
  for (let i = 0; matches && i < found.length; i++) {
    const key = found[i] as string;
    matches = key === keys[i] && typeof values[key] === "string";
  }
  if (!matches) {
    throw new IntegrityError(
      `${describeSecret(record)} failed authentication: its key list does not match its contents`,
    );
  }
  return entries as Record<string, string>;
}

/**
 * Authenticates `record` (every metadata field) and decrypts its contents. `record` must already
 * be well-typed and located where it was asked for (see `checkRecordShape`).
 * @throws {IntegrityError} for any tampering, truncation, move, replay or unknown key.
 */
export function openRecord(record: StoredRecord, keyring: Keyring): Record<string, string> {
  return openVerified(authenticate(record, keyring));
}

/**
 * Decrypts the contents of a record `verifyRecord` authenticated (its data key, then its box,
 * both authenticated by their own MAC; the key list checked against the contents). The data key
 * and the plaintext bytes are wiped before it returns; only the returned object holds values.
 * @throws {IntegrityError} when a box fails to open or the contents do not match the key list.
 */
export function openVerified(verified: VerifiedRecord): Record<string, string> {
  const { parsed, master, record } = verified;
  return withOpenContents(parsed, master, record, (entries) => entries);
}

/**
 * Unwraps the data key, opens the box and checks the contents against the key list, then hands
 * both to `use`; the data key and the plaintext bytes are wiped once `use` returns (or throws).
 */
function withOpenContents<T>(
  parsed: ParsedSealed,
  master: MasterKey,
  record: StoredRecord,
  use: (entries: Record<string, string>, dataKey: Uint8Array) => T,
): T {
  const dataKey = unwrapDataKey(parsed, master, record);
  let plaintext: Uint8Array | null = null;
  try {
    plaintext = unboxWith(parsed.boxed, dataKey);
    if (!plaintext) {
      throw new IntegrityError(
        `${describeSecret(record)} failed authentication: its contents were altered`,
      );
    }
    return use(decodeEntries(plaintext, record), dataKey);
  } finally {
    wipe(dataKey, plaintext ?? undefined);
  }
}

/** The id of the master key that wrapped `sealed`, or `undefined` if it is not a v2 record. */
export function sealedKeyId(sealed: unknown): string | undefined {
  if (typeof sealed !== "string") return undefined;
  const [format, keyId] = sealed.split(".", 3);
  return format === FORMAT ? keyId : undefined;
}

/**
 * Re-wraps the data key of `record` under the keyring's primary key (with a new tag), leaving the
 * contents' ciphertext as it is. The record is fully authenticated and opened first, so a corrupt
 * record is never re-wrapped into a valid-looking one.
 */
export function rewrapRecord(record: StoredRecord, keyring: Keyring): string {
  openRecord(record, keyring);
  const { parsed, master } = authenticate(record, keyring);
  const dataKey = unwrapDataKey(parsed, master, record);
  try {
    return assemble(record, dataKey, toBase64Url(parsed.boxed), keyring);
  } finally {
    wipe(dataKey);
  }
}

/**
 * Re-seals the contents of `record` (authenticated first) under another header — the data key is
 * re-wrapped under the primary key and a new tag binds it to `header`; the contents' ciphertext
 * is kept, so nothing is decrypted. For a copy of a record that must open only as what `header`
 * says (an old version kept in the history), never as the original.
 */
export function resealAs(record: StoredRecord, header: RecordHeader, keyring: Keyring): string {
  const { parsed, master } = authenticate(record, keyring);
  const dataKey = unwrapDataKey(parsed, master, record);
  try {
    return assemble(header, dataKey, toBase64Url(parsed.boxed), keyring);
  } finally {
    wipe(dataKey);
  }
}

/**
 * {@link openRecord} and {@link resealAs} in one pass (one authentication, one unwrap): the
 * contents of `record`, and its sealed form re-bound to `header`.
 */
export function openAndResealAs(
  record: StoredRecord,
  header: RecordHeader,
  keyring: Keyring,
): { entries: Record<string, string>; sealed: string } {
  const { parsed, master } = authenticate(record, keyring);
  return withOpenContents(parsed, master, record, (entries, dataKey) => {
    const boxText = record.sealed.slice(record.sealed.lastIndexOf(".") + 1);
    return { entries, sealed: assemble(header, dataKey, boxText, keyring) };
  });
}

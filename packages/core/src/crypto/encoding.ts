/** Byte/text encodings used by the sealed-record format. */

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Decodes base64url, returning `undefined` for anything that is not canonical base64url (only its
 * alphabet, no padding, a length a byte string can have, and zero unused bits in the last
 * character, so that each byte string has exactly one text). Checked by arithmetic on the text,
 * not by encoding the bytes again.
 */
export function fromBase64Url(text: string): Uint8Array | undefined {
  const tail = text.length % 4;
  if (tail === 1 || !BASE64URL.test(text)) return undefined;
  if (tail !== 0) {
    // The last character carries 4 (tail 2) or 2 (tail 3) bits beyond the last whole byte.
    const last = BASE64URL_ALPHABET.indexOf(text[text.length - 1] as string);
    if ((last & (tail === 2 ? 0x0f : 0x03)) !== 0) return undefined;
  }
  const buffer = Buffer.from(text, "base64url");
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export function utf8Encode(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** Strict UTF-8 decode: throws on malformed input. */
export function utf8Decode(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Best-effort wipe of key material that is no longer needed. */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const buffer of buffers) buffer?.fill(0);
}

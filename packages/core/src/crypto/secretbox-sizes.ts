// XSalsa20-Poly1305's sizes (tweetnacl's secretbox.keyLength, nonceLength and overheadLength),
// written out so that importing envkeep does not load tweetnacl; a test checks them against it.

/** Key size of secretbox. */
export const KEY_BYTES = 32;
/** Nonce size of secretbox. */
export const NONCE_BYTES = 24;
/** What secretbox adds to a message: its Poly1305 tag. */
export const MAC_BYTES = 16;

import { toBase64Url } from "./crypto/encoding.js";
import { nacl } from "./lazy-modules.js";

/** A new secret id: `st-` + 22 random URL-safe characters (128 bits). */
export function newSecretId(): string {
  return `st-${toBase64Url(nacl().randomBytes(16))}`;
}

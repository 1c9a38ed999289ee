import type { VerifiedRecord } from "../crypto/sealed-record.js";
import type { SecretRef, StoredRecord } from "../store.js";

/** Records remembered at most, per manager (oldest forgotten first). */
const MEMO_SIZE = 1_000;

/** The memo's key of one location: the three names cannot contain `/` once validated. */
export function locationKey(ref: SecretRef): string {
  return `${ref.workspace}/${ref.environment}/${ref.name}`;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * True when `found` holds exactly the fields of `known`: every field the tag covers (the
 * location is the memo's key) and the sealed string, which carries the key id, the wrapped data
 * key, the tag and the box.
 */
function sameRecord(found: StoredRecord, known: StoredRecord): boolean {
  return (
    found.sealed === known.sealed &&
    found.secretId === known.secretId &&
    found.version === known.version &&
    found.createdAt === known.createdAt &&
    found.updatedAt === known.updatedAt &&
    found.createdBy === known.createdBy &&
    found.updatedBy === known.updatedBy &&
    sameKeys(found.keys, known.keys)
  );
}

/**
 * The records this manager authenticated lately, one per location. Authentication is a function
 * of a record's fields and the keyring alone, so when the store hands back, for the same
 * location, a record equal field by field to one already authenticated under this keyring, its
 * tag need not be computed again, nor its sealed fields decoded again. Every read still goes to
 * the store and every field is still compared: this remembers results, it never serves a record
 * the store did not just return. Holds sealed records only, no value.
 */
export class VerificationMemo {
  readonly #known = new Map<string, VerifiedRecord>();

  /** The authenticated form of `found` (read at `key`) if it was authenticated before. */
  recall(key: string, found: StoredRecord): VerifiedRecord | undefined {
    const known = this.#known.get(key);
    return known !== undefined && sameRecord(found, known.record) ? known : undefined;
  }

  /** Remembers an authenticated record read at `key` (frozen: it is shared from now on). */
  remember(key: string, verified: VerifiedRecord): void {
    Object.freeze(verified.record.keys);
    Object.freeze(verified.record);
    this.#known.delete(key);
    this.#known.set(key, verified);
    if (this.#known.size > MEMO_SIZE) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
  }

  /** Forgets the record of `key` (after a write or delete through this manager). */
  forget(key: string): void {
    this.#known.delete(key);
  }
}

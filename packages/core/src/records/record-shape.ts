import { describeSecret } from "../crypto/sealed-record.js";
import { IntegrityError } from "../errors.js";
import { isUnreadable, type SecretRef, type StoredRecord } from "../store.js";
import { KEY_PATTERN, MAX_ACTOR_LENGTH, MAX_KEY_LENGTH } from "../validation/schemas.js";

/** The largest time a `Date` can hold, in ms either side of the epoch. */
const MAX_TIME = 8.64e15;
const SECRET_ID = /^st-[A-Za-z0-9_-]{1,128}$/;
const KEY = new RegExp(KEY_PATTERN);

const isTime = (value: unknown): value is number =>
  Number.isSafeInteger(value) && Math.abs(value as number) <= MAX_TIME;

const isActor = (value: unknown): value is string | undefined =>
  value === undefined || (typeof value === "string" && value.length <= MAX_ACTOR_LENGTH);

function isSortedKeyList(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  let previous: string | undefined;
  for (const key of value) {
    if (typeof key !== "string" || key.length > MAX_KEY_LENGTH || !KEY.test(key)) return false;
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
  }
  return true;
}

/**
 * Checks what a store returned for the location `at` before anything else looks at it: that it is
 * a record, found at exactly `at`, with every field of the right type and range. Returns a fresh
 * copy holding only the known fields. The fields' values are authenticated afterwards, by the
 * record's tag (`verifyRecord` / `openRecord`).
 *
 * @throws {IntegrityError} naming `at` — never a value — for anything else.
 */
export function checkRecordShape(entry: unknown, at: SecretRef): StoredRecord {
  const damaged = (why: string) => new IntegrityError(`${describeSecret(at)} is damaged: ${why}`);
  if (typeof entry !== "object" || entry === null)
    throw damaged("its stored value is not a record");
  const found = entry as Partial<StoredRecord>;
  if (isUnreadable(found)) throw damaged(found.unreadable);
  if (
    found.workspace !== at.workspace ||
    found.environment !== at.environment ||
    found.name !== at.name
  ) {
    throw damaged("the store returned it for another location");
  }
  const { secretId, version, createdAt, updatedAt, createdBy, updatedBy, keys, sealed } = found;
  if (typeof secretId !== "string" || !SECRET_ID.test(secretId)) throw damaged("bad secretId");
  if (!Number.isSafeInteger(version) || (version as number) < 1) throw damaged("bad version");
  if (!isTime(createdAt) || !isTime(updatedAt) || updatedAt < createdAt) {
    throw damaged("bad createdAt or updatedAt");
  }
  if (!isActor(createdBy) || !isActor(updatedBy)) throw damaged("bad createdBy or updatedBy");
  if (!isSortedKeyList(keys)) throw damaged("bad key list");
  if (typeof sealed !== "string") throw damaged("bad sealed contents");
  const record: StoredRecord = {
    workspace: at.workspace,
    environment: at.environment,
    name: at.name,
    secretId,
    keys: [...keys],
    createdAt,
    updatedAt,
    version: version as number,
    sealed,
  };
  if (createdBy !== undefined) record.createdBy = createdBy;
  if (updatedBy !== undefined) record.updatedBy = updatedBy;
  return record;
}

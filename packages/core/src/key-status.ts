import { sealedKeyId } from "./crypto/sealed-record.js";
import { storeEntries } from "./records/listing.js";
import type { SealedRecords } from "./records/sealed-records.js";
import { isUnreadable } from "./store.js";

/** How many stored records each master key seals, as `SecretManager.keyStatus` counts them. */
export interface KeyStatus {
  /** The key that seals new writes. */
  primaryKeyId: string;
  /** Every key this manager holds, primary first. */
  heldKeyIds: string[];
  /**
   * Each key id that records name, with how many do, primary and held keys first. Counted from
   * the key id each record states (not authenticated: a tampered record may name any id).
   */
  keys: {
    keyId: string;
    records: number;
    /** Old versions (secrets' history) it seals: the key is needed for them too. */
    oldVersions: number;
    held: boolean;
    primary: boolean;
  }[];
  /** Records that name no key at all (not a sealed record of this format). */
  unreadable: number;
}

const PAGE_SIZE = 500;

/**
 * Counts the records of every environment of `workspace` (access tokens included) by the master
 * key id that seals them: what `envkeep key status` shows, so that a person can tell which key a
 * rotation still needs and when an old key can go. Reads metadata only; opens nothing.
 */
export async function keyStatus(records: SealedRecords, workspace: string): Promise<KeyStatus> {
  const counts = new Map<string, number>();
  const oldCounts = new Map<string, number>();
  let unreadable = 0;
  const environments = await records.call(() => records.store.environments(workspace));
  for (const environment of environments.sort()) {
    const scope = { workspace, environment };
    for await (const step of storeEntries(records, scope, { pageSize: PAGE_SIZE })) {
      if (!("entry" in step)) continue;
      const keyId = isUnreadable(step.entry) ? undefined : sealedKeyId(step.entry.sealed);
      if (keyId === undefined) unreadable++;
      else counts.set(keyId, (counts.get(keyId) ?? 0) + 1);
      const { entry } = step;
      const ref = { workspace, environment, name: entry.name };
      for (const old of await records.call(() => records.store.history(ref))) {
        const oldKeyId = isUnreadable(old) ? undefined : sealedKeyId(old.sealed);
        if (oldKeyId === undefined) continue;
        if (!counts.has(oldKeyId)) counts.set(oldKeyId, 0);
        oldCounts.set(oldKeyId, (oldCounts.get(oldKeyId) ?? 0) + 1);
      }
    }
  }
  const { keyring } = records;
  const held = keyring.ids;
  for (const id of held) if (!counts.has(id)) counts.set(id, 0);
  const rank = (id: string) => (held.includes(id) ? held.indexOf(id) : held.length);
  const keys = [...counts]
    .map(([keyId, count]) => ({
      keyId,
      records: count,
      oldVersions: oldCounts.get(keyId) ?? 0,
      held: held.includes(keyId),
      primary: keyId === keyring.primary.id,
    }))
    .sort((a, b) => rank(a.keyId) - rank(b.keyId) || (a.keyId < b.keyId ? -1 : 1));
  return { primaryKeyId: keyring.primary.id, heldKeyIds: held, keys, unreadable };
}

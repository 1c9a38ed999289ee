import { listUnverified, NotFoundError, type SecretInfo, unverifiedInfo } from "@envkeep/core";
import { type GlobalOptions, withStoreOnly } from "../context.js";
import { formatFields, formatSecretTable, formatTime, secretInfoJson, writeLine } from "../io.js";
import { toJson } from "../printable.js";

/**
 * Without a master key, `secret list` and `secret info` still show metadata (never a value), read
 * as stored. It cannot be authenticated without the key, so a warning says so on stderr, the JSON
 * carries `"verified": false`, and with a key set the same commands show only what the key
 * authenticates.
 */
const UNVERIFIED_WARNING =
  "envkeep: warning: no master key: metadata is shown as stored, not authenticated (set ENVKEEP_MASTER_KEY to verify it)";

/** The `secret info` fields, with or without a key. */
export function printInfo(info: SecretInfo): void {
  const fields: [string, string][] = [
    ["Name", info.name],
    ["Environment", info.environment],
    ["Workspace", info.workspace],
    ["Id", info.secretId],
    ["Version", String(info.version)],
    ["Keys", info.keys.join(", ")],
    ["Created", formatTime(info.createdAt) + (info.createdBy ? ` by ${info.createdBy}` : "")],
    ["Updated", formatTime(info.updatedAt) + (info.updatedBy ? ` by ${info.updatedBy}` : "")],
  ];
  process.stdout.write(`${formatFields(fields)}\n`);
}

/** `secret list` without a master key. */
export async function listWithoutKey(options: GlobalOptions, json: boolean): Promise<void> {
  await withStoreOnly(
    options,
    async (store, target) => {
      writeLine(UNVERIFIED_WARNING, process.stderr);
      const { secrets, damaged } = await listUnverified(store, target);
      for (const { reason } of damaged) {
        writeLine(`envkeep: warning: left out of the list: ${reason}`, process.stderr);
      }
      if (json) {
        const rows = secrets.map((info) => ({ ...secretInfoJson(info), verified: false }));
        process.stdout.write(`${toJson(rows)}\n`);
      } else if (secrets.length === 0) {
        writeLine(`No secrets in environment "${target.environment}".`);
      } else {
        process.stdout.write(`${formatSecretTable(secrets)}\n`);
      }
    },
    (target) => {
      writeLine(UNVERIFIED_WARNING, process.stderr);
      if (json) process.stdout.write("[]\n");
      else writeLine(`No secrets in environment "${target.environment}".`);
    },
  );
}

/** `secret info NAME` without a master key. */
export async function infoWithoutKey(
  options: GlobalOptions,
  name: string,
  json: boolean,
): Promise<void> {
  await withStoreOnly(
    options,
    async (store, target) => {
      const info = await unverifiedInfo(store, { ...target, name });
      writeLine(UNVERIFIED_WARNING, process.stderr);
      if (json) process.stdout.write(`${toJson({ ...secretInfoJson(info), verified: false })}\n`);
      else printInfo(info);
    },
    (target) => {
      throw new NotFoundError(`secret "${name}" not found in environment "${target.environment}"`);
    },
  );
}

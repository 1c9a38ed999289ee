import type { StoredRecord } from "./store.js";

/** Public metadata of a named secret. Never contains a value. */
export interface SecretInfo {
  /** Stable id: `st-` + random URL-safe characters; a new one after delete + create. */
  secretId: string;
  name: string;
  environment: string;
  workspace: string;
  /** Key names, sorted. */
  keys: string[];
  createdAt: Date;
  updatedAt: Date;
  /** 1 on create, +1 on every change of contents. */
  version: number;
  /** The manager's `actor` when the secret was created, if it had one. */
  createdBy?: string;
  /** The manager's `actor` at the last change, if it had one. */
  updatedBy?: string;
}

/** Public metadata of a stored record. */
export function toSecretInfo(record: StoredRecord): SecretInfo {
  const info: SecretInfo = {
    secretId: record.secretId,
    name: record.name,
    environment: record.environment,
    workspace: record.workspace,
    keys: [...record.keys],
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
    version: record.version,
  };
  if (record.createdBy !== undefined) info.createdBy = record.createdBy;
  if (record.updatedBy !== undefined) info.updatedBy = record.updatedBy;
  return info;
}

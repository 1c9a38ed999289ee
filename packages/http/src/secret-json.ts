/** A secret's metadata as the API shows it: the seed's snake_case fields. Never values. */
import type { SecretInfo } from "@envkeep/core";

/** The `Secret` schema of the API document. */
export interface SecretJson {
  secret_id: string;
  name: string;
  environment: string;
  created_at: string;
  updated_at: string;
  keys: string[];
  version: number;
  created_by?: string;
  updated_by?: string;
}

/** `SecretInfo` → the API's `Secret` (dates as RFC 3339 strings). */
export function secretJson(info: SecretInfo): SecretJson {
  return {
    secret_id: info.secretId,
    name: info.name,
    environment: info.environment,
    created_at: info.createdAt.toISOString(),
    updated_at: info.updatedAt.toISOString(),
    keys: [...info.keys],
    version: info.version,
    ...(info.createdBy === undefined ? {} : { created_by: info.createdBy }),
    ...(info.updatedBy === undefined ? {} : { updated_by: info.updatedBy }),
  };
}

/** The ETag of a secret: its version, quoted. */
export const etagOf = (info: SecretInfo) => `"${info.version}"`;

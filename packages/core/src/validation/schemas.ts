/**
 * The naming and size rules of envkeep, as JSON Schema 2020-12. Compiled at build time to
 * validators.generated.ts (scripts/generate-validators.mjs), which `validate.ts` uses.
 * Sources: Modal's `check_object_name`, `check_environment_name` and SECRET_KEYNAME_REGEX.
 */

export const MAX_NAME_LENGTH = 64;
/** Longest `actor` (recorded as createdBy / updatedBy). */
export const MAX_ACTOR_LENGTH = 256;
export const MAX_KEY_LENGTH = 16_384;
export const MAX_VALUE_LENGTH = 32_768;
export const DEFAULT_MAX_KEYS = 1_000;
export const DEFAULT_MAX_BYTES = 1024 * 1024;

export const KEY_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";

export const secretNameSchema = {
  type: "string",
  minLength: 1,
  maxLength: MAX_NAME_LENGTH,
  pattern: "^[a-zA-Z0-9._-]+$",
  // Modal reserves `ap-` + 22 alphanumerics for object ids.
  not: { pattern: "^ap-[a-zA-Z0-9]{22}$" },
} as const;

/** Environment and workspace names share one rule. */
export const scopeNameSchema = {
  type: "string",
  minLength: 1,
  maxLength: MAX_NAME_LENGTH,
  pattern: "^[a-zA-Z0-9][a-zA-Z0-9._-]*$",
  // Modal reserves `en-` (any case) for environment ids.
  not: { pattern: "^[eE][nN]-" },
} as const;

export const keySchema = {
  type: "string",
  minLength: 1,
  maxLength: MAX_KEY_LENGTH,
  pattern: KEY_PATTERN,
} as const;

/** A secret's full contents: every key valid, every value a string within the limit. */
export const entriesSchema = {
  type: "object",
  propertyNames: keySchema,
  additionalProperties: { type: "string", maxLength: MAX_VALUE_LENGTH },
} as const;

/** An `update` change set: a string sets a key, `null` removes it. */
export const changesSchema = {
  type: "object",
  propertyNames: keySchema,
  additionalProperties: {
    anyOf: [{ type: "string", maxLength: MAX_VALUE_LENGTH }, { type: "null" }],
  },
} as const;

export const listOptionsSchema = {
  type: "object",
  properties: {
    maxObjects: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    createdBefore: {
      anyOf: [
        { type: "string", format: "date-time" },
        { type: "string", format: "date" },
      ],
    },
    environment: scopeNameSchema,
  },
} as const;

/**
 * The naming and value rules as JSON Schema 2020-12, for documents that must state them (the HTTP
 * API's OpenAPI document embeds these): the very objects core validates with, so the two cannot
 * drift. Per-secret limits (`maxKeys`, `maxBytes`) are options of a manager, not schema rules.
 */
export const RULE_SCHEMAS = Object.freeze({
  /** A secret name. */
  secretName: secretNameSchema,
  /** An environment (or workspace) name. */
  environmentName: scopeNameSchema,
  /** A key of a secret (an environment variable name). */
  key: keySchema,
  /** A value of a secret. */
  value: entriesSchema.additionalProperties,
});

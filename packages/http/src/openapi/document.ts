/**
 * The OpenAPI 3.1 document of the API: the seed's (Modal's Secrets API: `listSecrets`,
 * `createSecret`, `getSecret`, `deleteSecret`, the `Secret` and `SecretCreate` schemas, bearer
 * tokens), extended with what envkeep adds (`updateSecret`, pagination, version and actors, the
 * error shape, the rules of names, keys and values). It is the source of truth: the app compiles
 * its request validators from it (`validators.ts`), serves it at `/v1/openapi.json`, and the
 * tests validate every response against it and generate their typed client from it.
 */
import { RULE_SCHEMAS } from "@envkeep/core";

/** `info.version` of the document. */
export const API_VERSION = "1.0.0";
/** `max_objects` when a list request gives none. */
export const DEFAULT_PAGE_SIZE = 100;
/** The largest `max_objects` a list request may ask for. */
export const MAX_PAGE_SIZE = 1000;

/** Every `error.code` a response can carry: core's codes, and INTERNAL for an unexpected failure. */
export const API_ERROR_CODES = [
  "INVALID",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "CONFLICT",
  "INTEGRITY",
  "STORE_UNAVAILABLE",
  "INTERNAL",
] as const;

/** An `error.code` of a response. */
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const response = (name: string) => ({ $ref: `#/components/responses/${name}` });
const parameter = (name: string) => ({ $ref: `#/components/parameters/${name}` });

const errorResponse = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/json": { schema: ref("Error") } },
});

const secretResponse = (description: string, headers: Record<string, unknown>) => ({
  description,
  headers,
  content: { "application/json": { schema: ref("Secret") } },
});

const etag = { ETag: { $ref: "#/components/headers/ETag" } };

/** Errors every authenticated operation can answer with. */
const commonErrors = {
  "400": response("Invalid"),
  "401": response("Unauthorized"),
  "403": response("Forbidden"),
  "500": response("Internal"),
  "503": response("Unavailable"),
};

/** Errors of operations that read a JSON body. */
const bodyErrors = {
  "413": response("TooLarge"),
  "415": response("UnsupportedMediaType"),
};

const clone = <T>(schema: T): T => structuredClone(schema) as T;

/**
 * A fresh copy of the API's OpenAPI 3.1 document (a plain JSON object). This is what
 * `GET /v1/openapi.json` serves.
 *
 * @example
 * ```ts
 * import { apiDocument } from "@envkeep/http";
 * writeFileSync("openapi.json", JSON.stringify(apiDocument(), null, 2));
 * ```
 */
export function apiDocument() {
  return {
    openapi: "3.1.0",
    info: {
      title: "envkeep Secrets API",
      version: API_VERSION,
      description:
        "Encrypted, named bundles of environment variables, scoped to a workspace and an " +
        "environment: the HTTP API of envkeep, after Modal's Secrets API. Values are never " +
        "returned by any route: only names, key names and metadata. Every route but this " +
        "document needs a bearer token (`envkeep token create`); a token belongs to the " +
        "server's workspace, has a scope (read, write or admin) and may be limited to some " +
        "environments.",
    },
    servers: [{ url: "/v1" }],
    tags: [
      { name: "Secrets", description: "Encrypted environment-variable secrets." },
      { name: "Session", description: "What a token may know of itself." },
    ],
    paths: {
      "/secrets": {
        get: {
          tags: ["Secrets"],
          summary: "List Secrets",
          description:
            "Secrets of one environment, newest first (ties by name), without values. " +
            "Needs scope `read` on the environment. When `next_cursor` is present, pass it " +
            "back as `cursor` for the next page. A record that fails its integrity check is " +
            "left out.",
          operationId: "listSecrets",
          parameters: [
            parameter("Environment"),
            parameter("MaxObjects"),
            parameter("CreatedBefore"),
            parameter("Cursor"),
          ],
          responses: {
            "200": {
              description: "A page of secrets.",
              content: { "application/json": { schema: ref("SecretList") } },
            },
            ...commonErrors,
          },
        },
        post: {
          tags: ["Secrets"],
          summary: "Create Secret",
          description:
            "Creates a secret (scope `write` on its environment). When the name is taken: " +
            '409, unless `if_exists` is `"skip"` (keep the stored secret: 200) or ' +
            '`"overwrite"` (replace its contents, same `secret_id`, next `version`: 200).',
          operationId: "createSecret",
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref("SecretCreate") } },
          },
          responses: {
            "201": secretResponse("Secret created.", {
              ...etag,
              Location: { $ref: "#/components/headers/Location" },
            }),
            "200": secretResponse(
              "The name was taken and `if_exists` kept (`skip`) or replaced (`overwrite`) it.",
              etag,
            ),
            ...commonErrors,
            "409": response("AlreadyExists"),
            ...bodyErrors,
          },
        },
      },
      "/secrets/{secret_name}": {
        parameters: [parameter("SecretName"), parameter("Environment")],
        get: {
          tags: ["Secrets"],
          summary: "Get Secret",
          description:
            "Get a Secret's metadata. Values are never returned. Needs scope `read` on the " +
            "environment.",
          operationId: "getSecret",
          responses: {
            "200": secretResponse("Secret metadata.", etag),
            ...commonErrors,
            "404": response("NotFound"),
          },
        },
        patch: {
          tags: ["Secrets"],
          summary: "Update Secret",
          description:
            "Merges changes into a secret like `dict.update`: a string sets a key, `null` " +
            "removes it, other keys are kept. Concurrent updates never lose a change. With " +
            '`If-Match: "<version>"` it is a check-and-set: 412 when the secret is at another ' +
            "version. An update that changes nothing keeps the version. Needs scope `write`.",
          operationId: "updateSecret",
          parameters: [parameter("IfMatch")],
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref("SecretUpdate") } },
          },
          responses: {
            "200": secretResponse("The secret after the update.", etag),
            ...commonErrors,
            "404": response("NotFound"),
            "409": response("Conflict"),
            "412": response("PreconditionFailed"),
            ...bodyErrors,
          },
        },
        delete: {
          tags: ["Secrets"],
          summary: "Delete Secret",
          description: "Deletes a secret, irreversibly. Needs scope `write`.",
          operationId: "deleteSecret",
          responses: {
            "204": { description: "Secret deleted." },
            ...commonErrors,
            "404": response("NotFound"),
          },
        },
      },
      "/secrets/{secret_name}/versions": {
        parameters: [parameter("SecretName"), parameter("Environment")],
        get: {
          tags: ["Secrets"],
          summary: "List Secret Versions",
          description:
            "The kept versions of a secret, newest first, the current one included: each one's " +
            "number, time, actor, key names and which keys it added, changed and removed. " +
            "Never values. An old version that fails its integrity check is left out. Needs " +
            "scope `read` on the environment.",
          operationId: "listSecretVersions",
          responses: {
            "200": {
              description: "The kept versions.",
              content: { "application/json": { schema: ref("SecretVersionList") } },
            },
            ...commonErrors,
            "404": response("NotFound"),
          },
        },
      },
      "/secrets/{secret_name}/rollback": {
        parameters: [parameter("SecretName"), parameter("Environment")],
        post: {
          tags: ["Secrets"],
          summary: "Roll Back Secret",
          description:
            "Writes the contents of a kept version as the next version (version 8 = contents " +
            'of 3); the version it replaces is kept in turn. With `If-Match: "<version>"` it is a ' +
            "check-and-set: 412 when the secret is at another version. Rolling back to the " +
            "contents it already holds changes nothing. 404 when the version is not kept. " +
            "Needs scope `write`.",
          operationId: "rollbackSecret",
          parameters: [parameter("IfMatch")],
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref("SecretRollback") } },
          },
          responses: {
            "200": secretResponse("The secret after the rollback.", etag),
            ...commonErrors,
            "404": response("NotFound"),
            "409": response("Conflict"),
            "412": response("PreconditionFailed"),
            ...bodyErrors,
          },
        },
      },
      "/token": {
        get: {
          tags: ["Session"],
          summary: "Get Access Token",
          description:
            "The caller's own token: its id, name, scope, environments and expiry. Never the token. " +
            "Needs scope `read`.",
          operationId: "getAccessToken",
          responses: {
            "200": {
              description: "The token that made this request.",
              content: { "application/json": { schema: ref("AccessToken") } },
            },
            ...commonErrors,
          },
        },
      },
      "/environments": {
        get: {
          tags: ["Session"],
          summary: "List Environments",
          description:
            "The environments the token may use: those it is limited to, or, for a token of every " +
            "environment, those of the workspace that hold (or held) secrets. `default` is the " +
            "environment calls use when they name none. Needs scope `read`.",
          operationId: "listEnvironments",
          responses: {
            "200": {
              description: "Environment names, sorted.",
              content: { "application/json": { schema: ref("EnvironmentList") } },
            },
            ...commonErrors,
          },
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document",
          description: "The OpenAPI document of this API. Needs no token.",
          operationId: "getOpenApiDocument",
          security: [],
          responses: {
            "200": {
              description: "The document.",
              content: { "application/json": { schema: { type: "object" } } },
            },
            "500": response("Internal"),
          },
        },
      },
    },
    components: {
      schemas: {
        SecretName: {
          ...clone(RULE_SCHEMAS.secretName),
          description:
            'use 1-64 letters, digits, ".", "_" or "-" (and not "ap-" followed by 22 letters or digits)',
        },
        EnvironmentName: {
          ...clone(RULE_SCHEMAS.environmentName),
          description:
            'use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (and not "en-")',
        },
        Key: {
          ...clone(RULE_SCHEMAS.key),
          description: `keys match ${RULE_SCHEMAS.key.pattern} and have at most ${RULE_SCHEMAS.key.maxLength} characters`,
        },
        Value: {
          ...clone(RULE_SCHEMAS.value),
          description: `values are strings of at most ${RULE_SCHEMAS.value.maxLength} characters`,
        },
        Env: {
          type: "object",
          description:
            "an object of KEY: value strings (at most 1,000 keys and 1 MiB in all, unless the server says otherwise)",
          propertyNames: ref("Key"),
          additionalProperties: ref("Value"),
        },
        EnvChanges: {
          type: "object",
          description: "an object of KEY: a string to set it, or null to remove it",
          propertyNames: ref("Key"),
          additionalProperties: {
            type: ["string", "null"],
            maxLength: RULE_SCHEMAS.value.maxLength,
            description: `use a string of at most ${RULE_SCHEMAS.value.maxLength} characters to set it, or null to remove it`,
          },
        },
        Secret: {
          type: "object",
          description: "A secret's metadata. Never its values.",
          required: [
            "secret_id",
            "name",
            "environment",
            "created_at",
            "updated_at",
            "keys",
            "version",
          ],
          additionalProperties: false,
          properties: {
            secret_id: {
              type: "string",
              pattern: "^st-[A-Za-z0-9_-]+$",
              description: "Stable id; a new one after delete and create.",
            },
            name: ref("SecretName"),
            environment: ref("EnvironmentName"),
            created_at: { type: "string", format: "date-time" },
            updated_at: { type: "string", format: "date-time" },
            keys: {
              type: "array",
              items: { type: "string" },
              description: "Key names, sorted.",
            },
            version: {
              type: "integer",
              minimum: 1,
              description: "1 on create, +1 on every change of contents; the ETag.",
            },
            created_by: { type: "string", description: "Who created it, when known." },
            updated_by: { type: "string", description: "Who changed it last, when known." },
          },
        },
        SecretList: {
          type: "object",
          required: ["data"],
          additionalProperties: false,
          properties: {
            data: { type: "array", items: ref("Secret") },
            next_cursor: {
              type: "string",
              description: "Present when there may be more: pass it as `cursor`.",
            },
          },
        },
        SecretCreate: {
          type: "object",
          description:
            "A new secret: its contents as `env`, or as the text of a .env file (`dotenv`).",
          required: ["name"],
          oneOf: [
            { required: ["env"], properties: { env: ref("Env") } },
            { required: ["dotenv"], properties: { dotenv: { type: "string" } } },
          ],
          additionalProperties: false,
          properties: {
            name: ref("SecretName"),
            environment: ref("EnvironmentName"),
            env: ref("Env"),
            dotenv: {
              type: "string",
              maxLength: 1_048_576,
              description:
                "the contents as .env text, read by the rules of Secret.fromDotenv; a $VAR reference sees only the text's own earlier keys",
            },
            if_exists: {
              type: "string",
              enum: ["fail", "skip", "overwrite"],
              description:
                'what to do when the name is taken: "fail" (409, the default), "skip" (keep it) or "overwrite" (replace its contents)',
            },
          },
        },
        SecretUpdate: {
          type: "object",
          required: ["env"],
          additionalProperties: false,
          properties: { env: ref("EnvChanges") },
        },
        SecretVersion: {
          type: "object",
          description: "One kept version of a secret. Never its values.",
          required: ["version", "updated_at", "keys"],
          additionalProperties: false,
          properties: {
            version: { type: "integer", minimum: 1 },
            updated_at: { type: "string", format: "date-time" },
            updated_by: { type: "string", description: "Who wrote it, when known." },
            keys: { type: "array", items: { type: "string" }, description: "Key names, sorted." },
            change: {
              type: "object",
              description:
                "Which keys it added, changed and removed against the version before it; absent when that one is no longer kept.",
              required: ["added", "changed", "removed"],
              additionalProperties: false,
              properties: {
                added: { type: "array", items: { type: "string" } },
                changed: { type: "array", items: { type: "string" } },
                removed: { type: "array", items: { type: "string" } },
              },
            },
          },
        },
        SecretVersionList: {
          type: "object",
          required: ["data"],
          additionalProperties: false,
          properties: {
            data: { type: "array", items: ref("SecretVersion"), description: "Newest first." },
          },
        },
        SecretRollback: {
          type: "object",
          required: ["version"],
          additionalProperties: false,
          properties: {
            version: {
              type: "integer",
              minimum: 1,
              maximum: Number.MAX_SAFE_INTEGER,
              description: "use the number of a kept version (1, 2, …) whose contents to restore",
            },
          },
        },
        AccessToken: {
          type: "object",
          description: "A token's facts. Never the token.",
          required: ["id", "name", "scope", "environments", "created_at"],
          additionalProperties: false,
          properties: {
            id: { type: "string", pattern: "^[0-9a-f]{16}$" },
            name: { type: "string" },
            scope: { type: "string", enum: ["read", "write", "admin"] },
            environments: {
              type: ["array", "null"],
              items: ref("EnvironmentName"),
              description: "The environments it may use, or null for all.",
            },
            created_at: { type: "string", format: "date-time" },
            expires_at: { type: "string", format: "date-time" },
          },
        },
        EnvironmentList: {
          type: "object",
          required: ["data", "default"],
          additionalProperties: false,
          properties: {
            data: { type: "array", items: ref("EnvironmentName") },
            default: ref("EnvironmentName"),
          },
        },
        Error: {
          type: "object",
          required: ["error"],
          additionalProperties: false,
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              additionalProperties: false,
              properties: {
                code: { type: "string", enum: [...API_ERROR_CODES] },
                message: {
                  type: "string",
                  description: "For people; names the secret, key or parameter, never a value.",
                },
              },
            },
          },
        },
      },
      parameters: {
        SecretName: {
          name: "secret_name",
          in: "path",
          required: true,
          description:
            'a secret name: use 1-64 letters, digits, ".", "_" or "-" (and not "ap-" followed by 22 letters or digits)',
          schema: ref("SecretName"),
        },
        Environment: {
          name: "environment",
          in: "query",
          required: false,
          description:
            'an environment name: use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit, not "en-" (default: the server\'s environment)',
          schema: ref("EnvironmentName"),
        },
        MaxObjects: {
          name: "max_objects",
          in: "query",
          required: false,
          description: `how many to return at most: an integer from 0 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})`,
          schema: {
            type: "integer",
            minimum: 0,
            maximum: MAX_PAGE_SIZE,
            default: DEFAULT_PAGE_SIZE,
          },
        },
        CreatedBefore: {
          name: "created_before",
          in: "query",
          required: false,
          description:
            "an RFC 3339 date-time or a date (YYYY-MM-DD): only secrets created strictly before it are listed",
          schema: {
            type: "string",
            anyOf: [
              { type: "string", format: "date-time" },
              { type: "string", format: "date" },
            ],
          },
        },
        Cursor: {
          name: "cursor",
          in: "query",
          required: false,
          description: "the next_cursor of a previous page, passed back as it was",
          schema: { type: "string", minLength: 1, maxLength: 300 },
        },
        IfMatch: {
          name: "If-Match",
          in: "header",
          required: false,
          description:
            'one ETag of this API, "<version>" (or *): apply the update only at that version',
          schema: { type: "string" },
        },
      },
      headers: {
        ETag: {
          required: true,
          description: 'The secret\'s version, quoted: "3". Send it back as If-Match.',
          schema: { type: "string", pattern: '^"[1-9][0-9]*"$' },
        },
        Location: {
          required: true,
          description: "Where the new secret is: /v1/secrets/{name}?environment={environment}",
          schema: { type: "string" },
        },
        WWWAuthenticate: {
          required: true,
          description: 'Bearer realm="envkeep", with error="invalid_token" for a bad token.',
          schema: { type: "string" },
        },
        RetryAfter: {
          required: true,
          description: "Seconds to wait before trying again.",
          schema: { type: "integer", minimum: 0 },
        },
      },
      responses: {
        Invalid: errorResponse(
          "Invalid input: malformed JSON, a name, key, value or parameter outside the rules, an unknown field (INVALID).",
        ),
        Unauthorized: errorResponse(
          "No token, or an unknown, revoked or expired one (UNAUTHORIZED).",
          {
            "WWW-Authenticate": { $ref: "#/components/headers/WWWAuthenticate" },
          },
        ),
        Forbidden: errorResponse(
          "The token lacks the scope or the environment this needs (FORBIDDEN). Never depends on whether the secret exists.",
        ),
        NotFound: errorResponse("No secret of that name in that environment (NOT_FOUND)."),
        AlreadyExists: errorResponse("A secret of that name exists (ALREADY_EXISTS)."),
        Conflict: errorResponse(
          "Other writers kept changing the secret; nothing was applied (CONFLICT). Retry.",
        ),
        PreconditionFailed: errorResponse(
          "If-Match named another version than the stored one (CONFLICT); nothing was applied.",
        ),
        TooLarge: errorResponse("The request body is larger than the server accepts (INVALID)."),
        UnsupportedMediaType: errorResponse("The request body is not application/json (INVALID)."),
        Internal: errorResponse(
          "A stored record failed its integrity check (INTEGRITY), or an unexpected failure (INTERNAL).",
        ),
        Unavailable: errorResponse("The store is unavailable (STORE_UNAVAILABLE); try again.", {
          "Retry-After": { $ref: "#/components/headers/RetryAfter" },
        }),
      },
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "ekt_<id>_<secret>",
          description: "An access token of the server's workspace (`envkeep token create`).",
        },
      },
    },
    security: [{ bearerAuth: [] }],
  };
}

/** The type of the document {@link apiDocument} returns. */
export type ApiDocument = ReturnType<typeof apiDocument>;

/**
 * `@envkeep/http`: the envkeep HTTP API as a Hono app any host can mount (`createApi`), its
 * OpenAPI document (`apiDocument`), and the access-log entry and line it produces.
 */
export { type ApiOptions, createApi, DEFAULT_API_CACHE, type EnvkeepApi } from "./app.js";
export type { ApiEnv } from "./context.js";
export { HttpError, STATUS_OF_CODE } from "./errors.js";
export { type AccessLogEntry, formatAccessLog } from "./middleware/access-log.js";
export type { TokenVerifier } from "./middleware/auth.js";
export {
  API_ERROR_CODES,
  API_VERSION,
  type ApiDocument,
  type ApiErrorCode,
  apiDocument,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
} from "./openapi/document.js";
export { DEFAULT_BODY_LIMIT } from "./request/json-body.js";
export type { SecretJson } from "./secret-json.js";

export type { AuditAction, AuditEvent, AuditOptions } from "./audit.js";
export type { CacheOptions } from "./cache/record-cache.js";
export { Keyring, type KeyringOptions } from "./crypto/keyring.js";
export {
  generateMasterKey,
  type MasterKey,
  type MasterKeyInput,
  masterKeyId,
  parseMasterKey,
} from "./crypto/master-key.js";
export type { DotenvOptions } from "./dotenv/load-dotenv.js";
export { type ParseDotenvOptions, parseDotenv } from "./dotenv/parse-dotenv.js";
export { DEFAULT_ENVIRONMENT, DEFAULT_WORKSPACE, resolveEnvironment } from "./environment.js";
export {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  IntegrityError,
  InvalidError,
  isSecretsError,
  NotFoundError,
  SecretsError,
  type SecretsErrorCode,
  StoreError,
  UnauthorizedError,
  UnknownKeyError,
} from "./errors.js";
export type { SecretInfo } from "./info.js";
export type { KeyStatus } from "./key-status.js";
export {
  type CreateOptions,
  type DeleteOptions,
  type FromNameOptions,
  type IfExists,
  type ListOptions,
  type OpenOptions,
  type ResolveOptions,
  type RollbackOptions,
  SecretManager,
  type SecretManagerOptions,
  type UpdateOptions,
  type VersionsOptions,
} from "./manager.js";
export {
  type DamagedVersion,
  DEFAULT_MAX_VERSIONS,
  type SecretVersion,
  type VersionChange,
} from "./records/history.js";
export type { DamagedSecret } from "./records/listing.js";
export {
  listUnverified,
  type UnverifiedListing,
  type UnverifiedSecretInfo,
  unverifiedInfo,
} from "./records/unverified.js";
export type { RotateOptions, RotationProgress, RotationReport } from "./rotation.js";
export type {
  EnvOrigin,
  ExplainedEnv,
  KeyExplanation,
} from "./run/explain.js";
export { inheritedEnvironment, withheldVariables } from "./run/inherited-environment.js";
export type { ProcessExit, RunOptions, SpawnedProcess, SpawnOptions } from "./run/spawn.js";
export { Secret, type SecretOrigin } from "./secret.js";
export type {
  ChangeListener,
  ChangeWatch,
  HistoryQuery,
  HistoryWrite,
  ListCursor,
  ListQuery,
  ReplaceOptions,
  SecretRef,
  SecretScope,
  SecretStore,
  StoreChanges,
  StoredEntry,
  StoredRecord,
  UnreadableRecord,
} from "./store.js";
export { isUnreadable } from "./store.js";
export {
  DEFAULT_STORE_URL,
  type OpenStoreOptions,
  openStore,
  parseStoreUrl,
  redactStoreUrl,
  resolveStoreUrl,
  type StoreLocation,
  storeUrlHoldsCredentials,
} from "./store-url.js";
export {
  checkSecretTemplate,
  getSecretTemplate,
  SECRET_TEMPLATES,
  type SecretTemplate,
} from "./templates.js";
export {
  type AccessTokenInfo,
  AccessTokens,
  type CreatedToken,
  type CreateTokenOptions,
  TOKEN_CACHE_MS,
  TOKEN_ENVIRONMENT,
  type TokenScope,
} from "./tokens/access-tokens.js";
export { RULE_SCHEMAS } from "./validation/schemas.js";
export {
  assertEnvironmentName,
  assertKey,
  assertSecretName,
  assertWorkspaceName,
  type SecretLimits,
} from "./validation/validate.js";

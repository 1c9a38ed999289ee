export { Keyring, type KeyringOptions } from "./crypto/keyring.js";
export {
  generateMasterKey,
  type MasterKey,
  type MasterKeyInput,
  masterKeyId,
  parseMasterKey,
} from "./crypto/master-key.js";
export type { DotenvOptions } from "./dotenv/load-dotenv.js";
export { DEFAULT_ENVIRONMENT, DEFAULT_WORKSPACE, resolveEnvironment } from "./environment.js";
export {
  AlreadyExistsError,
  ConflictError,
  IntegrityError,
  InvalidError,
  isSecretsError,
  NotFoundError,
  SecretsError,
  type SecretsErrorCode,
  StoreError,
} from "./errors.js";
export type { SecretInfo } from "./info.js";
export {
  type CreateOptions,
  type DeleteOptions,
  type FromNameOptions,
  type IfExists,
  type ListOptions,
  type ResolveOptions,
  type RotateOptions,
  type RotationProgress,
  type RotationReport,
  SecretManager,
  type SecretManagerOptions,
  type UpdateOptions,
} from "./manager.js";
export { Secret, type SecretOrigin } from "./secret.js";
export type {
  ListCursor,
  ListQuery,
  SecretRef,
  SecretScope,
  SecretStore,
  StoredRecord,
} from "./store.js";
export {
  assertEnvironmentName,
  assertKey,
  assertSecretName,
  assertWorkspaceName,
  type SecretLimits,
} from "./validation/validate.js";

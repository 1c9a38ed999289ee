/**
 * The one error hierarchy of envkeep. Every error the library throws is a {@link SecretsError};
 * `code` is stable and meant for programs, `message` for people. No message ever contains a
 * secret value: messages name secrets, environments and keys only.
 */

/** Stable machine-readable error codes. */
export type SecretsErrorCode =
  | "INVALID"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "CONFLICT"
  | "INTEGRITY"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "STORE_UNAVAILABLE";

/** Base class of every envkeep error. */
export class SecretsError extends Error {
  /** Stable machine-readable code. */
  readonly code: SecretsErrorCode;

  constructor(code: SecretsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input: a name, key, value, option or master key that breaks a rule. Nothing was stored. */
export class InvalidError extends SecretsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID", message, options);
  }
}

/** A named secret, or a required key of one, does not exist. */
export class NotFoundError extends SecretsError {
  /**
   * The secret that was looked for, when the error is about a missing secret (not a missing key
   * or token): lets a caller list its environment and suggest a close name.
   */
  readonly secret?: { workspace: string; environment: string; name: string };

  constructor(
    message: string,
    options?: {
      cause?: unknown;
      secret?: { workspace: string; environment: string; name: string };
    },
  ) {
    super("NOT_FOUND", message, options);
    if (options?.secret) {
      const { workspace, environment, name } = options.secret;
      this.secret = { workspace, environment, name };
    }
  }
}

/** `create` with `ifExists: "fail"` found a secret of that name already. */
export class AlreadyExistsError extends SecretsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ALREADY_EXISTS", message, options);
  }
}

/** A check-and-set (`ifVersion`) saw another version than expected. */
export class ConflictError extends SecretsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONFLICT", message, options);
  }
}

/**
 * A stored record failed authentication: tampered, truncated, moved to another identity, or
 * sealed under a master key this manager does not hold. Other secrets stay readable.
 */
export class IntegrityError extends SecretsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("INTEGRITY", message, options);
  }
}

/**
 * An `IntegrityError` of a record sealed under a master key this manager does not hold: the
 * record may be intact, and readable with the right key.
 */
export class UnknownKeyError extends IntegrityError {
  /** Id of the master key the record names (not secret). */
  readonly keyId: string;
  /** The secret whose record it is, when known. */
  readonly secret?: { workspace: string; environment: string; name: string };
  /** Ids of the master keys the manager does hold (not secret). */
  readonly heldKeyIds: readonly string[];

  constructor(
    message: string,
    keyId: string,
    details: {
      secret?: { workspace: string; environment: string; name: string };
      heldKeyIds?: readonly string[];
    } = {},
  ) {
    super(message);
    this.keyId = keyId;
    if (details.secret) {
      const { workspace, environment, name } = details.secret;
      this.secret = { workspace, environment, name };
    }
    this.heldKeyIds = [...(details.heldKeyIds ?? [])];
  }
}

/** An access token is missing, malformed, unknown, revoked or expired. Never names the token. */
export class UnauthorizedError extends SecretsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("UNAUTHORIZED", message, options);
  }
}

/** A valid access token lacks the scope or the environment a call needs. */
export class ForbiddenError extends SecretsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("FORBIDDEN", message, options);
  }
}

/** The storage backend failed or could not be reached; the backend's error is `cause`. */
export class StoreError extends SecretsError {
  /** Name of the store that failed (`"sqlite"`, `"redis"`, …). */
  readonly store: string;

  constructor(store: string, message: string, options?: { cause?: unknown }) {
    super("STORE_UNAVAILABLE", `[${store}] ${message}`, options);
    this.store = store;
  }
}

/** True when `error` is an envkeep error (of any subclass). */
export function isSecretsError(error: unknown): error is SecretsError {
  return error instanceof SecretsError;
}

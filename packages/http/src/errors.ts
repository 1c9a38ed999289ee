/**
 * Errors as the API answers them: JSON `{ "error": { "code", "message" } }` with core's codes,
 * and the HTTP status of each. Messages come from core (which never puts a value in one) or are
 * written here; an unexpected error gets a generic message, and only its class is logged.
 */
import { isSecretsError, type SecretsErrorCode } from "@envkeep/core";
import type { ApiErrorCode } from "./openapi/document.js";

/** An error the API answers with a status of its own (413, 415, 404 of a route, 405…). */
export class HttpError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: ApiErrorCode,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** The HTTP status of each core error code. */
export const STATUS_OF_CODE: Readonly<Record<SecretsErrorCode, number>> = {
  INVALID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  // An If-Match mismatch is answered 412 by the update route; a CONFLICT anywhere else means
  // other writers kept winning the compare-and-set.
  CONFLICT: 409,
  // A damaged record is the server's problem, not the caller's.
  INTEGRITY: 500,
  STORE_UNAVAILABLE: 503,
};

/** `WWW-Authenticate` of a 401 (RFC 6750). */
export function bearerChallenge(tokenGiven: boolean): string {
  return tokenGiven ? 'Bearer realm="envkeep", error="invalid_token"' : 'Bearer realm="envkeep"';
}

/** How the API answers one error, and what the access log says of it. */
export interface ErrorReply {
  status: number;
  code: ApiErrorCode;
  message: string;
  headers: Record<string, string>;
  /** For the access log: the code, and for an unexpected error its class (never a message). */
  logged: string;
}

/** Longest message sent: core's messages quote names, cut at 80 characters, but stay bounded. */
const MAX_MESSAGE_LENGTH = 1000;

const bounded = (message: string) =>
  message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}…` : message;

/** A class name fit for a log line, or "Error". */
function className(error: unknown): string {
  const name = error instanceof Error ? error.constructor.name : typeof error;
  return /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? name : "Error";
}

/**
 * How the API answers `error`: the status and code of an {@link HttpError} or of core's error
 * code; a 503 with `Retry-After` for a store outage; a 500 with a generic message for anything
 * else (an integrity failure included: its details are for the operator, not the caller).
 */
export function errorReply(error: unknown, options: { retryAfterSeconds: number }): ErrorReply {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      code: error.code,
      message: bounded(error.message),
      headers: { ...error.headers },
      logged: error.code,
    };
  }
  if (isSecretsError(error)) {
    const status = STATUS_OF_CODE[error.code] ?? 500;
    switch (error.code) {
      case "STORE_UNAVAILABLE":
        return {
          status,
          code: error.code,
          message: "the store is unavailable; try again later",
          headers: { "Retry-After": String(options.retryAfterSeconds) },
          logged: error.code,
        };
      case "INTEGRITY":
        return {
          status,
          code: error.code,
          message: "a stored record failed its integrity check; it cannot be served",
          headers: {},
          logged: error.code,
        };
      case "UNAUTHORIZED":
        return {
          status,
          code: error.code,
          message: bounded(error.message),
          headers: { "WWW-Authenticate": bearerChallenge(true) },
          logged: error.code,
        };
      default:
        return {
          status,
          code: error.code,
          message: bounded(error.message),
          headers: {},
          logged: error.code,
        };
    }
  }
  return {
    status: 500,
    code: "INTERNAL",
    message: "internal error",
    headers: {},
    logged: `INTERNAL:${className(error)}`,
  };
}

/**
 * What the app's parts share: the Hono environment (values set on a request's context) and the
 * configuration every route group is built with.
 */
import type { AccessTokenInfo, SecretManager } from "@envkeep/core";
import type { TokenVerifier } from "./middleware/auth.js";

/** The Hono environment of the API's app. */
export interface ApiEnv {
  Variables: {
    /** The verified token of the request, once `requireToken` has run. */
    caller: AccessTokenInfo | undefined;
    /** The error the request ended with, for the access log (a code, never a message). */
    failure: string | undefined;
  };
}

/** The configuration of the route groups. */
export interface ApiContext {
  manager: SecretManager;
  tokens: TokenVerifier;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
}

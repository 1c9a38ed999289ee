/**
 * Bearer tokens: `requireToken(tokens, scope)` verifies the `Authorization: Bearer` token of a
 * request (401 with `WWW-Authenticate: Bearer` when it is missing, malformed, unknown, revoked or
 * expired) and checks its scope (403) before the route reads anything; `authorizeEnvironment`
 * checks the environment the route will use, again before the store is touched — so a 403 never
 * depends on whether a secret exists. The token itself never reaches a message or a log.
 */
import type { AccessTokenInfo, AccessTokens, TokenScope } from "@envkeep/core";
import type { Context, MiddlewareHandler } from "hono";
import type { ApiEnv } from "../context.js";
import { bearerChallenge, HttpError } from "../errors.js";

/**
 * What the API needs of a token store: core's `AccessTokens` (`manager.tokens`), or anything
 * that verifies and authorizes the same way.
 */
export type TokenVerifier = Pick<AccessTokens, "verify" | "authorize">;

const BEARER = /^Bearer +([^\s]+) *$/i;

/** Verifies the request's bearer token and checks that its scope reaches `scope`. */
export function requireToken(tokens: TokenVerifier, scope: TokenScope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined || header.trim() === "") {
      throw new HttpError(
        401,
        "UNAUTHORIZED",
        "missing access token: send Authorization: Bearer <token>",
        { "WWW-Authenticate": bearerChallenge(false) },
      );
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      throw new HttpError(401, "UNAUTHORIZED", "the Authorization header must be Bearer <token>", {
        "WWW-Authenticate": bearerChallenge(true),
      });
    }
    const caller = await tokens.verify(token);
    c.set("caller", caller);
    tokens.authorize(caller, { scope });
    await next();
  };
}

/** Checks that the request's token may use `environment` with `scope`. */
export function authorizeEnvironment(
  c: Context<ApiEnv>,
  tokens: TokenVerifier,
  scope: TokenScope,
  environment: string,
): AccessTokenInfo {
  const caller = c.get("caller");
  if (!caller) throw new Error("authorizeEnvironment runs after requireToken");
  tokens.authorize(caller, { scope, environment });
  return caller;
}

/**
 * `createApi`: the envkeep HTTP API as a Hono app. It composes, in order: the access log, the
 * response headers every answer carries, the route groups under `/v1` (secrets, the document),
 * and the error mapping (`errors.ts`) for whatever any of them throws.
 */
import { type CacheOptions, InvalidError, type SecretManager } from "@envkeep/core";
import { dashboard } from "@envkeep/dashboard";
import { type Context, Hono } from "hono";
import type { ApiContext, ApiEnv } from "./context.js";
import { errorReply, HttpError } from "./errors.js";
import { API_HEADERS, carriesApiHeaders } from "./json-reply.js";
import { type AccessLogEntry, accessLog } from "./middleware/access-log.js";
import type { TokenVerifier } from "./middleware/auth.js";
import { DEFAULT_BODY_LIMIT } from "./request/json-body.js";
import { openApiRoutes } from "./routes/openapi.js";
import { secretRoutes } from "./routes/secrets.js";
import { sessionRoutes } from "./routes/session.js";

/** Options of {@link createApi}. */
export interface ApiOptions {
  /** The secrets the API serves: its workspace, and its default environment. */
  manager: SecretManager;
  /** Who may call: verifies bearer tokens and checks scopes. @default manager.tokens */
  tokens?: TokenVerifier;
  /** Largest request body accepted, in bytes (413 past it). @default 2097152 (2 MiB) */
  bodyLimit?: number;
  /** Called once per request with its entry (never a value or a token). @default none */
  accessLog?: (entry: AccessLogEntry) => void;
  /** `Retry-After` of a 503 (store unavailable), in seconds. @default 1 */
  retryAfterSeconds?: number;
  /**
   * Also serve the dashboard (`@envkeep/dashboard`): a page at `/` that manages secrets through
   * this API, signed in with a token. @default false
   */
  dashboard?: boolean;
  /**
   * The cache the API reads through (`SecretManager`'s `cache` option, on a manager sharing
   * `manager`'s store and keys): a repeated `GET /v1/secrets/{name}` of an unchanged secret is
   * served from memory, and a write through this API, through `manager`, or by another process
   * on the store is seen at the next read (Redis: within 100 ms). `false` reads the store every
   * time. A `manager` whose cache is already on is used as it is. Off where the store has no
   * change feed. @default { ttlMs: 5000 }
   */
  cache?: CacheOptions | false;
}

/** The API's cache when `createApi` is not told otherwise. */
export const DEFAULT_API_CACHE: CacheOptions = { ttlMs: 5_000 };

/** The API: a Hono app. `api.fetch(request)` answers a `Request` with a `Response`. */
export type EnvkeepApi = Hono<ApiEnv>;

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new InvalidError(`invalid ${name}: expected a non-negative integer`);
  }
  return value as number;
}

function checkOptions(options: ApiOptions) {
  if (!options || typeof options !== "object" || !options.manager) {
    throw new InvalidError("createApi needs { manager }: a SecretManager");
  }
  const tokens = options.tokens ?? options.manager.tokens;
  if (typeof tokens?.verify !== "function" || typeof tokens.authorize !== "function") {
    throw new InvalidError("invalid tokens: expected { verify, authorize } (manager.tokens)");
  }
  if (options.dashboard !== undefined && typeof options.dashboard !== "boolean") {
    throw new InvalidError("invalid dashboard: expected true or false");
  }
  if (options.accessLog !== undefined && typeof options.accessLog !== "function") {
    throw new InvalidError("invalid accessLog: expected a function");
  }
  const bodyLimit = positiveInteger(options.bodyLimit, "bodyLimit", DEFAULT_BODY_LIMIT);
  if (bodyLimit < 1) throw new InvalidError("invalid bodyLimit: expected at least 1 byte");
  const cache = options.cache ?? DEFAULT_API_CACHE;
  const manager =
    cache === false || options.manager.caching || typeof options.manager.withCache !== "function"
      ? options.manager
      : options.manager.withCache(cache);
  return {
    context: { manager, tokens, bodyLimit } satisfies ApiContext,
    retryAfterSeconds: positiveInteger(options.retryAfterSeconds, "retryAfterSeconds", 1),
  };
}

/**
 * The envkeep HTTP API for one manager (its workspace, its default environment), as a Hono app:
 * mount `api.fetch` in any host that speaks `Request`/`Response`.
 *
 * Routes, under `/v1`: `GET /secrets` (listSecrets), `POST /secrets` (createSecret),
 * `GET|PATCH|DELETE /secrets/{secret_name}` (getSecret, updateSecret, deleteSecret),
 * `GET /secrets/{secret_name}/versions` (listSecretVersions),
 * `POST /secrets/{secret_name}/rollback` (rollbackSecret) and
 * `GET /openapi.json`. Every route but the document needs a bearer token of the manager's
 * workspace (`manager.tokens.create(…)` or `envkeep token create`). Values are never returned.
 *
 * @throws {InvalidError} for bad options.
 * @example
 * ```ts
 * import { serve } from "@hono/node-server";
 * import { SecretManager } from "@envkeep/core";
 * import { createApi, formatAccessLog } from "@envkeep/http";
 *
 * const manager = await SecretManager.open({ store: "sqlite:./.envkeep/secrets.db" });
 * const api = createApi({ manager, accessLog: (entry) => console.error(formatAccessLog(entry)) });
 * serve({ fetch: api.fetch, port: 8787, hostname: "127.0.0.1" });
 * ```
 */
export function createApi(options: ApiOptions): EnvkeepApi {
  const { context, retryAfterSeconds } = checkOptions(options);
  const app = new Hono<ApiEnv>();

  if (options.accessLog) app.use("*", accessLog(options.accessLog));
  app.use("*", async (c, next) => {
    await next();
    // Answers built by jsonReply carry these already; every other one (errors, pages) gets them.
    if (carriesApiHeaders(c.res)) return;
    for (const [name, value] of Object.entries(API_HEADERS)) c.header(name, value);
  });

  app.route("/v1", secretRoutes(context));
  app.route("/v1", sessionRoutes(context));
  app.route("/v1", openApiRoutes());
  if (options.dashboard) app.route("/", dashboard());

  const answer = (c: Context<ApiEnv>, error: unknown) => {
    const reply = errorReply(error, { retryAfterSeconds });
    c.set("failure", reply.logged);
    return c.json({ error: { code: reply.code, message: reply.message } }, reply.status as 400, {
      ...reply.headers,
    });
  };
  app.notFound((c) => answer(c, new HttpError(404, "NOT_FOUND", "no such route")));
  app.onError((error, c) => answer(c, error));
  return app;
}

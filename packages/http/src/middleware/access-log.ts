/**
 * One access-log entry per request: method, route pattern (never the raw path: it holds names a
 * caller chose), status, duration and the verified token's id — never a value, a token or a
 * message.
 */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { ApiEnv } from "../context.js";

/** One request, as the access log sees it. */
export interface AccessLogEntry {
  /** When the request arrived. */
  time: Date;
  method: string;
  /** The route pattern, e.g. `/v1/secrets/{secret_name}`; `(no route)` when none matched. */
  route: string;
  status: number;
  /** Milliseconds from arrival to the response. */
  ms: number;
  /** Id of the verified token (public, 16 hex characters), if one was. */
  tokenId?: string;
  /** The error code of a failed request (`NOT_FOUND`, `INTERNAL:TypeError`…), if it failed. */
  error?: string;
}

/** The route pattern a request matched, in OpenAPI's notation. */
function routeOf(c: Context<ApiEnv>): string {
  const pattern = routePath(c, -1);
  if (pattern === "" || pattern.includes("*")) return "(no route)";
  return pattern.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

/** Calls `log` once per request, after the response is made. A throwing `log` is ignored. */
export function accessLog(log: (entry: AccessLogEntry) => void): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const time = new Date();
    const start = performance.now();
    await next();
    const entry: AccessLogEntry = {
      time,
      method: c.req.method,
      route: routeOf(c),
      status: c.res.status,
      ms: performance.now() - start,
    };
    const caller = c.get("caller");
    if (caller) entry.tokenId = caller.id;
    const failure = c.get("failure");
    if (failure) entry.error = failure;
    try {
      log(entry);
    } catch {
      // The log is the host's; a failing one must not fail the request.
    }
  };
}

/**
 * One line for an entry: `2026-01-02T03:04:05.678Z GET /v1/secrets/{secret_name} 200 1.9ms
 * token=0123456789abcdef` (`token=-` without one; ` error=CODE` when it failed).
 *
 * @example
 * ```ts
 * createApi({ manager, accessLog: (entry) => process.stderr.write(`${formatAccessLog(entry)}\n`) });
 * ```
 */
export function formatAccessLog(entry: AccessLogEntry): string {
  return [
    entry.time.toISOString(),
    entry.method,
    entry.route,
    String(entry.status),
    `${entry.ms.toFixed(1)}ms`,
    `token=${entry.tokenId ?? "-"}`,
    ...(entry.error ? [`error=${entry.error}`] : []),
  ].join(" ");
}

/**
 * What a caller may know about its own session, under `/v1`: `GET /token` (getAccessToken, the
 * caller's own token: id, name, scope, environments; never the token) and `GET /environments`
 * (listEnvironments, the environments the token may use). Both need scope `read`. The dashboard
 * signs in with them.
 */
import { resolveEnvironment } from "@envkeep/core";
import { Hono } from "hono";
import type { ApiContext, ApiEnv } from "../context.js";
import { requireToken } from "../middleware/auth.js";
import { requestValidators } from "../openapi/validators.js";

/** The session routes, to be mounted at `/v1`. */
export function sessionRoutes(context: ApiContext): Hono<ApiEnv> {
  const { manager, tokens } = context;
  const validate = requestValidators();
  const app = new Hono<ApiEnv>();

  app.get("/token", requireToken(tokens, "read"), (c) => {
    validate.params("getAccessToken", { path: c.req.param(), url: c.req.url });
    const caller = c.get("caller");
    if (!caller) throw new Error("requireToken sets the caller");
    return c.json({
      id: caller.id,
      name: caller.name,
      scope: caller.scope,
      environments: caller.environments,
      created_at: caller.createdAt.toISOString(),
      ...(caller.expiresAt ? { expires_at: caller.expiresAt.toISOString() } : {}),
    });
  });

  app.get("/environments", requireToken(tokens, "read"), async (c) => {
    validate.params("listEnvironments", { path: c.req.param(), url: c.req.url });
    const caller = c.get("caller");
    if (!caller) throw new Error("requireToken sets the caller");
    const fallback = resolveEnvironment(undefined, manager.environment);
    // A token limited to some environments sees exactly those (even empty ones), and nothing
    // else: not even whether other environments exist.
    const names = caller.environments ?? (await manager.environments());
    const visible = [...new Set(names)].sort();
    const preferred =
      visible.includes(fallback) || caller.environments === null ? fallback : visible[0];
    return c.json({ data: visible, default: preferred ?? fallback });
  });

  return app;
}

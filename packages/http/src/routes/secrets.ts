/**
 * The secret routes, under `/v1`: listSecrets, createSecret, getSecret, updateSecret,
 * deleteSecret, listSecretVersions, rollbackSecret. Each route, in order: verifies the token and
 * its scope (`requireToken`), validates parameters and body against the document, resolves the
 * environment and checks the token may use it, and only then calls the manager — as the
 * token's id (the actor recorded as `created_by` / `updated_by` and in audit events). Values
 * are never returned.
 */
import {
  AlreadyExistsError,
  ConflictError,
  type IfExists,
  parseDotenv,
  resolveEnvironment,
  type SecretInfo,
  type SecretManager,
} from "@envkeep/core";
import { type Context, Hono } from "hono";
import type { ApiContext, ApiEnv } from "../context.js";
import { HttpError } from "../errors.js";
import { jsonReply } from "../json-reply.js";
import { authorizeEnvironment, requireToken } from "../middleware/auth.js";
import { requestValidators } from "../openapi/validators.js";
import { readJsonBody } from "../request/json-body.js";
import { etagOf, secretJson } from "../secret-json.js";

/** `If-Match`: `"<version>"` → that version; `*` or none → no condition. */
function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === "*") return undefined;
  const match = /^"([1-9][0-9]{0,15})"$/.exec(value);
  const version = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(version)) {
    throw new HttpError(
      400,
      "INVALID",
      'If-Match takes one ETag of this API: "<version>" as a GET returned it (or *)',
    );
  }
  return version;
}

/**
 * Runs a write with the check-and-set `If-Match` asked for: a version that moved is 412 then (the
 * precondition failed), and stays 409 for a write that asked for none.
 */
async function underIfMatch<T>(
  ifVersion: number | undefined,
  write: (cas: { ifVersion?: number }) => Promise<T>,
): Promise<T> {
  try {
    return await write(ifVersion === undefined ? {} : { ifVersion });
  } catch (error) {
    if (error instanceof ConflictError && ifVersion !== undefined) {
      throw new HttpError(412, "CONFLICT", error.message);
    }
    throw error;
  }
}

function methodNotAllowed(allow: string) {
  return (c: Context<ApiEnv>) => {
    throw new HttpError(405, "INVALID", `${c.req.method} is not allowed here: use ${allow}`, {
      Allow: allow,
    });
  };
}

/** The secret routes, to be mounted at `/v1`. */
export function secretRoutes(context: ApiContext): Hono<ApiEnv> {
  const { manager: server, tokens, bodyLimit } = context;
  /** The manager acting for the request's token (its id is the actor). */
  const as = (c: Context<ApiEnv>): SecretManager => {
    const caller = c.get("caller");
    return caller ? server.withActor(caller.id) : server;
  };
  const validate = requestValidators();
  const app = new Hono<ApiEnv>();

  /** The environment of a call (given, else the manager's default), if the token may use it. */
  const allowedEnvironment = (
    c: Context<ApiEnv>,
    scope: "read" | "write",
    given: string | undefined,
  ) => {
    const environment = resolveEnvironment(given, server.environment);
    authorizeEnvironment(c, tokens, scope, environment);
    return environment;
  };

  /** A secret's metadata with its ETag (and any `headers`, lower-case names). */
  const reply = (info: SecretInfo, status: 200 | 201, headers?: Record<string, string>) =>
    jsonReply(secretJson(info), status, { etag: etagOf(info), ...headers });

  app.get("/secrets", requireToken(tokens, "read"), async (c) => {
    const { query } = validate.params("listSecrets", { path: c.req.param(), url: c.req.url });
    const environment = allowedEnvironment(c, "read", query.environment);
    const page = await as(c).listPage({
      environment,
      maxObjects: query.max_objects,
      ...(query.created_before === undefined ? {} : { createdBefore: query.created_before }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    return jsonReply(
      {
        data: page.secrets.map(secretJson),
        ...(page.nextCursor === undefined ? {} : { next_cursor: page.nextCursor }),
      },
      200,
    );
  });

  app.post("/secrets", requireToken(tokens, "write"), async (c) => {
    validate.params("createSecret", { path: c.req.param(), url: c.req.url });
    const body = validate.body("createSecret", await readJsonBody(c.req.raw, bodyLimit));
    const environment = allowedEnvironment(c, "write", body.environment);
    // A pasted .env text is read by core's own rules; its references see only its own earlier
    // keys, never this server's environment.
    const env = body.env ?? parseDotenv(body.dotenv ?? "", { env: {}, source: "the dotenv text" });
    const ifExists: IfExists = body.if_exists ?? "fail";
    const location = `/v1/secrets/${encodeURIComponent(body.name)}?environment=${encodeURIComponent(environment)}`;
    if (ifExists === "overwrite") {
      const info = await as(c).create(body.name, env, { environment, ifExists });
      // A fresh secret is version 1; replacing one always moves it past 1.
      return info.version === 1 ? reply(info, 201, { location }) : reply(info, 200);
    }
    try {
      const info = await as(c).create(body.name, env, { environment, ifExists: "fail" });
      return reply(info, 201, { location });
    } catch (error) {
      if (!(error instanceof AlreadyExistsError) || ifExists !== "skip") throw error;
    }
    return reply(await as(c).create(body.name, env, { environment, ifExists }), 200);
  });

  app.get("/secrets/:secret_name", requireToken(tokens, "read"), async (c) => {
    const { path, query } = validate.params("getSecret", { path: c.req.param(), url: c.req.url });
    const environment = allowedEnvironment(c, "read", query.environment);
    return reply(await as(c).info(path.secret_name, { environment }), 200);
  });

  app.patch("/secrets/:secret_name", requireToken(tokens, "write"), async (c) => {
    const { path, query } = validate.params("updateSecret", {
      path: c.req.param(),
      url: c.req.url,
    });
    const ifVersion = ifMatchVersion(c.req.header("if-match"));
    const body = validate.body("updateSecret", await readJsonBody(c.req.raw, bodyLimit));
    const environment = allowedEnvironment(c, "write", query.environment);
    const info = await underIfMatch(ifVersion, (cas) =>
      as(c).update(path.secret_name, body.env, { environment, ...cas }),
    );
    return reply(info, 200);
  });

  app.delete("/secrets/:secret_name", requireToken(tokens, "write"), async (c) => {
    const { path, query } = validate.params("deleteSecret", {
      path: c.req.param(),
      url: c.req.url,
    });
    const environment = allowedEnvironment(c, "write", query.environment);
    await as(c).delete(path.secret_name, { environment });
    return c.body(null, 204);
  });

  app.get("/secrets/:secret_name/versions", requireToken(tokens, "read"), async (c) => {
    const { path, query } = validate.params("listSecretVersions", {
      path: c.req.param(),
      url: c.req.url,
    });
    const environment = allowedEnvironment(c, "read", query.environment);
    const versions = await as(c).versions(path.secret_name, { environment });
    return jsonReply(
      {
        data: versions.map((v) => ({
          version: v.version,
          updated_at: v.updatedAt.toISOString(),
          ...(v.updatedBy === undefined ? {} : { updated_by: v.updatedBy }),
          keys: v.keys,
          ...(v.change === undefined ? {} : { change: v.change }),
        })),
      },
      200,
    );
  });

  app.post("/secrets/:secret_name/rollback", requireToken(tokens, "write"), async (c) => {
    const { path, query } = validate.params("rollbackSecret", {
      path: c.req.param(),
      url: c.req.url,
    });
    const ifVersion = ifMatchVersion(c.req.header("if-match"));
    const body = validate.body("rollbackSecret", await readJsonBody(c.req.raw, bodyLimit));
    const environment = allowedEnvironment(c, "write", query.environment);
    const info = await underIfMatch(ifVersion, (cas) =>
      as(c).rollback(path.secret_name, body.version, { environment, ...cas }),
    );
    return reply(info, 200);
  });

  app.all("/secrets", methodNotAllowed("GET, POST"));
  app.all("/secrets/:secret_name", methodNotAllowed("GET, PATCH, DELETE"));
  app.all("/secrets/:secret_name/versions", methodNotAllowed("GET"));
  app.all("/secrets/:secret_name/rollback", methodNotAllowed("POST"));
  return app;
}

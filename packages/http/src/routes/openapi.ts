/** `GET /v1/openapi.json`: the API's document, as the validators use it. Needs no token. */
import { Hono } from "hono";
import type { ApiEnv } from "../context.js";
import { HttpError } from "../errors.js";
import { apiDocument } from "../openapi/document.js";

/** The document route, to be mounted at `/v1`. */
export function openApiRoutes(): Hono<ApiEnv> {
  const text = JSON.stringify(apiDocument());
  const app = new Hono<ApiEnv>();
  app.get("/openapi.json", (c) =>
    c.body(text, 200, { "Content-Type": "application/json; charset=utf-8" }),
  );
  app.all("/openapi.json", (c) => {
    throw new HttpError(405, "INVALID", `${c.req.method} is not allowed here: use GET`, {
      Allow: "GET",
    });
  });
  return app;
}

import { readFileSync } from "node:fs";
import { RULE_SCHEMAS, SECRET_TEMPLATES } from "@envkeep/core";
import { Hono } from "hono";
import { SECURITY_HEADERS } from "./security-headers.js";

/** One file the dashboard serves, read once when the app is created. */
interface Asset {
  body: string;
  type: string;
}

/**
 * The page's scripts (ES modules): `app.js` imports the others. Each is served at
 * `/assets/<name>` and ships in the package.
 */
export const DASHBOARD_SCRIPTS = ["app.js", "api-client.js", "page.js", "history.js"] as const;

/** The shipped assets (`assets/` beside `src/` and `dist/`): no CDN, no network fetch. */
function loadAssets(): Record<string, Asset> {
  const read = (name: string) =>
    readFileSync(new URL(`../assets/${name}`, import.meta.url), "utf8");
  const scripts = DASHBOARD_SCRIPTS.map((name) => [
    `/assets/${name}`,
    { body: read(name), type: "text/javascript; charset=utf-8" },
  ]);
  return {
    "/": { body: read("index.html"), type: "text/html; charset=utf-8" },
    ...Object.fromEntries(scripts),
    "/assets/app.css": { body: read("app.css"), type: "text/css; charset=utf-8" },
    "/dashboard/config.json": {
      // What the page checks input against: core's own templates and rule schemas.
      body: JSON.stringify({ templates: SECRET_TEMPLATES, rules: RULE_SCHEMAS }),
      type: "application/json; charset=utf-8",
    },
  };
}

/**
 * The envkeep dashboard: a page (and its script, style and config) that manages secrets through
 * the HTTP API under `v1/`, beside which it must be mounted (`createApi({ dashboard: true })` does
 * that). Every asset ships in the package; every response carries a strict
 * Content-Security-Policy and refuses framing. The page holds no value: the API returns metadata
 * only.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { dashboard } from "@envkeep/dashboard";
 *
 * const app = new Hono();
 * app.route("/", api);          // the API, under /v1
 * app.route("/", dashboard());  // the page, at /
 * ```
 */
export function dashboard(): Hono {
  const assets = loadAssets();
  const app = new Hono();
  for (const [path, asset] of Object.entries(assets)) {
    app.get(path, (c) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
      c.header("Content-Type", asset.type);
      c.header("Cache-Control", "no-cache");
      return c.body(asset.body);
    });
  }
  return app;
}

import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DASHBOARD_SCRIPTS } from "../src/dashboard.js";
import { DASHBOARD_CSP, dashboard } from "../src/index.js";

const app = dashboard();
const get = (path: string) => app.fetch(new Request(`http://localhost${path}`));
const asset = (name: string) => readFileSync(new URL(`../assets/${name}`, import.meta.url), "utf8");

describe("the dashboard's assets", () => {
  it("serves the page, script, style and config, each with the security headers", async () => {
    for (const [path, type] of [
      ["/", "text/html"],
      ...DASHBOARD_SCRIPTS.map((name) => [`/assets/${name}`, "text/javascript"] as const),
      ["/assets/app.css", "text/css"],
      ["/dashboard/config.json", "application/json"],
    ] as const) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type"), path).toContain(type);
      expect(response.headers.get("content-security-policy"), path).toBe(DASHBOARD_CSP);
      expect(response.headers.get("x-frame-options"), path).toBe("DENY");
      expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
    }
    expect((await get("/assets/nope.js")).status).toBe(404);
  });

  it("the policy allows no inline script, no other origin and no framing", () => {
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
    expect(DASHBOARD_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
  });

  it("the page has no inline script, handler or style, and loads nothing from elsewhere", () => {
    const html = asset("index.html");
    for (const script of html.match(/<script\b[^>]*>/g) ?? []) expect(script).toMatch(/\bsrc="/);
    expect(html).not.toMatch(/<script\b[^>]*>\s*[^<\s]/); // no script body
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\sstyle=/i);
    for (const name of ["index.html", ...DASHBOARD_SCRIPTS, "app.css"]) {
      expect(asset(name), name).not.toMatch(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    }
  });

  it("the scripts never parse server text as markup", () => {
    for (const name of DASHBOARD_SCRIPTS) {
      expect(asset(name), name).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
      );
    }
  });

  it("every script in assets/ is served and shipped; app.js imports only those", () => {
    const onDisk = readdirSync(new URL("../assets/", import.meta.url)).filter((name) =>
      name.endsWith(".js"),
    );
    expect([...DASHBOARD_SCRIPTS].sort()).toEqual(onDisk.sort());
    const manifest = JSON.parse(asset("../package.json")) as { files: string[] };
    for (const name of DASHBOARD_SCRIPTS) expect(manifest.files).toContain(`assets/${name}`);
    for (const name of DASHBOARD_SCRIPTS) {
      for (const [, target] of asset(name).matchAll(/\bfrom "([^"]+)"/g)) {
        expect(
          DASHBOARD_SCRIPTS.map((script) => `./${script}`),
          `${name} → ${target}`,
        ).toContain(target);
      }
    }
  });

  it("every control has a label and every button names its action", () => {
    const html = asset("index.html");
    const ids = [...html.matchAll(/<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(ids.length).toBeGreaterThan(5);
    for (const id of ids) {
      const radio = new RegExp(`id="${id}"[^>]*type="radio"|type="radio"[^>]*id="${id}"`).test(
        html,
      );
      if (!radio) expect(html, id).toContain(`for="${id}"`);
    }
    for (const button of html.matchAll(/<button\b[^>]*>([^<]*)<\/button>/g)) {
      expect(button[1]?.trim(), button[0]).not.toBe("");
    }
  });

  it("config.json carries core's templates (MongoDB included) and rule schemas", async () => {
    const config = (await (await get("/dashboard/config.json")).json()) as {
      templates: { name: string; keys: string[] }[];
      rules: Record<string, { pattern?: string; maxLength?: number }>;
    };
    expect(config.templates.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        "openai",
        "huggingface",
        "aws",
        "postgres",
        "mongodb",
        "wandb",
        "github",
      ]),
    );
    expect(config.templates.find((t) => t.name === "mongodb")?.keys).toEqual(["MONGO_URI"]);
    expect(new RegExp(config.rules.key?.pattern ?? "").test("API_KEY")).toBe(true);
    expect(new RegExp(config.rules.key?.pattern ?? "").test("A-B")).toBe(false);
    expect(config.rules.value?.maxLength).toBe(32_768);
  });
});

/**
 * Every package as it would be published: packed with pnpm (workspace versions filled in), its
 * tarball holds only what users need, and passes publint (strict) and Are the Types Wrong (ESM
 * only). Then the tarballs are installed into a directory outside the repository, and the
 * installed `envkeep` creates, lists and runs with a secret on SQLite.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../../packages/cli/test/support/build.js";
import { pnpm } from "./support/pnpm.js";

const root = path.resolve(import.meta.dirname, "../..");
const bins = path.join(root, "node_modules/.bin");
const packageDirs = readdirSync(path.join(root, "packages")).sort();
const work = mkdtempSync(path.join(tmpdir(), "envkeep-packages-"));
const tarballs = path.join(work, "tarballs");

interface Packed {
  name: string;
  version: string;
  filename: string;
  files: string[];
}
const packed = new Map<string, Packed>();

beforeAll(async () => {
  await ensureBuilt();
  for (const dir of packageDirs) {
    const out = pnpm(
      ["pack", "--json", "--pack-destination", tarballs],
      path.join(root, "packages", dir),
    );
    const result = JSON.parse(out.slice(out.indexOf("{"))) as {
      name: string;
      version: string;
      filename: string;
      files: { path: string }[];
    };
    packed.set(dir, { ...result, files: result.files.map((file) => file.path).sort() });
  }
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What each package ships besides package.json, README.md and dist/**.{js,d.ts}. */
const extraFiles: Record<string, RegExp> = {
  cli: /^bin\/envkeep\.js$/,
  dashboard: /^assets\/(index\.html|app\.js|api-client\.js|page\.js|history\.js|app\.css)$/,
};

describe.each(packageDirs)("packages/%s", (dir) => {
  const manifest = JSON.parse(
    readFileSync(path.join(root, "packages", dir, "package.json"), "utf8"),
  );

  it("ships only package.json, README.md and built code (no sources, tests, maps or stamps)", () => {
    const files = packed.get(dir)?.files ?? [];
    expect(files).toContain("package.json");
    expect(files).toContain("README.md");
    expect(files).toContain("dist/index.js");
    expect(files).toContain("dist/index.d.ts");
    const unexpected = files.filter(
      (file) =>
        file !== "package.json" &&
        file !== "README.md" &&
        !/^dist\/.+\.(js|d\.ts)$/.test(file) &&
        !extraFiles[dir]?.test(file),
    );
    expect(unexpected).toEqual([]);
  });

  it("is ESM-only, side-effect free, with types first in its exports", () => {
    expect(manifest.type).toBe("module");
    expect(manifest.sideEffects).toBe(false);
    expect(Object.keys(manifest.exports["."]).filter((c) => c !== "@envkeep/source")[0]).toBe(
      "types",
    );
  });

  it("passes publint --strict", () => {
    const tarball = packed.get(dir)?.filename ?? "";
    const run = spawnSync(
      process.execPath,
      [path.join(bins, "../publint/src/cli.js"), "run", "--strict", "--pack", "false", tarball],
      { encoding: "utf8" },
    );
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("All good!");
  });

  it("passes Are the Types Wrong (profile esm-only)", () => {
    const tarball = packed.get(dir)?.filename ?? "";
    const run = spawnSync(
      process.execPath,
      [
        path.join(bins, "../@arethetypeswrong/cli/dist/index.js"),
        tarball,
        "--profile",
        "esm-only",
        "--format",
        "ascii",
      ],
      { encoding: "utf8" },
    );
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  });
});

describe("installed from its tarballs outside the repository", () => {
  const app = path.join(work, "app");
  let installLog = "";
  const envkeep = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(path.join(app, "node_modules/.bin/envkeep"), args, {
      cwd: app,
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });

  beforeAll(() => {
    // Every @envkeep/* package, the CLI's dependencies included, comes from its tarball; the
    // rest from the registry (or pnpm's store). sqlite3 may run its install script.
    const overrides = Object.fromEntries(
      [...packed.values()].map((pack) => [pack.name, `file:${pack.filename}`]),
    );
    mkdirSync(app, { recursive: true });
    writeFileSync(
      path.join(app, "package.json"),
      `${JSON.stringify(
        {
          name: "envkeep-install-check",
          private: true,
          type: "module",
          dependencies: { "@envkeep/cli": overrides["@envkeep/cli"] },
          pnpm: { overrides, onlyBuiltDependencies: ["sqlite3"] },
        },
        null,
        2,
      )}\n`,
    );
    installLog = pnpm(["install", "--prefer-offline"], app, 600_000);
  }, 600_000);

  it("installs without a warning about the envkeep command", () => {
    expect(installLog).not.toMatch(/Failed to create bin/i);
  });

  it("envkeep --version prints the package's version", () => {
    const run = envkeep(["--version"]);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe(packed.get("cli")?.version);
  });

  it("envkeep secret create, list and run work on SQLite", () => {
    const key = envkeep(["key", "generate"]).stdout.trim();
    const env = { ENVKEEP_MASTER_KEY: key, ENVKEEP_STORE: "sqlite:./secrets.db" };
    const created = envkeep(["secret", "create", "greeting", "GREETING=hello"], env);
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    const listed = envkeep(["secret", "list"], env);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/^greeting\s+GREETING\s/m);
    const check = 'process.exit(process.env.GREETING === "hello" ? 0 : 3)';
    const ran = envkeep(["run", "--secret", "greeting", "--", process.execPath, "-e", check], env);
    expect(ran.stderr).toBe("");
    expect(ran.status).toBe(0);
  });
});

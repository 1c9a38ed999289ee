/**
 * Every package as it would be published: packed with pnpm (workspace versions filled in), its
 * tarball holds only what users need, and passes publint (strict) and Are the Types Wrong (ESM
 * only). Then the README's "Use it in your app" is followed for real, once with npm and once with
 * pnpm, each in a new project outside the repository: the tarballs install without a warning, the
 * README's app (SecretManager on a SQLite file) runs and type-checks, its shell lines (`npx
 * envkeep --version` among them) print what they say, and the installed `envkeep` creates, lists
 * and runs with a secret on SQLite.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../../packages/cli/test/support/build.js";
import { nodeDirEnv, pnpm } from "./support/pnpm.js";

const root = path.resolve(import.meta.dirname, "../..");
const bins = path.join(root, "node_modules/.bin");
const packageDirs = readdirSync(path.join(root, "packages")).sort();
const manifests = new Map(
  packageDirs.map((dir) => [
    dir,
    JSON.parse(readFileSync(path.join(root, "packages", dir, "package.json"), "utf8")),
  ]),
);
const dirOf = new Map([...manifests].map(([dir, manifest]) => [manifest.name as string, dir]));
const work = mkdtempSync(path.join(tmpdir(), "envkeep-packages-"));
/** Where the README packs the tarballs: `../envkeep-tarballs`, beside each app. */
const tarballs = path.join(work, "envkeep-tarballs");
/** `npx -y pnpm@<version>`, the pnpm of package.json's `packageManager`, as the README writes it. */
const npxPnpm = `npx -y ${JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).packageManager.split("+")[0]}`;

interface Packed {
  name: string;
  version: string;
  filename: string;
  files: string[];
}
const packed = new Map<string, Packed>();

beforeAll(async () => {
  await ensureBuilt();
  // The README's command (with --json): every package, each with its workspace versions filled in.
  const out = pnpm(["-r", "pack", "--pack-destination", tarballs, "--json"], root);
  const results = JSON.parse(out.slice(out.indexOf("["), out.lastIndexOf("]") + 1)) as {
    name: string;
    version: string;
    filename: string;
    files: { path: string }[];
  }[];
  for (const result of results) {
    const dir = dirOf.get(result.name);
    if (dir) packed.set(dir, { ...result, files: result.files.map((file) => file.path).sort() });
  }
  // Both installs build sqlite3 from source where no binary can be fetched (a minute or two
  // each): they run side by side while the checks of the tarballs below go on.
  for (const app of apps) app.started = startInstall(app);
}, 600_000);
afterAll(async () => {
  await Promise.all(apps.map((app) => app.started));
  rmSync(work, { recursive: true, force: true });
});

/**
 * What each package ships besides package.json, README.md and dist/**.{js,cjs,d.ts}. A package
 * whose bundle holds code copied from others ships their licences.
 */
const extraFiles: Record<string, RegExp> = {
  cli: /^(bin\/envkeep\.cjs|dist\/THIRD-PARTY-LICENSES\.txt)$/,
  core: /^dist\/THIRD-PARTY-LICENSES\.txt$/,
  dashboard: /^assets\/(index\.html|app\.js|api-client\.js|page\.js|history\.js|app\.css)$/,
};

describe.each(packageDirs)("packages/%s", (dir) => {
  const manifest = manifests.get(dir);

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
        !/^dist\/.+\.(c?js|d\.ts)$/.test(file) &&
        !extraFiles[dir]?.test(file),
    );
    expect(unexpected).toEqual([]);
    if (extraFiles[dir]?.source.includes("THIRD-PARTY")) {
      expect(files).toContain("dist/THIRD-PARTY-LICENSES.txt");
    }
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

/** The README's "Use it in your app" section, from its heading to the next one. */
const readmeSection = (() => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const start = readme.indexOf("\n## Use it in your app\n");
  if (start < 0) return "";
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
})();
const codeBlocks = [...readmeSection.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map(
  ([, lang, text]) => ({ lang, text: text ?? "" }),
);
/** The README's app: run as app.mjs, type-checked as app.mts. */
const appScript = codeBlocks.find((block) => block.lang === "js")?.text ?? "";
/** The README's shell lines that run the app and the installed `envkeep`. */
const appCommands =
  codeBlocks.find((block) => block.lang === "sh" && block.text.includes("node app.mjs"))?.text ??
  "";

/** The `@envkeep/*` packages the README's app depends on itself (it imports core and the store). */
const appDependencies = ["cli", "core", "store-sqlite"];

/** The packages an app installs: its own and every `@envkeep/*` package they need, transitively. */
const appPackages = (() => {
  const found = new Set<string>();
  const visit = (dir: string) => {
    if (found.has(dir)) return;
    found.add(dir);
    for (const name of Object.keys(manifests.get(dir).dependencies ?? {})) {
      const dependency = dirOf.get(name);
      if (dependency) visit(dependency);
    }
  };
  for (const dir of appDependencies) visit(dir);
  return [...found].sort();
})();
const nameOf = (dir: string): string => manifests.get(dir).name;
const tarballOf = (dir: string) =>
  `../envkeep-tarballs/${path.basename(packed.get(dir)?.filename ?? "")}`;

interface Shell {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** One way the README installs the tarballs into an app. */
interface App {
  manager: "npm" | "pnpm";
  /** The app's package.json before the install, as the README shows it. */
  manifest: () => Record<string, unknown>;
  /** The install command, as the README shows it (bash runs it in the app's directory). */
  install: () => string;
  /** The install, started once the tarballs exist. */
  started?: Promise<Shell>;
}

const apps: App[] = [
  {
    manager: "pnpm",
    // pnpm would look the CLI's own @envkeep/* dependencies up on the registry: the overrides
    // send each to its tarball. pnpm 10 runs only the install scripts it is told to.
    manifest: () => ({
      dependencies: Object.fromEntries(
        appDependencies.map((dir) => [nameOf(dir), packed.get(dir)?.version]),
      ),
      pnpm: {
        overrides: Object.fromEntries(
          appPackages.map((dir) => [nameOf(dir), `file:${tarballOf(dir)}`]),
        ),
        onlyBuiltDependencies: ["sqlite3"],
      },
    }),
    install: () => `${npxPnpm} install`,
  },
  {
    manager: "npm",
    // npm 11 warns about a dependency's install script that allowScripts does not allow (its
    // docs say such scripts are to be blocked); sqlite3's builds the native module from source.
    manifest: () => ({ allowScripts: { sqlite3: true } }),
    // npm takes the CLI's own @envkeep/* dependencies from the tarballs installed with it.
    install: () => `npm install ../envkeep-tarballs/envkeep-{${appPackages.join(",")}}-*.tgz`,
  },
];
const appDir = (app: App) => path.join(work, `${app.manager}-app`);

/**
 * A user's shell in the app: this process's environment without what pnpm or npm set for the
 * test run (npm_config_local_prefix would send npm's install into this repository) and without
 * node_modules/.bin directories on PATH (npx would find the repository's own envkeep there);
 * registry, proxy and CA settings stay. npx may not download: a bin that is missing fails.
 */
const appEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^p?npm_/i.test(name) || name === "npm_config_registry",
    ),
  ),
  PATH: (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => !dir.includes("node_modules"))
    .join(path.delimiter),
  ...nodeDirEnv(),
  npm_config_yes: "false",
};

/** Runs `script` with bash (errexit, pipefail) in `cwd`, in `appEnv`; kills it after `timeoutMs`. */
function bash(script: string, cwd: string, timeoutMs: number): Promise<Shell> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", script], {
      cwd,
      env: appEnv,
      detached: true, // its own process group, so that a timeout ends npm's children too
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ status: null, stdout, stderr: `${stderr}${error.message}` });
    });
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Makes the app as the README does (package.json, app.mjs) and starts its install. */
function startInstall(app: App): Promise<Shell> {
  const dir = appDir(app);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(app.manifest(), null, 2)}\n`);
  writeFileSync(path.join(dir, "app.mjs"), appScript);
  writeFileSync(path.join(dir, "app.mts"), appScript);
  return bash(app.install(), dir, 540_000);
}

describe("the README's 'Use it in your app'", () => {
  it("shows the commands and package.json files this test uses", () => {
    expect(readmeSection).toContain(`${npxPnpm} -r pack --pack-destination ../envkeep-tarballs`);
    const shownManifests = codeBlocks
      .filter((block) => block.lang === "json")
      .map((block) => JSON.parse(block.text));
    for (const app of apps) {
      expect(readmeSection).toContain(app.install());
      expect(shownManifests).toContainEqual(app.manifest());
    }
    expect(appScript).toContain('from "@envkeep/store-sqlite"');
    expect(appCommands).toContain("npx envkeep --version");
  });
});

describe.each(apps)("installed with $manager from the tarballs, outside the repository", (app) => {
  const dir = appDir(app);
  let install: Shell = { status: null, stdout: "", stderr: "" };
  const envkeep = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(path.join(dir, "node_modules/.bin/envkeep"), args, {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });

  beforeAll(async () => {
    if (!app.started) throw new Error("nothing was installed: packing failed");
    install = await app.started;
    if (install.status !== 0) {
      throw new Error(
        `${app.install()} failed (${install.status}):\n${`${install.stdout}\n${install.stderr}`.slice(-4000)}`,
      );
    }
  }, 600_000);

  it("installs without a warning about the envkeep command or sqlite3's build script", () => {
    expect(`${install.stdout}${install.stderr}`).not.toMatch(
      /Failed to create bin|allowScripts|Ignored build scripts/i,
    );
  });

  it("runs the README's app and commands: npx envkeep --version prints the version", async () => {
    const run = await bash(appCommands, dir, 120_000);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines).toContain(packed.get("cli")?.version);
    // The app's secret, by key name (never a value), and the CLI lists it from the same file.
    expect(lines).toContain("API_KEY,PORT");
    expect(run.stdout).toMatch(/^api-keys\s+API_KEY\s/m);
  }, 150_000);

  it("type-checks the README's app as TypeScript (strict, module nodenext, the packages' types)", () => {
    const run = spawnSync(
      process.execPath,
      [
        path.join(root, "node_modules/typescript/bin/tsc"),
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--types",
        "node",
        "--typeRoots",
        path.join(root, "node_modules/@types"),
        "app.mts",
      ],
      { cwd: dir, encoding: "utf8" },
    );
    expect(run.stdout).toBe("");
    expect(run.status).toBe(0);
  }, 120_000); // tsc took 19 s on a loaded 2-core machine while the other install built sqlite3

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

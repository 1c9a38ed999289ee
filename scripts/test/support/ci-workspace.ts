/**
 * Tiny workspaces to run the CI contract on for real: each holds this repository's `.ci/run`,
 * `scripts/run-tests.mjs` and root `package.json` scripts, plus a test or two of its own. Its
 * tools (vitest, typescript, biome) are `link:` dependencies on this repository's installed ones,
 * so pnpm's install only makes symlinks: nothing is downloaded, and a run takes seconds.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const repo = path.resolve(import.meta.dirname, "../../..");
const PNPM = ["-y", "pnpm@10.34.8"];

type PackageJson = Record<string, unknown> & { devDependencies: Record<string, string> };

/** What `.ci/run` printed (stdout and stderr, in order), its exit status and its last line. */
export interface CiRun {
  status: number | null;
  output: string;
  lastLine: string;
}

/** The fixture's own files: test and config, formatted as its linter wants them. */
const BASE_FILES: Record<string, string> = {
  "tsconfig.json": JSON.stringify({
    compilerOptions: {
      strict: true,
      module: "NodeNext",
      moduleResolution: "NodeNext",
      target: "ES2022",
      noEmit: true,
      skipLibCheck: true,
      types: [],
    },
    include: ["test"],
  }),
  // As Biome formats it (it checks its own config file too).
  "biome.json": `{
  "files": { "includes": ["test/**", "scripts/**"] },
  "formatter": { "indentStyle": "space", "lineWidth": 100 }
}
`,
};

function basePackageJson(): PackageJson {
  const root = JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8"));
  const { typecheck, lint, build, test } = root.scripts;
  const linked = (name: string) => `link:${path.join(repo, "node_modules", name)}`;
  return {
    name: "ci-fixture",
    private: true,
    type: "module",
    scripts: { typecheck, lint, build, test },
    devDependencies: {
      vitest: linked("vitest"),
      typescript: linked("typescript"),
      "@biomejs/biome": linked("@biomejs/biome"),
    },
  };
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
}

/**
 * A directory of fixture workspaces that share one lockfile (made once, by pnpm, for the base
 * `package.json`). Remove it when done.
 */
export function ciWorkspaces() {
  const base = mkdtempSync(path.join(tmpdir(), "envkeep-ci-"));
  // .ci/run installs redis-server, openssl, script(1) and chromium where they are missing; the
  // fixtures need none, and a test must never apt-get install on a developer's machine:
  // stand-ins that exit 0.
  const stubs = path.join(base, "bin");
  mkdirSync(stubs);
  for (const tool of ["redis-server", "redis-cli", "openssl", "script", "chromium"]) {
    writeFileSync(path.join(stubs, tool), "#!/bin/sh\nexit 0\n");
    chmodSync(path.join(stubs, tool), 0o755);
  }
  const env = {
    PATH: `${stubs}:${process.env.PATH ?? ""}`,
    HOME: process.env.HOME ?? base,
    CI: "true",
  };

  // Same depth as every workspace, so the lockfile's relative link: paths hold for all of them.
  const template = path.join(base, "template");
  mkdirSync(template);
  writeFileSync(path.join(template, "package.json"), JSON.stringify(basePackageJson()));
  const locked = spawnSync("npx", [...PNPM, "install", "--lockfile-only"], {
    cwd: template,
    env,
    encoding: "utf8",
  });
  if (locked.status !== 0) throw new Error(`pnpm could not lock the fixture: ${locked.stdout}`);

  return {
    /**
     * A workspace with the repository's CI files, the base config, and `files` (paths relative to
     * it); `editPackage` changes its package.json after the lockfile was made.
     */
    workspace(
      name: string,
      files: Record<string, string>,
      editPackage?: (pkg: PackageJson) => void,
    ): string {
      const dir = path.join(base, name);
      mkdirSync(path.join(dir, ".ci"), { recursive: true });
      mkdirSync(path.join(dir, "scripts"));
      copyFileSync(path.join(repo, ".ci/run"), path.join(dir, ".ci/run"));
      copyFileSync(
        path.join(repo, "scripts/run-tests.mjs"),
        path.join(dir, "scripts/run-tests.mjs"),
      );
      copyFileSync(path.join(template, "pnpm-lock.yaml"), path.join(dir, "pnpm-lock.yaml"));
      const pkg = basePackageJson();
      editPackage?.(pkg);
      writeFiles(dir, { ...BASE_FILES, ...files, "package.json": JSON.stringify(pkg) });
      return dir;
    },

    /** Runs the workspace's `.ci/run` as CI does, stdout and stderr into one log. */
    async runCi(dir: string): Promise<CiRun> {
      const log = path.join(dir, "ci.log");
      const fd = openSync(log, "w");
      try {
        const child = spawn("bash", [path.join(dir, ".ci/run")], {
          cwd: dir,
          env,
          stdio: ["ignore", fd, fd],
        });
        const status = await new Promise<number | null>((resolve, reject) => {
          child.once("error", reject);
          child.once("exit", (code) => resolve(code));
        });
        const output = readFileSync(log, "utf8");
        return { status, output, lastLine: output.trimEnd().split("\n").at(-1) ?? "" };
      } finally {
        closeSync(fd);
      }
    },

    remove(): void {
      rmSync(base, { recursive: true, force: true });
    },
  };
}

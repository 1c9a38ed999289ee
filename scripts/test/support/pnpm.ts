import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../../..");

/**
 * How to run pnpm: the one running `pnpm test` (npm_execpath), else `pnpm` on the PATH, else the
 * version of package.json's `packageManager` through npx.
 */
export function pnpmCommand(): string[] {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(path.basename(execPath))) {
    return /\.[cm]?js$/.test(execPath) ? [process.execPath, execPath] : [execPath];
  }
  if (spawnSync("pnpm", ["--version"], { stdio: "ignore" }).status === 0) return ["pnpm"];
  const { packageManager } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  return ["npx", "-y", String(packageManager).split("+")[0] ?? "pnpm"];
}

/** Runs pnpm with `args` in `cwd`; throws with its output when it fails. Returns stdout. */
export function pnpm(args: string[], cwd: string, timeoutMs = 300_000): string {
  const [command = "pnpm", ...prefix] = pnpmCommand();
  const run = spawnSync(command, [...prefix, ...args], {
    cwd,
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, ...nodeDirEnv() },
  });
  if (run.status !== 0) {
    throw new Error(
      `pnpm ${args.join(" ")} failed (${run.status ?? run.signal}):\n${`${run.stdout}\n${run.stderr}`.slice(-4000)}`,
    );
  }
  return `${run.stdout}${run.stderr}`;
}

/**
 * `npm_config_nodedir` as .ci/run sets it: where node-gyp finds Node's headers when sqlite3
 * builds from source (npm and pnpm both pass it on to the build).
 */
export function nodeDirEnv(): { npm_config_nodedir?: string } {
  const dir = process.env.npm_config_nodedir ?? nodeDir();
  return dir === undefined ? {} : { npm_config_nodedir: dir };
}

function nodeDir(): string | undefined {
  try {
    readFileSync("/usr/include/node/node.h");
    return "/usr";
  } catch {
    return undefined;
  }
}

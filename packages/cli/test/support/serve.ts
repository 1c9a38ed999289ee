/**
 * A real `envkeep serve` (the CLI built from this repository: `packages/cli/bin/envkeep.cjs`) as a
 * child process on a random port, and the real CLI for `envkeep token …`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { bin, ensureBuilt } from "./build.js";
import { type CliResult, envkeep } from "./cli.js";

export { ensureBuilt };

export interface ServeOptions {
  /** Variables of the child (ENVKEEP_STORE, ENVKEEP_MASTER_KEY…). */
  env: Record<string, string>;
  /** Extra arguments after `serve --port 0 --host 127.0.0.1`. */
  args?: string[];
  cwd?: string;
}

export interface RunningServe {
  /** `http://127.0.0.1:<port>` */
  url: string;
  child: ChildProcess;
  /** Everything the server wrote on stderr so far (startup line, access log…). */
  stderr(): string;
  stdout(): string;
  /** Sends `signal` and resolves with the exit code once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
}

function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "LANG", "TMPDIR"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Starts `envkeep serve` and waits for its "serving … on URL" line. */
export async function startServe(options: ServeOptions): Promise<RunningServe> {
  const child = spawn(
    process.execPath,
    [bin, "serve", "--port", "0", "--host", "127.0.0.1", ...(options.args ?? [])],
    {
      cwd: options.cwd ?? process.cwd(),
      env: childEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  let stdout = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`envkeep serve did not start:\n${stderr}`)),
      20_000,
    );
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const match = / on (https?:\/\/[^\s]+) \(/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`envkeep serve exited with ${code}:\n${stderr}`));
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** `envkeep token create …` through the real CLI: the token (stdout), and what it said. */
export async function createToken(
  env: Record<string, string>,
  args: string[],
): Promise<{ token: string; id: string; result: CliResult }> {
  const result = await envkeep(["token", "create", ...args], { env });
  if (result.code !== 0) throw new Error(`token create failed: ${result.stderr}`);
  const token = result.stdout.trim();
  const id = /^ekt_([0-9a-f]{16})_/.exec(token)?.[1];
  if (!id) throw new Error("token create printed no token");
  return { token, id, result };
}

export { envkeep };

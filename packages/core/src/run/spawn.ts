import type { ChildProcess, SpawnOptions as NodeSpawnOptions } from "node:child_process";
import { InvalidError } from "../errors.js";
import { childProcess } from "../lazy-modules.js";
import type { Secret } from "../secret.js";
import { inheritedEnvironment } from "./inherited-environment.js";

/** Options of `SecretManager.run`. */
export interface RunOptions {
  /** Secrets applied in order; the later one wins. @default [] */
  secrets?: readonly Secret[];
  /** Plain variables applied after every secret (they win). @default {} */
  env?: Record<string, string>;
  /**
   * Keys the resolved environment must hold. A missing one is a `NotFoundError` naming the keys,
   * thrown before the function or child process starts. @default []
   */
  requiredKeys?: readonly string[];
}

/**
 * Options of `SecretManager.spawn`: {@link RunOptions}, `inheritEnv`, and every option of
 * `child_process.spawn` except `env` (built from the secrets).
 */
export interface SpawnOptions extends RunOptions, Omit<NodeSpawnOptions, "env"> {
  /**
   * Start from this process's `process.env` (overlaid by the secrets and `env`), except what
   * envkeep withholds (`withheldVariables`): the master keys `ENVKEEP_MASTER_KEY` /
   * `ENVKEEP_MASTER_KEYS`, and `ENVKEEP_STORE` when its URL holds credentials (pass one in `env`
   * if a child really needs it). With `false` the child sees only the resolved variables.
   * @default true
   */
  inheritEnv?: boolean;
}

/** How a child process ended. */
export interface ProcessExit {
  /** Exit code, or `null` when the process was killed by a signal. */
  code: number | null;
  /** The signal that killed it, or `null`. */
  signal: NodeJS.Signals | null;
}

/** What `SecretManager.spawn` returns. */
export interface SpawnedProcess {
  /** The running child (its pid, stdio streams, `kill()`…). */
  child: ChildProcess;
  /** Settles when the child has exited and its stdio streams have closed. Never rejects. */
  exit: Promise<ProcessExit>;
}

/**
 * The environment of a child: the parent's (when inherited, minus the master keys and a
 * credential-bearing `ENVKEEP_STORE`, see `withheldVariables`) overlaid by the resolved one.
 * A withheld variable reaches the child only when the resolved environment sets it explicitly.
 */
export function childEnvironment(
  resolved: Record<string, string>,
  inheritEnv: boolean,
  parent: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env = inheritEnv ? inheritedEnvironment(parent) : new Map<string, string>();
  for (const [key, value] of Object.entries(resolved)) env.set(key, value);
  return Object.fromEntries(env);
}

/** Checks `spawn`'s command and arguments before anything is resolved. */
export function assertCommand(command: unknown, args: unknown): asserts args is readonly string[] {
  if (typeof command !== "string" || command === "") {
    throw new InvalidError("spawn needs a command (a non-empty string)");
  }
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === "string")) {
    throw new InvalidError("spawn arguments must be an array of strings");
  }
}

/**
 * Starts `command` with `env` and waits until it has started. Values travel only in the child's
 * environment, never on its command line.
 *
 * @throws {InvalidError} when the command cannot be started (not found, not executable…).
 */
export function spawnWithEnv(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: Omit<NodeSpawnOptions, "env">,
): Promise<SpawnedProcess> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = childProcess().spawn(command, [...args], { ...options, env });
    } catch (error) {
      reject(new InvalidError(`cannot start ${JSON.stringify(command)}`, { cause: error }));
      return;
    }
    const exit = new Promise<ProcessExit>((settle) => {
      child.once("close", (code, signal) => settle({ code, signal }));
    });
    const onError = (error: NodeJS.ErrnoException) => {
      const reason = error.code === "ENOENT" ? "command not found" : (error.code ?? "error");
      reject(
        new InvalidError(`cannot start ${JSON.stringify(command)}: ${reason}`, { cause: error }),
      );
    };
    child.once("error", onError);
    child.once("spawn", () => {
      child.off("error", onError);
      // A later 'error' (a failed kill()) must not crash the host; the exit promise still settles.
      child.on("error", () => {});
      resolve({ child, exit });
    });
  });
}

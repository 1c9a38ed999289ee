/**
 * Store workers for the two-process tests: real Node child processes that each open one store (by
 * factory module + JSON options, with one shared master key or keyring) and run operations on
 * request.
 *
 * How a worker runs: `node --input-type=module -e <worker>` with the working directory `cwd`
 * (normally the store package's root), so `@envkeep/core` and the store module resolve exactly as
 * they do for that package; with the `@envkeep/source` condition (the default) they resolve to
 * TypeScript sources, which a small module hook transpiles with the workspace's `typescript`
 * (no build step). Pass `conditions: []` to run built `dist/` files instead.
 *
 * Workers speak JSON lines: the parent sends `{ id, op, ... }` on stdin, the worker answers
 * `@@envkeep-worker {"id", ...}` on stdout. No value is ever printed except the test's own
 * dummy values in replies to `read`.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { generateMasterKey } from "@envkeep/core";
import { dataUrl, REPLY, typescriptHooksSource, WORKER_SOURCE } from "./worker-source.js";

/** How to open the store under test in a child process. */
export interface StoreWorkerTarget {
  /**
   * Module that exports the store factory: a package name or relative/absolute specifier resolved
   * from `cwd` (e.g. `"@envkeep/store-sqlite"`, which a package resolves to itself), or a
   * `file:` URL.
   */
  storeModule: string;
  /** Name of the factory export, e.g. `"sqliteStore"`. */
  factoryName: string;
  /** Directory the workers run in and resolve modules from: the store package's root. */
  cwd: string;
  /** Export conditions of the workers' resolution. @default ["@envkeep/source"] */
  conditions?: readonly string[];
}

/** Options of {@link spawnStoreWorkers}. */
export interface SpawnStoreWorkersOptions extends StoreWorkerTarget {
  /** JSON-serializable options passed to the factory in every worker. */
  storeOptions: Record<string, unknown>;
  /** Master key every worker's manager uses. @default a fresh one (unless `keyring` is given) */
  masterKey?: string;
  /** Master keys of every worker's manager instead, primary first (for rotation). */
  keyring?: readonly string[];
  /** Workspace of the workers' managers. @default "race" */
  workspace?: string;
  /** Default environment of the workers' managers. @default "dev" */
  environment?: string;
  /** How many processes. @default 2 */
  count?: number;
}

/** Outcome of one write in a worker: `"ok"`, or the envkeep error code (`"ALREADY_EXISTS"`, …). */
export type WorkerOutcome = string;

/**
 * When a worker's writes ran: from the start of its first to the end of its last, in ms since
 * epoch with sub-millisecond precision (comparable between processes of one machine).
 */
export interface WriteWindow {
  first: number;
  last: number;
}

/** What a batch of writes in a worker came to: one outcome per write, and when they ran. */
export interface WorkerWrites {
  outcomes: WorkerOutcome[];
  window: WriteWindow;
}

/** What `rotate` in a worker reported (failures as `"name: CODE"`), and when it ran. */
export interface WorkerRotation {
  report: { total: number; rewrapped: number; alreadyCurrent: number; failed: string[] };
  window: WriteWindow;
}

/** What `read` answers for each name: its entries and version, or `null` when missing. */
export type WorkerReadResult = { entries: Record<string, string>; version: number } | null;

/** One running worker process. */
export interface StoreWorker {
  /** OS process id. */
  readonly pid: number;
  /** Index of this worker among those spawned together (0-based). */
  readonly index: number;
  /**
   * `create(name, { WINNER: String(index) })` for each name, in order, one at a time, starting at the
   * wall-clock time `startAt` (ms since epoch; see {@link startTime}) when given, so that several
   * workers start together.
   */
  createEach(names: readonly string[], startAt?: number): Promise<WorkerWrites>;
  /** Parallel `update(name, { [key]: String(index) })`, one call per key, starting at `startAt`. */
  updateKeys(name: string, keys: readonly string[], startAt?: number): Promise<WorkerWrites>;
  /**
   * `rounds` rounds, starting at `startAt`; in round `r`, all in parallel: `update(name, { R<r>:
   * String(index) })` of each name in `update`, and a read of the contents of each in `read`.
   * Outcomes (reads' too) in round order, then `update` and `read` order.
   */
  updateAndRead(
    names: { update: readonly string[]; read: readonly string[]; rounds: number },
    startAt?: number,
  ): Promise<WorkerWrites>;
  /** `rotate()` of the whole workspace, starting at `startAt`. */
  rotate(startAt?: number): Promise<WorkerRotation>;
  /**
   * `create(name, { N: String(i) })` for each name, one at a time; `onDone(i)` runs after the
   * worker reports the i-th create resolved (durable as far as the store is concerned).
   */
  createLoop(names: readonly string[], onDone?: (index: number) => void): Promise<WorkerOutcome[]>;
  /** Reads each named secret (entries and version), `null` when missing. */
  read(names: readonly string[]): Promise<WorkerReadResult[]>;
  /** Sends a signal (e.g. `"SIGKILL"`); resolves when the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Closes the worker's manager and store, and waits for the process to exit. */
  close(): Promise<void>;
}

/** A wall-clock start time shortly ahead, for workers to begin a race together. */
export const startTime = (delayMs = 250): number => Date.now() + delayMs;

/** `--import` argument that registers the TypeScript hooks, or none when TypeScript is absent. */
function typescriptImport(cwd: string): string[] {
  let typescriptPath: string | undefined;
  for (const base of [path.join(cwd, "package.json"), import.meta.url]) {
    try {
      typescriptPath = createRequire(base).resolve("typescript");
      break;
    } catch {
      // try the next base
    }
  }
  if (!typescriptPath) return [];
  const hooks = dataUrl(typescriptHooksSource(pathToFileURL(typescriptPath).href));
  const registration = `import { register } from "node:module"; register(${JSON.stringify(hooks)});`;
  return ["--import", dataUrl(registration)];
}

/**
 * Spawns `count` real Node processes, each opening the store with `storeOptions` and a manager with
 * the shared master key (or keyring); resolves when every one has opened its store. Close them (or
 * kill them) when done.
 *
 * @example
 * ```ts
 * const workers = await spawnStoreWorkers({
 *   cwd: fileURLToPath(new URL("..", import.meta.url)),
 *   storeModule: "@envkeep/store-sqlite",
 *   factoryName: "sqliteStore",
 *   storeOptions: { path: file },
 * });
 * const startAt = startTime();
 * const [a, b] = await Promise.all(workers.map((w) => w.createEach(["x", "y"], startAt)));
 * expect(overlapping([a.window, b.window])).toBe(true);
 * await Promise.all(workers.map((w) => w.close()));
 * ```
 */
export async function spawnStoreWorkers(options: SpawnStoreWorkersOptions): Promise<StoreWorker[]> {
  const count = options.count ?? 2;
  const keys = options.keyring
    ? { keyring: options.keyring }
    : { masterKey: options.masterKey ?? generateMasterKey() };
  const conditions = options.conditions ?? ["@envkeep/source"];
  const args = [
    ...conditions.map((condition) => `--conditions=${condition}`),
    ...(conditions.length > 0 ? typescriptImport(options.cwd) : []),
    "--input-type=module",
    "-e",
    WORKER_SOURCE,
  ];
  const started = Array.from({ length: count }, (_, index) =>
    startWorker(index, args, options.cwd, {
      storeModule: options.storeModule,
      factoryName: options.factoryName,
      storeOptions: options.storeOptions,
      ...keys,
      workspace: options.workspace ?? "race",
      environment: options.environment ?? "dev",
      index,
    }),
  );
  const settled = await Promise.allSettled(started);
  const failed = settled.find((result) => result.status === "rejected");
  if (failed) {
    for (const result of settled) {
      if (result.status === "fulfilled") await result.value.kill("SIGKILL");
    }
    throw (failed as PromiseRejectedResult).reason;
  }
  return settled.map((result) => (result as PromiseFulfilledResult<StoreWorker>).value);
}

type Reply = Record<string, unknown> & { id: number };

function startWorker(
  index: number,
  args: string[],
  cwd: string,
  config: Record<string, unknown>,
): Promise<StoreWorker> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ENVKEEP_STORE_WORKER: JSON.stringify(config) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const waiting = new Map<
    number,
    {
      resolve: (reply: Reply) => void;
      reject: (error: Error) => void;
      onProgress?: (n: number) => void;
    }
  >();
  const died = () =>
    new Error(
      `store worker ${index} (pid ${child.pid}) exited (${child.exitCode ?? child.signalCode})${stderr ? `: ${stderr.trim()}` : ""}`,
    );
  let buffer = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    buffer += chunk;
    for (let newline = buffer.indexOf("\n"); newline !== -1; newline = buffer.indexOf("\n")) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!line.startsWith(REPLY)) continue;
      const reply = JSON.parse(line.slice(REPLY.length)) as Reply;
      const pending = waiting.get(reply.id);
      if (!pending) continue;
      if (typeof reply.progress === "number") {
        pending.onProgress?.(reply.progress);
        continue;
      }
      waiting.delete(reply.id);
      if (typeof reply.error === "string") {
        pending.reject(new Error(`store worker ${index}: ${reply.error}`));
      } else pending.resolve(reply);
    }
  });
  void exited.then(() => {
    for (const pending of waiting.values()) pending.reject(died());
    waiting.clear();
  });

  let nextId = 1;
  const request = (
    message: Record<string, unknown>,
    onProgress?: (n: number) => void,
  ): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(died());
        return;
      }
      const id = nextId++;
      waiting.set(id, { resolve, reject, ...(onProgress ? { onProgress } : {}) });
      child.stdin.write(`${JSON.stringify({ id, ...message })}\n`);
    });

  const worker: StoreWorker = {
    pid: child.pid ?? -1,
    index,
    createEach: async (names, startAt) =>
      (await request({ op: "create", names, startAt })) as unknown as WorkerWrites,
    updateKeys: async (name, keys, startAt) =>
      (await request({ op: "update", name, keys, startAt })) as unknown as WorkerWrites,
    updateAndRead: async (names, startAt) =>
      (await request({ op: "updateAndRead", ...names, startAt })) as unknown as WorkerWrites,
    rotate: async (startAt) =>
      (await request({ op: "rotate", startAt })) as unknown as WorkerRotation,
    createLoop: async (names, onDone) =>
      (await request({ op: "loop", names }, onDone)).outcomes as WorkerOutcome[],
    read: async (names) => (await request({ op: "read", names })).results as WorkerReadResult[],
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await request({ op: "exit" }).catch(() => {});
        child.stdin.end();
      }
      await exited;
    },
  };

  return new Promise<StoreWorker>((resolve, reject) => {
    waiting.set(0, {
      resolve: () => resolve(worker),
      reject: (error) => {
        child.kill("SIGKILL");
        reject(error);
      },
    });
  });
}

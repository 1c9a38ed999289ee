/**
 * Two-OS-process tests, store-agnostic: real Node child processes open one store (by factory
 * module + JSON options, with one shared master key) and race on it.
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
import { AlreadyExistsError, generateMasterKey } from "@envkeep/core";
import { afterEach, describe, expect, it } from "vitest";

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
  /** Master key every worker's manager uses. @default a fresh one */
  masterKey?: string;
  /** Workspace of the workers' managers. @default "race" */
  workspace?: string;
  /** Default environment of the workers' managers. @default "dev" */
  environment?: string;
  /** How many processes. @default 2 */
  count?: number;
}

/** Outcome of one write in a worker: `"ok"`, or the envkeep error code (`"ALREADY_EXISTS"`, …). */
export type WorkerOutcome = string;

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
  createEach(names: readonly string[], startAt?: number): Promise<WorkerOutcome[]>;
  /** Parallel `update(name, { [key]: String(index) })`, one call per key, starting at `startAt`. */
  updateKeys(name: string, keys: readonly string[], startAt?: number): Promise<WorkerOutcome[]>;
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

const REPLY = "@@envkeep-worker ";

/** A wall-clock start time shortly ahead, for workers to begin a race together. */
export const startTime = (delayMs = 250): number => Date.now() + delayMs;

/** Source of the worker process (ESM, run with `-e` from the store package's directory). */
const WORKER_SOURCE = `
import { createInterface } from "node:readline";
const REPLY = ${JSON.stringify(REPLY)};
const config = JSON.parse(process.env.ENVKEEP_STORE_WORKER);
const send = (message) => process.stdout.write(REPLY + JSON.stringify(message) + "\\n");
/** Waits until the shared wall-clock instant \`startAt\`, spinning the last 2 ms for a tight start. */
const startTogether = async (startAt) => {
  if (typeof startAt !== "number") return;
  const wait = startAt - Date.now() - 2;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  while (Date.now() < startAt) {}
};
const outcome = (error) => (error && typeof error.code === "string" ? error.code : "ERROR: " + String(error && error.message));
try {
  const core = await import("@envkeep/core");
  const module = await import(config.storeModule);
  const factory = module[config.factoryName];
  if (typeof factory !== "function") throw new Error("no export " + config.factoryName + " in " + config.storeModule);
  const store = await factory(config.storeOptions);
  const manager = new core.SecretManager({
    store, masterKey: config.masterKey, workspace: config.workspace, environment: config.environment,
  });
  await store.count({ workspace: config.workspace, environment: config.environment });
  const ops = {
    async create({ names, startAt }) {
      await startTogether(startAt);
      const outcomes = [];
      for (const name of names) {
        outcomes.push(await manager.create(name, { WINNER: String(config.index) }).then(() => "ok", outcome));
      }
      return { outcomes };
    },
    async update({ name, keys, startAt }) {
      await startTogether(startAt);
      const outcomes = await Promise.all(keys.map((key) =>
        manager.update(name, { [key]: String(config.index) }).then(() => "ok", outcome)));
      return { outcomes };
    },
    async loop({ id, names }) {
      const outcomes = [];
      for (const [index, name] of names.entries()) {
        try { await manager.create(name, { N: String(index) }); outcomes.push("ok"); send({ id, progress: index }); }
        catch (error) { outcomes.push(outcome(error)); }
      }
      return { outcomes };
    },
    async read({ names }) {
      const results = [];
      for (const name of names) {
        try {
          const info = await manager.info(name);
          const entries = await manager.resolve([manager.fromName(name)]);
          results.push({ entries, version: info.version });
        } catch (error) {
          if (error && error.code === "NOT_FOUND") results.push(null); else throw error;
        }
      }
      return { results };
    },
  };
  send({ id: 0, ready: true });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    if (request.op === "exit") { await manager.close(); send({ id: request.id }); break; }
    ops[request.op](request).then(
      (result) => send({ id: request.id, ...result }),
      (error) => send({ id: request.id, error: outcome(error) }),
    );
  }
  process.exit(0);
} catch (error) {
  send({ id: 0, error: outcome(error) + (error && error.cause ? " (cause: " + String(error.cause.message ?? error.cause) + ")" : "") });
  process.exit(1);
}
`;

/** Module hooks that let a worker import TypeScript sources (`.ts`, and `.js` specifiers of them). */
function hooksSource(typescriptUrl: string): string {
  return `
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
const ts = (await import(${JSON.stringify(typescriptUrl)})).default;
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const relative = /^(\\.|\\/|file:)/.test(specifier);
    if (relative && specifier.endsWith(".js") && context.parentURL?.endsWith(".ts")) {
      return next(specifier.slice(0, -3) + ".ts", context);
    }
    throw error;
  }
}
export async function load(url, context, next) {
  if (!/\\.m?ts$/.test(url) || !url.startsWith("file:")) return next(url, context);
  const fileName = fileURLToPath(url);
  const source = await readFile(fileName, "utf8");
  const { outputText } = ts.transpileModule(source, {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
    },
  });
  return { format: "module", source: outputText, shortCircuit: true };
}
`;
}

const dataUrl = (source: string) => `data:text/javascript,${encodeURIComponent(source)}`;

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
  const hooks = dataUrl(hooksSource(pathToFileURL(typescriptPath).href));
  const registration = `import { register } from "node:module"; register(${JSON.stringify(hooks)});`;
  return ["--import", dataUrl(registration)];
}

/**
 * Spawns `count` real Node processes, each opening the store with `storeOptions` and a manager with
 * the shared master key; resolves when every one has opened its store. Close them (or kill them)
 * when done.
 *
 * @example
 * ```ts
 * const workers = await spawnStoreWorkers({
 *   cwd: fileURLToPath(new URL("..", import.meta.url)),
 *   storeModule: "@envkeep/store-sqlite",
 *   factoryName: "sqliteStore",
 *   storeOptions: { path: file },
 * });
 * const [a, b] = await Promise.all(workers.map((w) => w.createEach(["x", "y"])));
 * await Promise.all(workers.map((w) => w.close()));
 * ```
 */
export async function spawnStoreWorkers(options: SpawnStoreWorkersOptions): Promise<StoreWorker[]> {
  const count = options.count ?? 2;
  const masterKey = options.masterKey ?? generateMasterKey();
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
      masterKey,
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
      (await request({ op: "create", names, startAt })).outcomes as WorkerOutcome[],
    updateKeys: async (name, keys, startAt) =>
      (await request({ op: "update", name, keys, startAt })).outcomes as WorkerOutcome[],
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

/** Options of {@link runProcessRaceTests}. */
/**
 * Starts one worker that creates `crash-0`, `crash-1`, … in a loop (each with `{ N: index }`) and
 * kills it with SIGKILL once it has reported `killAfter` creates done. Resolves with the names it
 * reported done: every one of them must be readable afterwards.
 */
export async function killWriterMidLoop(
  options: StoreWorkerTarget & {
    storeOptions: Record<string, unknown>;
    masterKey: string;
    killAfter?: number;
  },
): Promise<string[]> {
  const killAfter = options.killAfter ?? 150;
  const [writer] = await spawnStoreWorkers({ ...options, count: 1 });
  const names = Array.from({ length: 5_000 }, (_, i) => `crash-${i}`);
  let reported = -1;
  let killing: Promise<void> | undefined;
  const loop = writer!
    .createLoop(names, (index) => {
      reported = Math.max(reported, index);
      if (index >= killAfter) killing ??= writer!.kill("SIGKILL");
    })
    .catch((error: Error) => error);
  expect(await loop).toBeInstanceOf(Error); // killed before finishing
  await killing;
  expect(reported).toBeGreaterThanOrEqual(killAfter);
  return names.slice(0, reported + 1);
}

export interface ProcessRaceTestOptions extends StoreWorkerTarget {
  /** Name shown in the describe title, e.g. `"sqlite"`. */
  name: string;
  /** Factory options of a fresh, empty store shared by the workers of one test (a new file, prefix…). */
  storeOptions: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Names raced for. @default 100 */
  names?: number;
  /** Updates per process. @default 200 */
  updates?: number;
  /** Per-test timeout in ms. @default 120000 */
  timeoutMs?: number;
}

/**
 * Registers the two-process race tests of a store (call at the top level of a vitest file):
 * two processes race to create the same 100 names (each created exactly once, the loser gets
 * `AlreadyExistsError`), and both run 200 updates of distinct keys of one secret at once (all 400
 * keys present, version 401).
 *
 * @example
 * ```ts
 * runProcessRaceTests({
 *   name: "sqlite",
 *   cwd: fileURLToPath(new URL("..", import.meta.url)),
 *   storeModule: "@envkeep/store-sqlite",
 *   factoryName: "sqliteStore",
 *   storeOptions: () => ({ path: path.join(dir, `race-${Date.now()}.db`) }),
 * });
 * ```
 */
export function runProcessRaceTests(options: ProcessRaceTestOptions): void {
  const names = options.names ?? 100;
  const updates = options.updates ?? 200;
  const timeout = options.timeoutMs ?? 120_000;

  describe(`two processes: ${options.name}`, () => {
    let workers: StoreWorker[] = [];
    const spawnTwo = async () => {
      workers = await spawnStoreWorkers({
        ...options,
        storeOptions: await options.storeOptions(),
        count: 2,
      });
      return workers as [StoreWorker, StoreWorker];
    };
    afterEach(async () => {
      await Promise.all(workers.map((worker) => worker.close()));
      workers = [];
    });

    it(
      `both race to create the same ${names} names: each created exactly once, the loser gets AlreadyExistsError`,
      async () => {
        const [a, b] = await spawnTwo();
        const raced = Array.from({ length: names }, (_, i) => `race-${i}`);
        const startAt = startTime();
        const [fromA, fromB] = await Promise.all([
          a.createEach(raced, startAt),
          b.createEach(raced, startAt),
        ]);
        const alreadyExists = new AlreadyExistsError("").code;
        for (const [i, name] of raced.entries()) {
          const pair = [fromA[i], fromB[i]].sort();
          expect(pair, `outcomes for ${name}`).toEqual([alreadyExists, "ok"]);
        }
        const stored = await a.read(raced);
        for (const [i, result] of stored.entries()) {
          const winner = fromA[i] === "ok" ? "0" : "1";
          expect(result, raced[i]).toEqual({ entries: { WINNER: winner }, version: 1 });
        }
      },
      timeout,
    );

    it(
      `both run ${updates} updates of distinct keys of one secret at once: all ${2 * updates} keys present`,
      async () => {
        const [a, b] = await spawnTwo();
        expect(await a.createEach(["shared"])).toEqual(["ok"]);
        const keysOf = (worker: number) =>
          Array.from({ length: updates }, (_, i) => `P${worker}_K${i}`);
        const startAt = startTime();
        const outcomes = await Promise.all([
          a.updateKeys("shared", keysOf(0), startAt),
          b.updateKeys("shared", keysOf(1), startAt),
        ]);
        expect(outcomes.flat().filter((outcome) => outcome !== "ok")).toEqual([]);
        const [result] = await b.read(["shared"]);
        const expected: Record<string, string> = { WINNER: "0" };
        for (const worker of [0, 1])
          for (const key of keysOf(worker)) expected[key] = String(worker);
        expect(result?.entries).toEqual(expected);
        expect(result?.version).toBe(2 * updates + 1);
      },
      timeout,
    );
  });
}

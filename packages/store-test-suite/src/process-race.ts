/**
 * Two-OS-process tests, store-agnostic: real Node child processes (see `store-worker.ts`) open
 * one store and race on it.
 */
import { AlreadyExistsError } from "@envkeep/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  type StoreWorker,
  type StoreWorkerTarget,
  spawnStoreWorkers,
  startTime,
} from "./store-worker.js";

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

/**
 * Two-OS-process tests, store-agnostic: real Node child processes (see `store-worker.ts`) open
 * one store and race on it.
 */
import { AlreadyExistsError, generateMasterKey } from "@envkeep/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  type StoreWorker,
  type StoreWorkerTarget,
  spawnStoreWorkers,
  startTime,
} from "./store-worker.js";
import { raceUntilOverlapping } from "./write-window.js";

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
  /** Secrets rotated while the other process updates half of them and reads the rest. @default 60 */
  rotated?: number;
  /** Per-test timeout in ms. @default 120000 */
  timeoutMs?: number;
}

/** Rounds of updates and reads beside the rotation (update keys `R0`, `R1`, …). */
const ROTATION_ROUNDS = 3;

/**
 * Registers the two-process race tests of a store (call at the top level of a vitest file):
 * two processes race to create the same 100 names (each created exactly once, the loser gets
 * `AlreadyExistsError`); both run 200 updates of distinct keys of one secret at once (all 400
 * keys present, version 401); and one rotates 60 secrets to a new master key while the other
 * updates half of them three times and reads the others (all readable with the new key alone, no
 * update lost). Each race is checked to have really overlapped in time, and is run again (twice
 * at most) when it did not.
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
  const rotated = options.rotated ?? 60;
  const timeout = options.timeoutMs ?? 120_000;

  describe(`two processes: ${options.name}`, () => {
    let workers: StoreWorker[] = [];
    /** Workers on one store; closed after the test, or by the next attempt of a race. */
    const spawn = async (
      storeOptions: Record<string, unknown>,
      keys: { masterKey?: string; keyring?: readonly string[] },
      count: number,
    ) => {
      const spawned = await spawnStoreWorkers({ ...options, ...keys, storeOptions, count });
      workers.push(...spawned);
      return spawned;
    };
    const closeAll = async () => {
      await Promise.all(workers.map((worker) => worker.close()));
      workers = [];
    };
    afterEach(closeAll);

    it(
      `both race to create the same ${names} names: each created exactly once, the loser gets AlreadyExistsError`,
      async () => {
        const raced = Array.from({ length: names }, (_, i) => `race-${i}`);
        const { a, fromA, fromB } = await raceUntilOverlapping(async () => {
          await closeAll();
          const [a, b] = await spawn(await options.storeOptions(), {}, 2);
          const startAt = startTime();
          const [fromA, fromB] = await Promise.all([
            a!.createEach(raced, startAt),
            b!.createEach(raced, startAt),
          ]);
          return { windows: [fromA.window, fromB.window], a: a!, fromA, fromB };
        });
        const alreadyExists = new AlreadyExistsError("").code;
        for (const [i, name] of raced.entries()) {
          const pair = [fromA.outcomes[i], fromB.outcomes[i]].sort();
          expect(pair, `outcomes for ${name}`).toEqual([alreadyExists, "ok"]);
        }
        const stored = await a.read(raced);
        expect(stored).toHaveLength(names);
        for (const [i, result] of stored.entries()) {
          const winner = fromA.outcomes[i] === "ok" ? "0" : "1";
          expect(result, raced[i]).toEqual({ entries: { WINNER: winner }, version: 1 });
        }
      },
      timeout,
    );

    it(
      `both run ${updates} updates of distinct keys of one secret at once: all ${2 * updates} keys present`,
      async () => {
        const keysOf = (worker: number) =>
          Array.from({ length: updates }, (_, i) => `P${worker}_K${i}`);
        const { b, runs } = await raceUntilOverlapping(async () => {
          await closeAll();
          const [a, b] = await spawn(await options.storeOptions(), {}, 2);
          expect((await a!.createEach(["shared"])).outcomes).toEqual(["ok"]);
          const startAt = startTime();
          const runs = await Promise.all([
            a!.updateKeys("shared", keysOf(0), startAt),
            b!.updateKeys("shared", keysOf(1), startAt),
          ]);
          return { windows: runs.map((run) => run.window), b: b!, runs };
        });
        expect(runs.flatMap((run) => run.outcomes)).toEqual(Array(2 * updates).fill("ok"));
        const [result] = await b.read(["shared"]);
        const expected: Record<string, string> = { WINNER: "0" };
        for (const worker of [0, 1])
          for (const key of keysOf(worker)) expected[key] = String(worker);
        expect(result?.entries).toEqual(expected);
        expect(result?.version).toBe(2 * updates + 1);
      },
      timeout,
    );

    it(
      `one rotates ${rotated} secrets to a new master key while the other updates half of them and reads the rest: all readable with the new key alone, no update lost`,
      async () => {
        const oldKey = generateMasterKey();
        const newKey = generateMasterKey();
        const secrets = Array.from({ length: rotated }, (_, i) => `rot-${i}`);
        // Updated ones are resealed by the writer too; only the rotation reseals the read ones.
        const updated = secrets.filter((_, i) => i % 2 === 0);
        const readOnly = secrets.filter((_, i) => i % 2 === 1);
        const { storeOptions, rotation, churn } = await raceUntilOverlapping(async () => {
          await closeAll();
          const storeOptions = await options.storeOptions();
          const [seeder] = await spawn(storeOptions, { masterKey: oldKey }, 1);
          expect((await seeder!.createEach(secrets)).outcomes).toEqual(Array(rotated).fill("ok"));
          // Both hold [new, old]: the new key seals, both open. Worker 0 rotates, worker 1 churns.
          const [rotator, writer] = await spawn(storeOptions, { keyring: [newKey, oldKey] }, 2);
          const startAt = startTime();
          const [rotation, churn] = await Promise.all([
            rotator!.rotate(startAt),
            writer!.updateAndRead(
              { update: updated, read: readOnly, rounds: ROTATION_ROUNDS },
              startAt,
            ),
          ]);
          return { windows: [rotation.window, churn.window], storeOptions, rotation, churn };
        });
        expect(rotation.report.failed).toEqual([]);
        expect(rotation.report.total).toBe(rotated);
        expect(rotation.report.rewrapped + rotation.report.alreadyCurrent).toBe(rotated);
        expect(rotation.report.rewrapped).toBeGreaterThanOrEqual(readOnly.length);
        // Every update applied, and every read during the rotation opened its secret.
        expect(churn.outcomes).toEqual(Array(rotated * ROTATION_ROUNDS).fill("ok"));

        await closeAll();
        const [reader] = await spawn(storeOptions, { masterKey: newKey }, 1);
        const stored = await reader!.read(secrets); // an IntegrityError here fails the test
        expect(stored).toHaveLength(rotated);
        const withUpdates: Record<string, string> = { WINNER: "0" };
        for (let round = 0; round < ROTATION_ROUNDS; round++) withUpdates[`R${round}`] = "1";
        for (const [i, result] of stored.entries()) {
          const expected =
            i % 2 === 0
              ? { entries: withUpdates, version: 1 + ROTATION_ROUNDS }
              : { entries: { WINNER: "0" }, version: 1 };
          expect(result, secrets[i]).toEqual(expected);
        }
      },
      timeout,
    );
  });
}

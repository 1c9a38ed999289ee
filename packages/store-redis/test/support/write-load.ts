/**
 * Writes from loops while a test breaks Redis: every create that the store acknowledged is kept
 * (with its time), every failure too, so that a test can tell when writes went through again and
 * check that nothing acknowledged was lost.
 */
import { type SecretManager, SecretsError } from "@envkeep/core";
import { expect } from "vitest";

export interface AcknowledgedWrite {
  /** Which store (manager) wrote it. */
  label: string;
  environment: string;
  name: string;
  /** When the call started (`Date.now()`). */
  startedAt: number;
  /** When the store acknowledged it (`Date.now()`). */
  at: number;
}

export interface FailedWrite {
  label: string;
  environment: string;
  error: unknown;
  at: number;
  /** How long the call took, in ms. */
  tookMs: number;
}

/** A call that has not settled within this long counts as hung. */
const HUNG_MS = 10_000;

/** Creates `<label>-w<writer>-<i>` in environment after environment, until stopped. */
export class WriteLoad {
  readonly acknowledged: AcknowledgedWrite[] = [];
  readonly failures: FailedWrite[] = [];
  readonly #writers: Promise<void>[] = [];
  #stopped = false;

  /**
   * Starts `writers` loops on each manager; loop `w` writes to environments `w`, `w + writers`, …
   * in turn, so every environment (and so many hash slots) gets writes all the time.
   */
  constructor(
    managers: { label: string; secrets: SecretManager }[],
    readonly environments: readonly string[],
    writers = 4,
  ) {
    for (const { label, secrets } of managers) {
      for (let w = 0; w < writers; w += 1)
        this.#writers.push(this.#loop(label, secrets, w, writers));
    }
  }

  async #loop(label: string, secrets: SecretManager, writer: number, writers: number) {
    for (let i = 0; !this.#stopped; i += 1) {
      const environment =
        this.environments[(writer + i * writers) % this.environments.length] ?? "dev";
      const name = `${label}-w${writer}-${i}`;
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          secrets.create(name, { V: name }, { environment }),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`hung for ${HUNG_MS} ms`)), HUNG_MS);
          }),
        ]);
        this.acknowledged.push({ label, environment, name, startedAt: started, at: Date.now() });
        await new Promise((resolve) => setImmediate(resolve));
      } catch (error) {
        this.failures.push({
          label,
          environment,
          error,
          at: Date.now(),
          tookMs: Date.now() - started,
        });
        // Never spin against a broken server: let timers (and the test) run.
        await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /**
   * The first write of `label` started after `since` (so not one already on its way) and
   * acknowledged, in one of `environments`, if any.
   */
  firstAfter(since: number, environments: ReadonlySet<string>, label?: string) {
    return this.acknowledged.find(
      (write) =>
        write.startedAt > since &&
        environments.has(write.environment) &&
        (label === undefined || write.label === label),
    );
  }

  /** Resolves once `check` holds (polling every 50 ms), or rejects after `withinMs`. */
  async until(what: string, check: () => boolean, withinMs: number): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops every loop and waits for the calls in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#writers);
  }

  /**
   * Every failure was an envkeep error (`StoreError` for an outage) that came back in bounded
   * time, never a hang, and none of their messages shows `secret` (a password).
   */
  expectBoundedFailures(ceilingMs: number, secret?: string): void {
    for (const failure of this.failures) {
      expect(failure.error, String(failure.error)).toBeInstanceOf(SecretsError);
      expect(failure.tookMs, String(failure.error)).toBeLessThanOrEqual(ceilingMs);
      if (secret) expect(String((failure.error as Error).message)).not.toContain(secret);
    }
  }

  /** Every acknowledged write of `label` is listed and reads back as written. */
  async expectAllPresent(label: string, secrets: SecretManager): Promise<number> {
    const mine = this.acknowledged.filter((write) => write.label === label);
    const byEnvironment = new Map<string, string[]>();
    for (const write of mine) {
      byEnvironment.set(write.environment, [
        ...(byEnvironment.get(write.environment) ?? []),
        write.name,
      ]);
    }
    for (const [environment, names] of byEnvironment) {
      const listed = new Set((await secrets.list({ environment })).map((info) => info.name));
      const missing = names.filter((name) => !listed.has(name));
      expect(missing, `acknowledged but missing in ${environment}`).toEqual([]);
      for (let i = 0; i < names.length; i += 50) {
        const batch = names.slice(i, i + 50);
        const values = await Promise.all(
          batch.map((name) => secrets.resolve([secrets.fromName(name, { environment })])),
        );
        expect(values).toEqual(batch.map((name) => ({ V: name })));
      }
    }
    return mine.length;
  }
}

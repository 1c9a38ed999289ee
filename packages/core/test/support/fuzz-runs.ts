/**
 * Run counts of property-based tests (fast-check). Each property keeps a CI-sized default;
 * `FAST_CHECK_RUNS=<n>` raises every property to at least `n` runs for a long local or nightly
 * session, e.g. `FAST_CHECK_RUNS=20000 vitest run --project core test/dotenv-fuzz.test.ts`.
 * A property whose single run is expensive passes `max` to stay within its test's time limit.
 */
export function fuzzRuns(ciDefault: number, options: { max?: number } = {}): number {
  const raw = process.env.FAST_CHECK_RUNS?.trim();
  if (!raw) return ciDefault;
  const runs = Number(raw);
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new Error(`FAST_CHECK_RUNS must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return Math.min(Math.max(ciDefault, runs), options.max ?? Number.POSITIVE_INFINITY);
}

/**
 * How many runs a property test makes: `ciSized` by default (small enough for every CI run),
 * or `FAST_CHECK_RUNS` when set, to search longer (e.g. `FAST_CHECK_RUNS=2000 pnpm test`).
 */
export function fuzzRuns(ciSized: number): number {
  const asked = Number(process.env.FAST_CHECK_RUNS);
  return Number.isSafeInteger(asked) && asked > 0 ? asked : ciSized;
}

/** Rejects when `work` takes longer than `ms`: a hang is a failure, not a stuck test run. */
export async function within<T>(ms: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

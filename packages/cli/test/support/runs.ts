/** fast-check run counts: `ciDefault` unless `FAST_CHECK_RUNS` asks for more (or fewer). */
export function fastCheckRuns(ciDefault: number): number {
  const asked = Number(process.env.FAST_CHECK_RUNS);
  return Number.isInteger(asked) && asked > 0 ? asked : ciDefault;
}

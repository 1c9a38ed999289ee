import type { WriteWindow } from "./store-worker.js";

/** True when some instant lies inside every window: the writers really ran at the same time. */
export function overlapping(windows: readonly WriteWindow[]): boolean {
  if (windows.length < 2) return false;
  const latestFirst = Math.max(...windows.map((window) => window.first));
  const earliestLast = Math.min(...windows.map((window) => window.last));
  return latestFirst < earliestLast;
}

/**
 * Runs `race` until its writers' windows overlap, at most `attempts` times, and resolves with that
 * run; throws when none did. Workers started together usually overlap, but a slow start (a busy
 * machine, a cold import) can let one finish before the other begins: that run proves nothing.
 */
export async function raceUntilOverlapping<T extends { windows: readonly WriteWindow[] }>(
  race: (attempt: number) => Promise<T>,
  attempts = 3,
): Promise<T> {
  const seen: string[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    const result = await race(attempt);
    if (overlapping(result.windows)) return result;
    seen.push(describeWindows(result.windows));
  }
  throw new Error(
    `the workers never wrote at the same time in ${attempts} attempts: ${seen.join("; ")}`,
  );
}

/** "0.0–12.3 ms, 15.1–30.4 ms": each window relative to the earliest start. */
function describeWindows(windows: readonly WriteWindow[]): string {
  const start = Math.min(...windows.map((window) => window.first));
  const ms = (time: number) => (time - start).toFixed(1);
  return windows.map((window) => `${ms(window.first)}–${ms(window.last)} ms`).join(", ");
}

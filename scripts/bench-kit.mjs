// What every envkeep benchmark shares: medians, interleaved rounds, the machine line, the
// 10-key payload. Benchmarks compare ratios measured in one run, never absolute figures.
import { cpus, loadavg, totalmem } from "node:os";

/** Rounds each benchmark measures. */
export const ROUNDS = 7;

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Milliseconds as right-aligned microseconds. */
export const us = (ms) => `${(ms * 1000).toFixed(1).padStart(8)} µs`;

/**
 * Per-call time (ms) of each of `calls`: ROUNDS rounds, each running `ops` sequential calls of
 * every one in turn (interleaved, so a change of machine load hits all alike); the median of the
 * rounds' means. Each call gets a running index (negative during warm-up).
 */
export async function measure(ops, ...calls) {
  for (const call of calls) for (let i = 0; i < Math.min(ops, 50); i++) await call(-1 - i); // warm-up
  const perOp = calls.map(() => []);
  const next = calls.map(() => 0);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [c, call] of calls.entries()) {
      const start = performance.now();
      for (let i = 0; i < ops; i++) await call(next[c]++);
      perOp[c].push((performance.now() - start) / ops);
    }
  }
  return perOp.map(median);
}

/** One line naming the machine and its load, printed at the top of every benchmark. */
export function machineLine() {
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  return `machine: ${cpus().length} CPU (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, load average ${load}; node ${process.version}`;
}

/** The secret both store benchmarks resolve and create: 10 keys, ~1.1 kB sealed. */
export const tenKeys = Object.fromEntries(
  Array.from({ length: 10 }, (_, i) => [`KEY_${i}`, `value-${i}-${"x".repeat(24)}`]),
);

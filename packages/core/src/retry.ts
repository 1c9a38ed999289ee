/** Jittered exponential backoff for compare-and-set retries across processes. */
export function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(2 ** Math.min(attempt, 6), 50);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** How many times a write retries a lost compare-and-set before giving up with ConflictError. */
export const MAX_WRITE_ATTEMPTS = 1_000;

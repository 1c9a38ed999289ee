import type { SecretStore } from "@envkeep/core";

/** A store whose next `replace` waits until {@link PausedReplace.release} is called. */
export interface PausedReplace {
  /** The wrapped store: every member delegates to the real one. */
  store: SecretStore;
  /** Resolves when the paused `replace` has been called (the manager has read and merged). */
  reached: Promise<void>;
  /** Lets the paused `replace` through to the real store. */
  release(): void;
}

/**
 * Wraps `inner` so that the first `replace` call stops before reaching the store, which gives a
 * test the gap between a manager's read and its compare-and-set to change the secret in.
 */
export function pauseNextReplace(inner: SecretStore): PausedReplace {
  let reachedNow!: () => void;
  let releaseNow!: () => void;
  const reached = new Promise<void>((resolve) => {
    reachedNow = resolve;
  });
  const released = new Promise<void>((resolve) => {
    releaseNow = resolve;
  });
  let paused = false;
  const replace: SecretStore["replace"] = async (record, expectedVersion, options) => {
    if (!paused) {
      paused = true;
      reachedNow();
      await released;
    }
    return inner.replace(record, expectedVersion, options);
  };
  // A proxy, not a spread: store classes keep their methods (and private fields) on the instance.
  const store = new Proxy(inner, {
    get(target, property) {
      if (property === "replace") return replace;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store, reached, release: releaseNow };
}

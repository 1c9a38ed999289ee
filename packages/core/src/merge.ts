/**
 * Merge rules. Results are built so that a key such as `__proto__` is an ordinary own property and
 * never touches a prototype (`Object.fromEntries`, or `defineProperty` for that one key).
 */

/**
 * Applies an update like `dict.update`: a string sets a key, `null` removes it. Returns the new
 * contents, or `undefined` when nothing would change.
 */
export function applyChanges(
  current: Readonly<Record<string, string>>,
  changes: ReadonlyMap<string, string | null>,
): Record<string, string> | undefined {
  const next = new Map(Object.entries(current));
  let changed = false;
  for (const [key, value] of changes) {
    if (value === null) {
      changed = next.delete(key) || changed;
    } else if (next.get(key) !== value) {
      next.set(key, value);
      changed = true;
    }
  }
  return changed ? Object.fromEntries(next) : undefined;
}

/** Layers one record over another, in order: the later layer wins on every key it holds. */
export function mergeLayers(
  layers: readonly Readonly<Record<string, string>>[],
): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const layer of layers) {
    for (const key of Object.keys(layer)) {
      const value = layer[key] as string;
      if (key === "__proto__") {
        Object.defineProperty(merged, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else merged[key] = value;
    }
  }
  return merged;
}

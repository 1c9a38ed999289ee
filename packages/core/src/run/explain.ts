import { InvalidError, NotFoundError } from "../errors.js";
import type { SecretOrigin } from "../secret.js";

/** Where one key of a resolved environment came from: a secret, or the plain `env` option. */
export type EnvOrigin = SecretOrigin | { kind: "env" };

/** Which layer supplied a key and which earlier layers it overrode. Names only, never values. */
export interface KeyExplanation {
  /** The layer whose value won (the last one holding the key). */
  from: EnvOrigin;
  /** Earlier layers that also held the key, in the order they were applied. */
  overrode: EnvOrigin[];
}

/** What `resolve(…, { explain: true })` returns. */
export interface ExplainedEnv {
  /** The merged environment, exactly what `resolve` returns without `explain`. */
  env: Record<string, string>;
  /** For each key of `env`: where it came from. */
  explain: Record<string, KeyExplanation>;
}

/** One layer of a resolution: its contents and where they came from. */
export interface EnvLayer {
  entries: Readonly<Record<string, string>>;
  origin: EnvOrigin;
}

/**
 * Merges layers in order (the later one wins) and records, for every key, the winning layer and
 * the layers it overrode. Built on `Map`s so a key like `__proto__` stays an ordinary key.
 */
export function explainLayers(layers: readonly EnvLayer[]): ExplainedEnv {
  const values = new Map<string, string>();
  const sources = new Map<string, EnvOrigin[]>();
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.entries)) {
      values.set(key, value);
      const seen = sources.get(key);
      if (seen) seen.push(layer.origin);
      else sources.set(key, [layer.origin]);
    }
  }
  const explain = new Map<string, KeyExplanation>();
  for (const [key, origins] of sources) {
    const from = origins[origins.length - 1] as EnvOrigin;
    explain.set(key, {
      from: { ...from },
      overrode: origins.slice(0, -1).map((origin) => ({ ...origin })),
    });
  }
  return { env: Object.fromEntries(values), explain: Object.fromEntries(explain) };
}

/**
 * Throws {@link NotFoundError} naming every key of `required` that `env` lacks.
 */
export function assertRequiredKeys(
  env: Readonly<Record<string, string>>,
  required: readonly string[],
): void {
  const missing = required.filter((key) => !Object.hasOwn(env, key));
  if (missing.length > 0) {
    throw new NotFoundError(`missing required keys: ${missing.join(", ")}`);
  }
}

/** Names where a layer came from, for messages (names only, never values). */
export function describeOrigin(origin: EnvOrigin): string {
  switch (origin.kind) {
    case "named":
      return `secret "${origin.name}" (environment "${origin.environment}")`;
    case "dotenv":
      return "a .env file";
    case "ephemeral":
      return "an ephemeral secret";
    case "env":
      return "the env option";
  }
}

/**
 * A child that could not start because its command was not found: when the resolved `PATH` came
 * from a secret (or a .env file, or the `env` option), the message says which, since a secret
 * holding `PATH` is the usual reason. Any other error is returned as it is.
 */
export function explainStartFailure(error: unknown, explain: ExplainedEnv["explain"]): unknown {
  const code = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  const path = Object.hasOwn(explain, "PATH") ? explain.PATH : undefined;
  if (!(error instanceof InvalidError) || code !== "ENOENT" || !path) return error;
  return new InvalidError(
    `${error.message}; PATH was set by ${describeOrigin(path.from)}, so the command was looked up there`,
    { cause: error.cause },
  );
}

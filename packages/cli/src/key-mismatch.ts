import { UnknownKeyError } from "@envkeep/core";

function heldKeys(error: UnknownKeyError): string {
  if (error.heldKeyIds.length === 0) return "no master key";
  return `master key ${error.heldKeyIds.join(", ")}`;
}

/**
 * One short line for a record sealed under a key the CLI was not given: which key id is held,
 * which one sealed it, and the likely cause. Key ids only, never any part of a key.
 */
export function describeKeyMismatch(error: unknown): string | undefined {
  if (!(error instanceof UnknownKeyError) || !error.secret) return undefined;
  const { name, environment } = error.secret;
  return `${heldKeys(error)} does not open secret "${name}" in environment "${environment}": it was sealed under key ${error.keyId} (wrong ENVKEEP_MASTER_KEY?)`;
}

/** The same, for a write refused because the key opens none of the environment's secrets. */
export function describeForeignEnvironment(error: UnknownKeyError, environment: string): string {
  return `${heldKeys(error)} opens none of the newest secrets in environment "${environment}" (sealed under key ${error.keyId}): check ENVKEEP_MASTER_KEY; nothing was written`;
}

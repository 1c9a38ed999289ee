import { assertEnvironmentName, assertWorkspaceName } from "./validation/validate.js";

/** The environment used when nothing else names one. */
export const DEFAULT_ENVIRONMENT = "main";
/** The workspace used when nothing else names one. */
export const DEFAULT_WORKSPACE = "default";

/**
 * Picks the environment of a call: the call's own option → the manager's option →
 * `ENVKEEP_ENVIRONMENT` → `"main"`. The result is validated.
 */
export function resolveEnvironment(
  explicit: string | undefined,
  managerDefault: string | undefined,
  env: Record<string, string | undefined> = process.env,
): string {
  const environment =
    explicit ?? managerDefault ?? (env.ENVKEEP_ENVIRONMENT || undefined) ?? DEFAULT_ENVIRONMENT;
  assertEnvironmentName(environment);
  return environment;
}

/** Picks the workspace: the manager's option → `ENVKEEP_WORKSPACE` → `"default"`. Validated. */
export function resolveWorkspace(
  explicit: string | undefined,
  env: Record<string, string | undefined> = process.env,
): string {
  const workspace = explicit ?? (env.ENVKEEP_WORKSPACE || undefined) ?? DEFAULT_WORKSPACE;
  assertWorkspaceName(workspace);
  return workspace;
}

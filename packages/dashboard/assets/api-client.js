// @ts-check
/**
 * The page's client of the HTTP API under `v1/` (relative to the page, so the app can be mounted
 * under any prefix). The token lives in this tab's sessionStorage only (see app.js) and travels
 * as the Authorization header; no cookie is ever sent. The API returns metadata only, never a
 * value.
 */

/**
 * @typedef {{ secret_id: string, name: string, environment: string, created_at: string,
 *   updated_at: string, keys: string[], version: number, created_by?: string, updated_by?: string }} SecretJson
 * @typedef {{ added: string[], changed: string[], removed: string[] }} ChangeJson
 * @typedef {{ version: number, updated_at: string, updated_by?: string, keys: string[],
 *   change?: ChangeJson }} VersionJson
 * @typedef {{ id: string, name: string, scope: "read" | "write" | "admin", environments: string[] | null }} TokenJson
 */

/** An error answer of the API, or a failure to reach it. */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The signed-in token, sent with every call (none before sign-in). */
export const session = {
  /** @type {string | undefined} */ token: undefined,
};

/**
 * Calls the API. Resolves with the parsed JSON (or `undefined` for 204); rejects with `ApiError`.
 * @param {string} method @param {string} path
 * @param {{ query?: Record<string, string | undefined>, body?: unknown, headers?: Record<string, string> }} [options]
 */
export async function api(method, path, options = {}) {
  const url = new URL(`v1/${path}`, document.baseURI);
  for (const [name, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json", ...options.headers };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "UNREACHABLE", "The server could not be reached. Try again.");
  }
  if (response.status === 204) return undefined;
  const json = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = json?.error ?? {};
    throw new ApiError(
      response.status,
      String(error.code ?? "ERROR"),
      String(error.message ?? response.statusText),
    );
  }
  return json;
}

/** What `guarded` does when the API refuses the token (app.js signs out). */
let onUnauthorized = () => {};

/** @param {() => void} handler */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/**
 * Runs an API action; a refused token (401) goes to the `whenUnauthorized` handler, any other
 * API error to `onError`.
 * @param {() => Promise<void>} action @param {(error: ApiError) => void} onError
 */
export async function guarded(action, onError) {
  try {
    await action();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) {
      onUnauthorized();
      return;
    }
    onError(error);
  }
}

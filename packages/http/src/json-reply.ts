/**
 * The API's JSON answers, built as plain `Response`s with a plain header object: under
 * `@hono/node-server` such a response is written straight to the socket, where one built through
 * Hono's `c.header`/`c.json` first becomes a `Headers` object (validated, then copied back out).
 * That difference was about a tenth of a metadata GET's throughput (40 → 45 % of a bare route).
 */

/**
 * Headers every answer of the API carries: metadata of secrets is not for caches, and a JSON
 * answer is never to be sniffed into something else.
 */
export const API_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/** Responses built by {@link jsonReply}: they carry {@link API_HEADERS} already. */
const complete = new WeakSet<Response>();

/** `body` as JSON with `status`, {@link API_HEADERS} and `headers` (lower-case names). */
export function jsonReply(
  body: unknown,
  status: number,
  headers?: Readonly<Record<string, string>>,
): Response {
  const response = new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...API_HEADERS, ...headers },
  });
  complete.add(response);
  return response;
}

/** Whether `response` was built by {@link jsonReply} (so it carries {@link API_HEADERS}). */
export const carriesApiHeaders = (response: Response): boolean => complete.has(response);

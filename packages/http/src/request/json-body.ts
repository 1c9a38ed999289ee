/**
 * Reads a request's JSON body under a size limit: 415 unless it is `application/json` (UTF-8,
 * not compressed), 413 past the limit (from `Content-Length` before anything is read, else as
 * the bytes arrive), 400 for an empty body, bytes that are not UTF-8, or text that is not JSON.
 * No message quotes the body: a parser's message would (V8's `JSON.parse` does).
 */
import { HttpError } from "../errors.js";

/** The default body limit: room for a secret at core's default limit of 1 MiB, JSON-encoded. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

const JSON_MEDIA_TYPE = /^application\/json\s*(?:;|$)/i;

function checkContentType(contentType: string | null): void {
  if (contentType === null || !JSON_MEDIA_TYPE.test(contentType)) {
    throw new HttpError(
      415,
      "INVALID",
      "the request body must be JSON: send Content-Type: application/json",
    );
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType)?.[1];
  if (charset !== undefined && charset.toLowerCase() !== "utf-8") {
    throw new HttpError(415, "INVALID", "the request body must be UTF-8 JSON");
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, "INVALID", `the request body is larger than ${limit} bytes`);
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        reader.cancel().catch(() => {});
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, "INVALID", "the request body could not be read");
  }
  return concat(chunks, size);
}

/**
 * The parsed JSON body of `request`, read under `limit` bytes.
 * @throws {HttpError} 415, 413 or 400 as above.
 */
export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  checkContentType(request.headers.get("content-type"));
  const encoding = request.headers.get("content-encoding");
  if (encoding !== null && encoding.trim().toLowerCase() !== "identity") {
    throw new HttpError(415, "INVALID", "the request body must not be compressed");
  }
  const bytes = await readLimited(request, limit);
  if (bytes.byteLength === 0) {
    throw new HttpError(400, "INVALID", "the request body is empty: expected a JSON object");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "INVALID", "the request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "INVALID", "the request body is not valid JSON");
  }
}

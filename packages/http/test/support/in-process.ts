/**
 * The API in-process, on a real store (a SQLite file by default): `api.fetch(new Request(…))`
 * through the file's {@link ResponseChecker}, tokens of each scope, the access log collected, and
 * a snapshot of everything stored (to prove a failed request changed nothing).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  type AccessTokenInfo,
  generateMasterKey,
  SecretManager,
  type SecretStore,
  TOKEN_ENVIRONMENT,
} from "@envkeep/core";
import { type AccessLogEntry, type ApiOptions, createApi } from "@envkeep/http";
import { memoryStore } from "@envkeep/store-memory";
import { sqliteStore } from "@envkeep/store-sqlite";
import { afterAll } from "vitest";
import { ResponseChecker } from "./response-check.js";

/** The checker of this test file: every in-process response goes through it. */
export const checker = new ResponseChecker();

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A fresh temp directory, removed after the file's tests. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `envkeep-http-${label}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RequestOptions {
  /** Bearer token; `null` for none. @default the write token */
  token?: string | null;
  /** Sent as JSON with `Content-Type: application/json`. */
  json?: unknown;
  /** A raw body (with `headers` to say what it is). */
  body?: RequestInit["body"];
  headers?: Record<string, string>;
}

export interface InProcessOptions extends Partial<Omit<ApiOptions, "manager">> {
  store?: "sqlite" | "memory" | SecretStore;
  /** The manager's default environment. */
  environment?: string;
  workspace?: string;
}

/** Everything stored but token bookkeeping, as text: equal before and after = nothing changed. */
export async function storedState(store: SecretStore, workspace: string): Promise<string> {
  const environments = (await store.environments(workspace)).filter(
    (environment) => environment !== TOKEN_ENVIRONMENT,
  );
  const parts: string[] = [];
  for (const environment of environments.sort()) {
    parts.push(JSON.stringify([environment, await store.list({ workspace, environment })]));
  }
  return parts.join("\n");
}

/** JSON of a response, for assertions (tests index into it freely). */
// biome-ignore lint/suspicious/noExplicitAny: assertions index into arbitrary JSON
export type JsonBody = any;

/** A response's status, headers and parsed JSON body. */
export interface CallResult {
  status: number;
  headers: Headers;
  body: JsonBody;
}

export interface InProcessApi {
  api: ReturnType<typeof createApi>;
  manager: SecretManager;
  store: SecretStore;
  masterKey: string;
  log: AccessLogEntry[];
  /** A token of `scope` (registered as a canary). */
  token(
    scope: "read" | "write" | "admin",
    extra?: { environments?: string[]; expiresAt?: Date },
  ): Promise<{ token: string; info: AccessTokenInfo }>;
  /** The write token every request carries unless told otherwise. */
  writer: { token: string; info: AccessTokenInfo };
  request(method: string, target: string, options?: RequestOptions): Promise<Response>;
  call(method: string, target: string, options?: RequestOptions): Promise<CallResult>;
  /** Everything stored but token bookkeeping (see {@link storedState}). */
  state(): Promise<string>;
}

export async function inProcessApi(options: InProcessOptions = {}): Promise<InProcessApi> {
  const { store: storeOption = "sqlite", environment, workspace = "acme", ...apiOptions } = options;
  const store =
    storeOption === "memory"
      ? memoryStore()
      : storeOption === "sqlite"
        ? sqliteStore({ path: path.join(tempDir("db"), "secrets.db") })
        : storeOption;
  const masterKey = generateMasterKey();
  const manager = new SecretManager({
    store,
    masterKey,
    workspace,
    ...(environment === undefined ? {} : { environment }),
    actor: "http-test",
  });
  cleanups.push(() => manager.close());
  const log: AccessLogEntry[] = [];
  const api = createApi({ manager, accessLog: (entry) => log.push(entry), ...apiOptions });
  const fetch = checker.wrap((request) => api.fetch(request));

  const token = async (
    scope: "read" | "write" | "admin",
    extra: { environments?: string[]; expiresAt?: Date } = {},
  ): Promise<{ token: string; info: AccessTokenInfo }> => {
    const created = await manager.tokens.create({ name: `${scope}-token`, scope, ...extra });
    checker.canary(created.token);
    return created;
  };
  const writer = await token("write");

  const request = (method: string, target: string, opts: RequestOptions = {}) => {
    const headers = new Headers(opts.headers);
    const bearer = opts.token === undefined ? writer.token : opts.token;
    if (bearer !== null && !headers.has("authorization")) {
      headers.set("authorization", `Bearer ${bearer}`);
    }
    let body = opts.body ?? null;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
    const init: RequestInit & { duplex?: "half" } = { method, headers, body };
    if (body instanceof ReadableStream) init.duplex = "half";
    // Concatenated, not resolved: "//x" must stay a path, not become a host.
    return fetch(new Request(`http://envkeep.test${target}`, init));
  };

  return {
    api,
    manager,
    store,
    masterKey,
    log,
    token,
    writer,
    request,
    /** The JSON body of a request's response, with its status. */
    async call(method, target, opts = {}) {
      const response = await request(method, target, opts);
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: text === "" ? undefined : JSON.parse(text),
      };
    },
    state: () => storedState(store, workspace),
  };
}

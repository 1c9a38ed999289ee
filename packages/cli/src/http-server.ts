/**
 * The Node server behind `envkeep serve`: a fetch handler on `@hono/node-server`, over HTTP or
 * HTTPS, with a graceful stop (no new connections, in-flight requests finish, idle keep-alive
 * connections close, the rest are cut after a deadline).
 */
import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { InvalidError } from "@envkeep/core";
import { createAdaptorServer } from "@hono/node-server";

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  port: number;
  host: string;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: Buffer; key: Buffer };
}

/** A listening server. */
export interface RunningServer {
  /** `http://127.0.0.1:8787` (the real port when 0 was asked for). */
  url: string;
  /** Requests being answered now. */
  readonly inFlight: number;
  /**
   * Stops: no new connections; requests in flight finish (their connections then close); after
   * `timeoutMs` whatever is left is cut. Resolves when every connection is closed.
   */
  stop(timeoutMs: number): Promise<void>;
}

/** `host:port` for a URL (IPv6 literals in brackets). */
function authority(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * Starts listening.
 * @throws {InvalidError} when it cannot listen (address in use, no permission…).
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  let inFlight = 0;
  let stopping = false;
  const fetch = async (request: Request): Promise<Response> => {
    inFlight++;
    try {
      const response = await options.fetch(request);
      // While stopping, each answer closes its connection behind it.
      if (stopping) response.headers.set("Connection", "close");
      return response;
    } finally {
      inFlight--;
    }
  };
  const server = (
    options.tls
      ? createAdaptorServer({
          fetch,
          createServer: createHttpsServer,
          serverOptions: { cert: options.tls.cert, key: options.tls.key },
        })
      : createAdaptorServer({ fetch })
  ) as Server;

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      reject(
        new InvalidError(
          `cannot listen on ${authority(options.host, options.port)} (${error.code ?? "error"})`,
        ),
      );
    };
    server.once("error", failed);
    server.listen(options.port, options.host, () => {
      server.off("error", failed);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? "https" : "http"}://${authority(options.host, port)}`;

  return {
    url,
    get inFlight() {
      return inFlight;
    },
    stop(timeoutMs) {
      stopping = true;
      return new Promise<void>((resolve) => {
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(deadline);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}

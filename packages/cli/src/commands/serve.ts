import { InvalidError, redactStoreUrl, resolveStoreUrl } from "@envkeep/core";
import { type Command, Option } from "commander";
import { auditLogTo } from "../audit-log.js";
import { type GlobalOptions, type ManagerExtras, openManager } from "../context.js";
import { quotePath } from "../entries.js";
import type { startHttpServer } from "../http-server.js";
import { UsageError, writeLine } from "../io.js";

type Globals = (command: Command) => GlobalOptions;

/**
 * `--body-limit`'s default: `DEFAULT_BODY_LIMIT` of `@envkeep/http` (a test keeps them equal),
 * stated here so that `envkeep --help` need not load the HTTP stack.
 */
export const SERVE_BODY_LIMIT = 2 * 1024 * 1024;

/** Stop signals: the first one stops gracefully. */
const SIGNALS = ["SIGTERM", "SIGINT"] as const;

function integer(text: string, option: string, min: number, max: number): number {
  const value = /^[0-9]{1,10}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${option} takes an integer from ${min} to ${max}`);
  }
  return value;
}

/** True for addresses only this machine can reach. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function readPem(file: string, option: string): Promise<Buffer> {
  try {
    // Imported here, not at the top: most commands never read a file.
    return await (await import("node:fs/promises")).readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new InvalidError(`cannot read ${option} file ${quotePath(file)} (${code})`);
  }
}

/** `envkeep serve`: the HTTP API (`@envkeep/http`) on a Node server. */
export function registerServeCommand(program: Command, globals: Globals): void {
  program
    .command("serve")
    .description("serve the HTTP API (/v1/secrets…) of the store, with bearer tokens")
    .option("--port <port>", "TCP port (0: any free one)", "8787")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--tls-cert <path>", "PEM certificate: serve HTTPS (with --tls-key)")
    .option("--tls-key <path>", "PEM private key of --tls-cert")
    .option("--body-limit <bytes>", "largest request body accepted", String(SERVE_BODY_LIMIT))
    .option(
      "--shutdown-timeout <seconds>",
      "on SIGTERM, how long requests in flight may take to finish",
      "10",
    )
    .addOption(new Option("--no-access-log", "do not log one line per request on stderr"))
    .addOption(
      new Option("--no-audit-log", "do not log audit events (one JSON line per write) on stderr"),
    )
    .option("--audit-reads", "also log each read of values in the audit log")
    .addOption(new Option("--no-dashboard", "do not serve the dashboard page at /"))
    .addHelpText(
      "after",
      `
The store comes from --store or ENVKEEP_STORE (default sqlite:./.envkeep/secrets.db), the master
key from ENVKEEP_MASTER_KEY; -e sets the environment of requests that name none. Callers need a
token: envkeep token create --name NAME --scope read|write|admin [--environment ENV].
Each request is logged on stderr as one line: time, method, route, status, ms, token id.
Each write is also logged there as one JSON line, its audit event: at, action, workspace,
environment, name, version, actor (the token's id), keys (key names, never values); turn it off
with --no-audit-log. --audit-reads also logs reads of values (action "read"); the API's routes
return metadata only, so today they make none. Old versions kept per secret: --max-versions.
The dashboard (open the URL in a browser, sign in with a token) is served at / unless
--no-dashboard.
SIGTERM or SIGINT stops it: requests in flight finish, then the store closes.

Examples:
  $ envkeep serve --port 8787
  $ envkeep serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem`,
    )
    .action(async (options, command: Command) => {
      const opts = globals(command);
      const port = integer(options.port, "--port", 0, 65_535);
      const bodyLimit = integer(options.bodyLimit, "--body-limit", 1, 1_073_741_824);
      const shutdownMs = integer(options.shutdownTimeout, "--shutdown-timeout", 0, 86_400) * 1000;
      const host = String(options.host).trim();
      if (host === "" || /[\s/=]/.test(host)) throw new UsageError("--host takes an address");
      if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
        throw new UsageError("--tls-cert and --tls-key go together");
      }
      if (options.auditLog === false && options.auditReads) {
        throw new UsageError("--audit-reads needs the audit log: drop --no-audit-log");
      }
      const audit: ManagerExtras =
        options.auditLog === false
          ? {}
          : {
              onAudit: auditLogTo(process.stderr),
              ...(options.auditReads ? { auditReads: true } : {}),
            };
      const tls =
        options.tlsCert === undefined
          ? undefined
          : {
              cert: await readPem(options.tlsCert, "--tls-cert"),
              key: await readPem(options.tlsKey, "--tls-key"),
            };

      // The HTTP stack (Hono, the API, the dashboard, the Node server) loads only for `serve`.
      const [{ createApi, formatAccessLog }, { startHttpServer }] = await Promise.all([
        import("@envkeep/http"),
        import("../http-server.js"),
      ]);
      const manager = await openManager(opts, audit);
      let server: Awaited<ReturnType<typeof startHttpServer>>;
      try {
        const api = createApi({
          manager,
          bodyLimit,
          dashboard: options.dashboard !== false,
          ...(options.accessLog === false
            ? {}
            : { accessLog: (entry) => writeLine(formatAccessLog(entry), process.stderr) }),
        });
        server = await startHttpServer({
          fetch: api.fetch,
          port,
          host,
          ...(tls === undefined ? {} : { tls }),
        });
      } catch (error) {
        await manager.close().catch(() => {});
        throw error;
      }

      if (!tls && !isLoopback(host)) {
        writeLine(
          `envkeep: warning: plain HTTP on ${host}: tokens would cross the network in clear; use --tls-cert and --tls-key, or a TLS proxy in front`,
          process.stderr,
        );
      }
      // The first signal stops gracefully; ours are removed then, so a second one ends at once.
      // They are in place before the line that says the server is up: a supervisor (or a test)
      // that signals as soon as it reads it must not meet the default action (exit at once).
      const handlers = new Map<string, () => void>();
      const stopSignal = new Promise<string>((resolve) => {
        for (const name of SIGNALS) {
          const handler = () => resolve(name);
          handlers.set(name, handler);
          process.once(name, handler);
        }
      });
      const store = redactStoreUrl(resolveStoreUrl(opts.store));
      writeLine(
        `envkeep: serving workspace "${manager.workspace}" of ${store} on ${server.url} (SIGTERM or Ctrl-C stops)`,
        process.stderr,
      );
      if (options.dashboard !== false) {
        writeLine(`envkeep: dashboard at ${server.url}/ (sign in with a token)`, process.stderr);
      }
      const signal = await stopSignal;
      for (const [name, handler] of handlers) process.off(name, handler);
      writeLine(
        `envkeep: ${signal}: stopping (${server.inFlight} requests in flight)`,
        process.stderr,
      );
      await server.stop(shutdownMs);
      await manager.close().catch(() => {});
      writeLine("envkeep: stopped; store closed", process.stderr);
    });
}

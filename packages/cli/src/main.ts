import { createRequire } from "node:module";
import { isSecretsError, redactStoreUrl } from "@envkeep/core";
import { Command, CommanderError, Option } from "commander";
import { describeCommanderError, routeErrors } from "./commander-errors.js";
import { registerKeyCommands } from "./commands/key.js";
import { assertRunArgv, registerRunCommand } from "./commands/run.js";
import { registerSecretCommands } from "./commands/secret.js";
import { registerServeCommand } from "./commands/serve.js";
import { registerStatusCommand } from "./commands/status.js";
import { registerTokenCommands } from "./commands/token.js";
import { errorContext, type GlobalOptions } from "./context.js";
import { assertNotAssignment } from "./entries.js";
import { UsageError } from "./io.js";
import { describeKeyMismatch } from "./key-mismatch.js";
import { printable } from "./printable.js";

/** The version of this package (package.json sits one level above src/ and dist/). */
const CLI_VERSION = (createRequire(import.meta.url)("../package.json") as { version: string })
  .version;

/** Exit code of an envkeep error (not found, invalid, store unavailable…). */
export const EXIT_ERROR = 1;
/** Exit code of a usage error (unknown option, missing argument, bad KEY=VALUE…). */
export const EXIT_USAGE = 2;

function globals(command: Command): GlobalOptions {
  const all = command.optsWithGlobals<GlobalOptions>();
  if (all.env !== undefined) assertNotAssignment(all.env, "--env");
  if (all.workspace !== undefined) assertNotAssignment(all.workspace, "--workspace");
  // A store URL starts with its scheme; a word without one but with "=" is a misplaced KEY=VALUE.
  if (all.store !== undefined && !/^[a-z][a-z0-9+.-]*:/i.test(all.store.trim())) {
    assertNotAssignment(all.store, "--store");
  }
  return {
    ...(all.store === undefined ? {} : { store: all.store }),
    ...(all.workspace === undefined ? {} : { workspace: all.workspace }),
    ...(all.env === undefined ? {} : { env: all.env }),
    ...(all.verbose ? { verbose: true } : {}),
    ...(all.maxVersions === undefined ? {} : { maxVersions: all.maxVersions }),
  };
}

/** The `envkeep` program (commander), with every command registered. */
export function createProgram(): Command {
  const program = new Command("envkeep")
    .description("Encrypted, environment-scoped secrets: manage them and run commands with them.")
    .addOption(
      new Option(
        "--store <url>",
        "memory:, sqlite:<path> or redis://… (default: $ENVKEEP_STORE, else sqlite:./.envkeep/secrets.db)",
      ),
    )
    .addOption(
      new Option("--workspace <name>", "workspace (default: $ENVKEEP_WORKSPACE, else default)"),
    )
    .addOption(
      new Option("-e, --env <name>", "environment (default: $ENVKEEP_ENVIRONMENT, else main)"),
    )
    .addOption(
      new Option("--verbose", "say on stderr which store, workspace and environment are used"),
    )
    .addOption(
      new Option(
        "--max-versions <count>",
        "old versions each write keeps per secret, 0 to 1000 (default: $ENVKEEP_MAX_VERSIONS, else 10)",
      ),
    )
    .version(CLI_VERSION, "-V, --version", "print the version of envkeep")
    .showHelpAfterError(false)
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      "after",
      `
The master key comes from ENVKEEP_MASTER_KEY (or ENVKEEP_MASTER_KEYS=new,old while rotating).

Examples:
  $ export ENVKEEP_MASTER_KEY="$(envkeep key generate)"
  $ envkeep secret create api-keys API_KEY=- < key.txt
  $ envkeep secret list
  $ envkeep run --secret api-keys -- node server.js
  $ envkeep serve --port 8787    # the HTTP API; callers need \`envkeep token create\``,
    );
  registerSecretCommands(program, globals);
  registerRunCommand(program, globals);
  registerKeyCommands(program, globals);
  registerServeCommand(program, globals);
  registerTokenCommands(program, globals);
  registerStatusCommand(program, globals);
  routeErrors(program);
  return program;
}

/** Longest error line shown: messages quote input, and input can be megabytes long. */
const MAX_MESSAGE_LENGTH = 1_000;

/** One line, every control character escaped, passwords in URLs hidden, at most 1000 characters. */
function oneLine(text: string): string {
  // The scheme is bounded so that a long run of letters costs linear time, not quadratic.
  const line = printable(
    redactStoreUrl(text.trim()).replace(
      /([a-z][a-z0-9+.-]{0,31}:\/\/[^/@:\s]*:)[^/@\s]*@/gi,
      "$1***@",
    ),
  );
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH)}…` : line;
}

/**
 * The one stderr line for an error, and the exit code. Never includes a secret value, nor an
 * unknown option or command (it may be a value pasted in the wrong place); text from a store is
 * shown with control characters escaped.
 */
export function describeError(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CommanderError) {
    const message = describeCommanderError(error) ?? "";
    return { message: oneLine(message), exitCode: EXIT_USAGE };
  }
  if (error instanceof UsageError) return { message: oneLine(error.message), exitCode: EXIT_USAGE };
  if (isSecretsError(error)) {
    let message = describeKeyMismatch(error) ?? error.message;
    // A store error's cause (e.g. "SQLITE_NOTADB: file is not a database") is what the operator
    // needs; stores only ever see sealed records, so it cannot hold a value.
    if (error.code === "STORE_UNAVAILABLE" && error.cause instanceof Error && error.cause.message) {
      message += `: ${error.cause.message.split("\n")[0]?.slice(0, 200)}`;
    }
    return { message: oneLine(message + errorContext(error)), exitCode: EXIT_ERROR };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return {
    message: `unexpected error${code ? ` (${code})` : ""}: ${oneLine(error instanceof Error ? error.message : String(error)).slice(0, 200)}`,
    exitCode: EXIT_ERROR,
  };
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code. Errors are
 * printed on stderr as one line `envkeep: <message>`.
 *
 * @example
 * ```ts
 * import { main } from "@envkeep/cli";
 * process.exitCode = await main(["secret", "list", "--json"]);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  process.exitCode = undefined;
  try {
    assertRunArgv(argv, program);
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError && describeCommanderError(error) === undefined) {
      return error.exitCode; // help or version, as asked
    }
    const { message, exitCode } = describeError(error);
    process.stderr.write(`envkeep: ${message}\n`);
    return exitCode;
  }
}

import { constants } from "node:os";
import { assertKey, assertSecretName, type EnvOrigin } from "@envkeep/core";
import type { Command } from "commander";
import { type GlobalOptions, withManager } from "../context.js";
import { assertNotAssignment, dotenvFileSecret } from "../entries.js";
import { UsageError, writeLine } from "../io.js";
import { parseVersion } from "./secret.js";

type Globals = (command: Command) => GlobalOptions;

const collect = (value: string, previous: string[] = []) => [...previous, value];

const FORWARDED_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

function describeOrigin(origin: EnvOrigin, envFiles: ReadonlyMap<string, string>): string {
  switch (origin.kind) {
    case "named":
      return `secret "${origin.name}" (environment ${origin.environment}, version ${origin.version})`;
    case "dotenv":
      return `env file ${envFiles.get(origin.secretId) ?? "(unknown)"}`;
    case "ephemeral":
      return "ephemeral secret";
    case "env":
      return "environment";
  }
}

/** `--secret NAME` or `--secret NAME@VERSION` (`@` never occurs in a name). */
function parseSecretArgument(text: string): { name: string; version?: number } {
  assertNotAssignment(text, "--secret");
  const at = text.lastIndexOf("@");
  const name = at < 0 ? text : text.slice(0, at);
  assertSecretName(name);
  return at < 0 ? { name } : { name, version: parseVersion(text.slice(at + 1), "--secret NAME@") };
}

/** `envkeep run [--secret NAME …] [--env-file PATH …] -- COMMAND ARGS…` */
export function registerRunCommand(program: Command, globals: Globals): void {
  program
    .command("run")
    .description("run a command with secrets injected into its environment")
    .argument("<command...>", "the command and its arguments (put them after --)")
    .option(
      "-s, --secret <name>",
      "a secret to inject, NAME or NAME@VERSION (repeatable; later ones win)",
      collect,
    )
    .option(
      "-f, --env-file <path>",
      "a dotenv file to inject after the secrets (repeatable; prefer -f, see below)",
      collect,
    )
    .option("--require <key>", "fail before starting unless this key is set (repeatable)", collect)
    .option("--explain", "print on stderr which secret supplied each key (names only)")
    .addHelpText(
      "after",
      `
Layers are applied in order, the later one winning: this process's environment, each --secret
in the order given, then each --env-file. Values never appear on the command line.
The command's exit code is passed through.
Node 20 and 22 check any "--env-file X" argument themselves, even one meant for a script, and
exit with "node: X: not found" when X is missing (nodejs/node#54232): -f X avoids that.

Examples:
  $ envkeep run --secret api-keys -- node server.js
  $ envkeep run --secret db@3 -- ./migrate.sh          # version 3 of db, as it was
  $ envkeep run -s db -s api-keys -e prod -f .env.local -- python worker.py`,
    )
    .action(async (argv: string[], options, command: Command) => {
      const [file, ...args] = argv;
      if (file === undefined)
        throw new UsageError("no command given: envkeep run -- COMMAND ARGS…");
      const named = ((options.secret ?? []) as string[]).map(parseSecretArgument);
      const envFiles: string[] = options.envFile ?? [];
      const required: string[] = options.require ?? [];

      if (required.some((key) => key.includes("="))) {
        throw new UsageError("--require takes a key name, not KEY=VALUE");
      }
      for (const key of required) assertKey(key);
      const opts = globals(command);
      const code = await withManager(opts, async (secrets) => {
        const fileNames = new Map<string, string>();
        const layers = [
          ...named.map(({ name, version }) =>
            secrets.fromName(name, {
              ...(opts.env === undefined ? {} : { environment: opts.env }),
              ...(version === undefined ? {} : { version }),
            }),
          ),
          ...envFiles.map((envFile) => {
            const secret = dotenvFileSecret(envFile);
            fileNames.set(secret.secretId, envFile);
            return secret;
          }),
        ];
        if (options.explain) {
          const { explain } = await secrets.resolve(layers, { explain: true });
          for (const [key, { from, overrode }] of Object.entries(explain).sort()) {
            const over = overrode.length
              ? `, overriding ${overrode.map((o) => describeOrigin(o, fileNames)).join(", ")}`
              : "";
            const shadowsParent =
              process.env[key] !== undefined ? " (replaces this shell's value)" : "";
            writeLine(
              `envkeep: ${key} from ${describeOrigin(from, fileNames)}${over}${shadowsParent}`,
              process.stderr,
            );
          }
        }
        const { child, exit } = await secrets.spawn(file, args, {
          secrets: layers,
          requiredKeys: required,
          stdio: "inherit",
        });
        const forward = (signal: NodeJS.Signals) => {
          child.kill(signal);
        };
        for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
        try {
          const result = await exit;
          if (result.signal) return 128 + (constants.signals[result.signal] ?? 0);
          return result.code ?? 1;
        } finally {
          for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
        }
      });
      process.exitCode = code;
    });
}

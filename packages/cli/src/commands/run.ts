import { constants } from "node:os";
import {
  assertKey,
  assertSecretName,
  type EnvOrigin,
  generateMasterKey,
  inheritedEnvironment,
  SecretManager,
} from "@envkeep/core";
import type { Command } from "commander";
import { type GlobalOptions, withManager } from "../context.js";
import { assertNotAssignment, dotenvFileSecret } from "../entries.js";
import { UsageError, writeLine } from "../io.js";
import { importStorePackage } from "../store-packages.js";
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
      return "this shell (--no-override)";
  }
}

/**
 * `run` with env files only opens no store and needs no master key: there is nothing to decrypt.
 * A manager on an empty in-memory store, with a key made for the occasion, does the merging and
 * spawning exactly as it does for secrets.
 */
async function withoutStore<T>(body: (secrets: SecretManager) => Promise<T>): Promise<T> {
  const { memoryStore } = (await importStorePackage(
    "@envkeep/store-memory",
  )) as typeof import("@envkeep/store-memory");
  const secrets = new SecretManager({ store: memoryStore(), masterKey: generateMasterKey() });
  try {
    return await body(secrets);
  } finally {
    await secrets.close();
  }
}

/** The flags (of envkeep, and of `run`) that take the next word as their value. */
function flagsTakingValue(program: Command): Set<string> {
  const run = program.commands.find((command) => command.name() === "run");
  const flags = new Set<string>();
  for (const option of [...program.options, ...(run?.options ?? [])]) {
    if (!option.required && !option.optional) continue;
    if (option.short) flags.add(option.short);
    if (option.long) flags.add(option.long);
  }
  return flags;
}

/**
 * Without `--`, an option written after the command (`envkeep run -s db node -e '…'`) would be
 * read as one of envkeep's own (`-e` is the environment, `--version` envkeep's version) and
 * silently taken from the command. So `envkeep run` with a command whose arguments hold anything
 * that looks like an option, and no `--`, is refused with the `--` form before commander reads a
 * word of it. (Nothing typed is echoed.) `argv` is the whole command line after `envkeep`.
 */
export function assertRunArgv(argv: readonly string[], program: Command): void {
  const takesValue = flagsTakingValue(program);
  let at = 0;
  // Global options before the command word.
  while (at < argv.length && argv[at]?.startsWith("-") && argv[at] !== "--") {
    at += takesValue.has(argv[at] ?? "") ? 2 : 1;
  }
  if (argv[at] !== "run") return;
  const tail = argv.slice(at + 1);
  if (tail.includes("--")) return;
  let i = 0;
  while (i < tail.length && tail[i]?.startsWith("-")) i += takesValue.has(tail[i] ?? "") ? 2 : 1;
  if (tail.slice(i + 1).some((word) => word.startsWith("-"))) {
    throw new UsageError(
      "put the command after --, or options meant for it are read as envkeep's own: envkeep run [options] -- COMMAND ARGS…",
    );
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
    .option("--override", "secrets and env files win over this shell's variables (the default)")
    .option("--no-override", "this shell's variables win over secrets and env files")
    .addHelpText(
      "after",
      `
Layers are applied in order, the later one winning: this shell's environment, each --secret in
the order given, then each --env-file. With --no-override the shell's variables are applied
last instead, so a variable already set in the shell keeps its value (dotenv's habit).
With only --env-file (no --secret) no store is opened and no master key is needed.
Values never appear on the command line.
The command's exit code is passed through.
Node 20 and 22 check any "--env-file X" argument themselves, even one meant for a script, and
exit with "node: X: not found" when X is missing (nodejs/node#54232): -f X avoids that.

Examples:
  $ envkeep run --secret api-keys -- node server.js
  $ envkeep run --secret db@3 -- ./migrate.sh          # version 3 of db, as it was
  $ envkeep run -s db -s api-keys -e prod -f .env.local -- python worker.py
  $ envkeep run -f .env --no-override -- npm start     # no store, no master key`,
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
      const withSecrets = (body: (secrets: SecretManager) => Promise<number>) =>
        named.length > 0 ? withManager(opts, body) : withoutStore(body);
      const code = await withSecrets(async (secrets) => {
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
        // --no-override: the shell's value of each key the layers set (never a variable a child
        // does not inherit, such as the master key) becomes the last layer.
        const shellWins: Record<string, string> = {};
        if (options.override === false) {
          const shell = inheritedEnvironment(process.env);
          for (const key of Object.keys(await secrets.resolve(layers))) {
            const value = shell.get(key);
            if (value !== undefined) shellWins[key] = value;
          }
        }
        if (options.explain) {
          const { explain } = await secrets.resolve(layers, { env: shellWins, explain: true });
          for (const [key, { from, overrode }] of Object.entries(explain).sort()) {
            const over = overrode.length
              ? `, overriding ${overrode.map((o) => describeOrigin(o, fileNames)).join(", ")}`
              : "";
            const shadowsParent =
              from.kind !== "env" && process.env[key] !== undefined
                ? " (replaces this shell's value)"
                : "";
            writeLine(
              `envkeep: ${key} from ${describeOrigin(from, fileNames)}${over}${shadowsParent}`,
              process.stderr,
            );
          }
        }
        const { child, exit } = await secrets.spawn(file, args, {
          secrets: layers,
          env: shellWins,
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

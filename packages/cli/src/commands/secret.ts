import {
  AlreadyExistsError,
  assertKey,
  assertSecretName,
  checkSecretTemplate,
  type DamagedSecret,
  NotFoundError,
  resolveEnvironment,
  SECRET_TEMPLATES,
  type SecretVersion,
} from "@envkeep/core";
import { type Command, Option } from "commander";
import {
  assertKeyOpensEnvironment,
  type GlobalOptions,
  hasMasterKey,
  withManager,
} from "../context.js";
import {
  assertNotAssignment,
  parseAssignments,
  readDotenvFile,
  readJsonFile,
  resolveAssignments,
} from "../entries.js";
import {
  confirm,
  formatSecretTable,
  formatTable,
  formatTime,
  secretInfoJson,
  UsageError,
  writeLine,
} from "../io.js";
import { describeKeyMismatch } from "../key-mismatch.js";
import { printable, toJson } from "../printable.js";
import { infoWithoutKey, listWithoutKey, printInfo } from "./metadata-without-key.js";

type Globals = (command: Command) => GlobalOptions;

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** `envkeep secret …`: create, list, info, update, delete, templates. */
export function registerSecretCommands(program: Command, globals: Globals): void {
  const secret = program
    .command("secret")
    .description("manage named secrets (values are never printed)");

  secret
    .command("create")
    .description("create a secret from KEY=VALUE arguments, a dotenv file and/or a JSON file")
    .argument("<name>", "secret name: letters, digits, '.', '_' or '-'")
    .argument("[pairs...]", "KEY=VALUE pairs; KEY=- reads that value from standard input")
    .option("--from-dotenv <path>", "also read keys from this dotenv file (wins over arguments)")
    .option("--from-json <path>", "also read keys from this JSON object file (wins over both)")
    .option("--template <name>", "check that the keys of a template are all given")
    .option("--force", "replace the secret if it already exists")
    .addHelpText(
      "after",
      `
Examples:
  $ envkeep secret create api-keys OPENAI_API_KEY=- < key.txt
  $ envkeep secret create db --template postgres --from-dotenv ./db.env -e prod
  $ envkeep secret create db PGPASSWORD=- --force     # prompts without echo on a terminal`,
    )
    .action(async (name: string, pairs: string[], options, command: Command) => {
      assertSecretArgument(name);
      const assignments = parseAssignments(pairs);
      for (const { key } of assignments) assertKey(key);
      if (options.template !== undefined) {
        assertNotAssignment(options.template, "--template");
        checkTemplateName(options.template);
      }
      const opts = globals(command);
      await withManager(opts, async (secrets) => {
        const entries = await resolveAssignments(assignments);
        if (options.fromDotenv !== undefined) {
          const fromFile = await readDotenvFile(secrets, options.fromDotenv);
          for (const [key, value] of Object.entries(fromFile)) entries.set(key, value);
        }
        if (options.fromJson !== undefined) {
          const fromFile = await readJsonFile(options.fromJson);
          for (const [key, value] of Object.entries(fromFile)) entries.set(key, value);
        }
        if (entries.size === 0) {
          throw new UsageError(
            "a secret needs at least one key: give KEY=VALUE arguments, --from-dotenv or --from-json",
          );
        }
        if (options.template !== undefined) checkSecretTemplate(options.template, entries.keys());
        await assertKeyOpensEnvironment(secrets, opts.env, "create");
        let info: Awaited<ReturnType<typeof secrets.create>>;
        try {
          info = await secrets.create(name, Object.fromEntries(entries), {
            ...(opts.env === undefined ? {} : { environment: opts.env }),
            ifExists: options.force ? "overwrite" : "fail",
          });
        } catch (error) {
          if (error instanceof AlreadyExistsError) {
            throw new AlreadyExistsError(`${error.message} (use --force to replace it)`);
          }
          throw error;
        }
        const verb = info.version === 1 ? "Created" : "Replaced";
        writeLine(
          `${verb} secret "${info.name}" in environment "${info.environment}" (version ${info.version}) with ${plural(info.keys.length, "key")}: ${info.keys.join(", ")}`,
        );
      });
    });

  secret
    .command("list")
    .description("list the secrets of an environment, newest first (never values)")
    .option("--json", "print JSON instead of a table")
    .action(async (options, command: Command) => {
      const opts = globals(command);
      if (!hasMasterKey()) {
        await listWithoutKey(opts, Boolean(options.json));
        return;
      }
      await withManager(opts, async (secrets) => {
        const damaged: DamagedSecret[] = [];
        const infos = await secrets.list({
          ...(opts.env === undefined ? {} : { environment: opts.env }),
          onDamaged: (record) => damaged.push(record),
        });
        // Records that fail their checks are left out of the list and named on stderr.
        for (const record of damaged) {
          writeLine(
            `envkeep: warning: left out of the list: ${describeKeyMismatch(record.error) ?? record.error.message}`,
            process.stderr,
          );
        }
        if (options.json) {
          process.stdout.write(`${toJson(infos.map(secretInfoJson))}\n`);
        } else if (infos.length === 0) {
          const environment = resolveEnvironment(opts.env, undefined);
          writeLine(`No secrets in environment "${environment}".`);
        } else {
          process.stdout.write(`${formatSecretTable(infos)}\n`);
        }
      });
    });

  secret
    .command("info")
    .description("show a secret's metadata: keys, version, times (never values)")
    .argument("<name>", "secret name")
    .option("--json", "print JSON")
    .action(async (name: string, options, command: Command) => {
      assertSecretArgument(name);
      const opts = globals(command);
      if (!hasMasterKey()) {
        await infoWithoutKey(opts, name, Boolean(options.json));
        return;
      }
      await withManager(opts, async (secrets) => {
        const info = await secrets.info(
          name,
          opts.env === undefined ? {} : { environment: opts.env },
        );
        if (options.json) {
          process.stdout.write(`${toJson(secretInfoJson(info))}\n`);
          return;
        }
        printInfo(info);
      });
    });

  secret
    .command("get")
    .description("print one value of a secret, for scripts (not on a terminal without --reveal)")
    .argument("<name>", "secret name")
    .argument("<key>", "the key whose value to print")
    .option("--reveal", "print it even on a terminal, where others may see it")
    .addHelpText(
      "after",
      `
The value goes to stdout with one newline after it, so $(envkeep secret get db PGPASSWORD) is
the value itself. On a terminal it is printed only with --reveal.

Example:
  $ PGPASSWORD="$(envkeep secret get db PGPASSWORD -e prod)" psql`,
    )
    .action(async (name: string, key: string, options, command: Command) => {
      assertSecretArgument(name);
      assertKey(key);
      if (process.stdout.isTTY && !options.reveal) {
        throw new UsageError(
          "refusing to print a value to a terminal: pipe it or capture it ($(…)), or add --reveal",
        );
      }
      const opts = globals(command);
      await withManager(opts, async (secrets) => {
        const environment = opts.env === undefined ? {} : { environment: opts.env };
        const entries = await secrets.resolve([secrets.fromName(name, environment)]);
        if (!Object.hasOwn(entries, key)) {
          const { environment: where } = await secrets.info(name, environment);
          throw new NotFoundError(`secret "${name}" in environment "${where}" has no key ${key}`);
        }
        process.stdout.write(`${entries[key]}\n`);
      });
    });

  secret
    .command("update")
    .alias("set")
    .description("set and/or remove keys of a secret (the other keys are kept); also: set")
    .argument("<name>", "secret name")
    .argument("[pairs...]", "KEY=VALUE pairs to set; KEY=- reads that value from standard input")
    .addOption(new Option("--unset <keys...>", "keys to remove"))
    .addHelpText(
      "after",
      `
Examples:
  $ envkeep secret update api-keys OPENAI_API_KEY=- < new-key.txt
  $ envkeep secret update db PGHOST=db2.internal --unset PGSSLMODE`,
    )
    .action(async (name: string, pairs: string[], options, command: Command) => {
      assertSecretArgument(name);
      const assignments = parseAssignments(pairs);
      const unset: string[] = options.unset ?? [];
      if (unset.some((key) => key.includes("="))) {
        // Not echoed: what follows "=" may be a value.
        throw new UsageError(
          "--unset takes key names only; put KEY=VALUE pairs before --unset (it takes every word after it)",
        );
      }
      for (const { key } of assignments) assertKey(key);
      for (const key of unset) assertKey(key);
      const both = assignments.filter(({ key }) => unset.includes(key)).map(({ key }) => key);
      if (both.length > 0) throw new UsageError(`cannot both set and unset ${both.join(", ")}`);
      if (assignments.length === 0 && unset.length === 0) {
        throw new UsageError("nothing to update: give KEY=VALUE arguments and/or --unset KEY");
      }
      const opts = globals(command);
      await withManager(opts, async (secrets) => {
        const environment = opts.env === undefined ? {} : { environment: opts.env };
        const before = await secrets.info(name, environment);
        // A Map, then own properties: a key such as __proto__ is an ordinary key.
        const changes = new Map<string, string | null>(await resolveAssignments(assignments));
        for (const key of unset) changes.set(key, null);
        const absent = unset.filter((key) => !before.keys.includes(key));
        const info = await secrets.update(name, Object.fromEntries(changes), environment);
        // Only once the update went through: a failed one reports its error line alone.
        if (absent.length > 0) {
          writeLine(
            `envkeep: warning: secret "${before.name}" has no key ${absent.join(", ")}: nothing to remove`,
            process.stderr,
          );
        }
        writeLine(
          info.version === before.version
            ? `Secret "${info.name}" in environment "${info.environment}" is unchanged (version ${info.version})`
            : `Updated secret "${info.name}" in environment "${info.environment}" (version ${info.version}); keys: ${info.keys.join(", ") || "(none)"}`,
        );
      });
    });

  secret
    .command("delete")
    .description("delete a secret, irreversibly (asks first on a terminal)")
    .argument("<name>", "secret name")
    .option("--allow-missing", "succeed when the secret does not exist")
    .option("-y, --yes", "do not ask for confirmation (required when not on a terminal)")
    .action(async (name: string, options, command: Command) => {
      assertSecretArgument(name);
      const opts = globals(command);
      await withManager(opts, async (secrets) => {
        const environment = opts.env === undefined ? {} : { environment: opts.env };
        let info: Awaited<ReturnType<typeof secrets.info>>;
        try {
          info = await secrets.info(name, environment);
        } catch (error) {
          if (error instanceof NotFoundError && options.allowMissing) {
            writeLine(`Secret "${name}" does not exist; nothing deleted`);
            return;
          }
          throw error;
        }
        if (!options.yes) {
          if (!process.stdin.isTTY || !process.stderr.isTTY) {
            throw new UsageError(
              `refusing to delete secret "${name}" without --yes when not on a terminal`,
            );
          }
          const ok = await confirm(
            printable(
              `Delete secret "${name}" in environment "${info.environment}" (${plural(info.keys.length, "key")})? This cannot be undone.`,
            ),
          );
          if (!ok) {
            // Exit 1, so that a script (or a person checking $?) can tell nothing was deleted.
            process.stderr.write("Not deleted.\n");
            process.exitCode = 1;
            return;
          }
        }
        await secrets.delete(name, { ...environment, allowMissing: options.allowMissing === true });
        writeLine(`Deleted secret "${name}" from environment "${info.environment}"`);
      });
    });

  secret
    .command("history")
    .description("list the kept versions of a secret, newest first, and which keys each changed")
    .argument("<name>", "secret name")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Values are never printed: CHANGES names the keys each version added (+), changed (~) and
removed (-). The oldest version kept may show "?" when the one before it is no longer kept.

Examples:
  $ envkeep secret history db -e prod
  $ envkeep secret rollback db --to 3 -e prod`,
    )
    .action(async (name: string, options, command: Command) => {
      assertSecretArgument(name);
      const opts = globals(command);
      await withManager(opts, async (secrets) => {
        const versions = await secrets.versions(name, {
          ...(opts.env === undefined ? {} : { environment: opts.env }),
          onDamaged: (damaged) =>
            writeLine(
              `envkeep: warning: left out of the history: ${damaged.error.message}`,
              process.stderr,
            ),
        });
        if (options.json) {
          process.stdout.write(
            `${toJson(
              versions.map((v) => ({
                version: v.version,
                updatedAt: v.updatedAt.toISOString(),
                ...(v.updatedBy === undefined ? {} : { updatedBy: v.updatedBy }),
                keys: v.keys,
                ...(v.change === undefined ? {} : { change: v.change }),
              })),
            )}\n`,
          );
          return;
        }
        process.stdout.write(
          `${formatTable(
            ["VERSION", "UPDATED", "BY", "KEYS", "CHANGES"],
            versions.map((v, i) => [
              `${v.version}${i === 0 ? " (current)" : ""}`,
              formatTime(v.updatedAt),
              v.updatedBy ?? "",
              String(v.keys.length),
              describeChange(v.change),
            ]),
          )}\n`,
        );
      });
    });

  secret
    .command("rollback")
    .description("write the contents of a kept version as a new version (nothing is lost)")
    .argument("<name>", "secret name")
    .requiredOption("--to <version>", "the version whose contents to restore")
    .option("--if-version <version>", "only if the current version is this one")
    .addHelpText(
      "after",
      `
Example:
  $ envkeep secret rollback db --to 3 --if-version 7 -e prod   # writes version 8 = contents of 3`,
    )
    .action(async (name: string, options, command: Command) => {
      assertSecretArgument(name);
      const to = parseVersion(options.to, "--to");
      const ifVersion =
        options.ifVersion === undefined
          ? undefined
          : parseVersion(options.ifVersion, "--if-version");
      const opts = globals(command);
      await withManager(opts, async (secrets) => {
        const environment = opts.env === undefined ? {} : { environment: opts.env };
        const before = await secrets.info(name, environment);
        const info = await secrets.rollback(name, to, {
          ...environment,
          ...(ifVersion === undefined ? {} : { ifVersion }),
        });
        writeLine(
          info.version === before.version
            ? `Secret "${info.name}" in environment "${info.environment}" already holds the contents of version ${to}: unchanged (version ${info.version})`
            : `Rolled back secret "${info.name}" in environment "${info.environment}" to the contents of version ${to}: now version ${info.version}; keys: ${info.keys.join(", ") || "(none)"}`,
        );
      });
    });

  secret
    .command("templates")
    .description("list the templates of `secret create --template` and their keys")
    .option("--json", "print JSON")
    .action((options) => {
      if (options.json) {
        process.stdout.write(`${toJson(SECRET_TEMPLATES)}\n`);
        return;
      }
      process.stdout.write(
        `${formatTable(
          ["TEMPLATE", "FOR", "KEYS"],
          SECRET_TEMPLATES.map((t) => [t.name, t.description, t.keys.join(", ")]),
        )}\n`,
      );
    });
}

/** A version number given on the command line. */
export function parseVersion(text: string, option: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${option} takes a version number (1, 2, …)`);
  }
  return Number(text);
}

/** `+ADDED ~CHANGED -REMOVED`, names only; `?` when unknown. */
function describeChange(change: SecretVersion["change"]): string {
  if (!change) return "?";
  const parts = [
    ...change.added.map((key) => `+${key}`),
    ...change.changed.map((key) => `~${key}`),
    ...change.removed.map((key) => `-${key}`),
  ];
  return parts.join(" ") || "(none)";
}

/** The NAME argument: never a KEY=VALUE given first, then a valid secret name. */
function assertSecretArgument(name: string): void {
  assertNotAssignment(name, "the secret name");
  assertSecretName(name);
}

function checkTemplateName(name: string): void {
  if (!SECRET_TEMPLATES.some((template) => template.name === name)) {
    checkSecretTemplate(name, []); // throws the "unknown template" error listing the names
  }
}

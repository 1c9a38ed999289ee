import type { AccessTokenInfo, TokenScope } from "@envkeep/core";
import type { Command } from "commander";
import { type GlobalOptions, withManager } from "../context.js";
import { assertNotAssignment } from "../entries.js";
import { formatTable, formatTime, UsageError, writeLine } from "../io.js";
import { toJson } from "../printable.js";

type Globals = (command: Command) => GlobalOptions;

const SCOPES: readonly string[] = ["read", "write", "admin"];

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30d`, `12h`, `90m`, `3600s` → milliseconds. */
function parseDuration(text: string): number {
  const match = /^([1-9][0-9]{0,8})([smhd])$/.exec(text.trim());
  if (!match) {
    throw new UsageError(
      "--expires-in takes a number and a unit: s, m, h or d (e.g. 30d, 12h, 90m)",
    );
  }
  return Number(match[1]) * (UNITS[match[2] as string] ?? 0);
}

/** Token facts as JSON (dates as ISO strings). Never the token, never its hash. */
function tokenJson(info: AccessTokenInfo): Record<string, unknown> {
  return {
    id: info.id,
    name: info.name,
    workspace: info.workspace,
    scope: info.scope,
    environments: info.environments,
    createdAt: info.createdAt.toISOString(),
    expiresAt: info.expiresAt?.toISOString() ?? null,
    lastUsedAt: info.lastUsedAt?.toISOString() ?? null,
    ...(info.createdBy === undefined ? {} : { createdBy: info.createdBy }),
  };
}

const environmentsOf = (info: AccessTokenInfo) =>
  info.environments === null ? "(all)" : info.environments.join(", ");

function expiryOf(info: AccessTokenInfo, now: number): string {
  if (!info.expiresAt) return "never";
  const time = formatTime(info.expiresAt);
  return info.expiresAt.getTime() <= now ? `${time} (expired)` : time;
}

/** `envkeep token create|list|revoke`: access tokens of the HTTP API. */
export function registerTokenCommands(program: Command, globals: Globals): void {
  const token = program
    .command("token")
    .description("access tokens of the HTTP API (envkeep serve): create, list, revoke");

  /** Tokens belong to a workspace, not an environment: `-e` would silently mean nothing. */
  const noEnvironmentOption = (command: Command) => {
    const opts = globals(command);
    if (opts.env !== undefined) {
      throw new UsageError(
        "tokens are not kept per environment: limit a token with --environment (token create), not -e",
      );
    }
    return opts;
  };

  token
    .command("create")
    .description("create a token and print it on stdout, once (only its hash is kept)")
    .requiredOption("--name <name>", "what or who the token is for (a label)")
    .requiredOption(
      "--scope <scope>",
      "read (list and get), write (also create, update, delete) or admin (also tokens)",
    )
    .option(
      "--environment <name...>",
      "environments it may use (repeat or list several; default: all)",
    )
    .option("--expires-in <duration>", "it stops working after this long: 30d, 12h, 90m, 3600s")
    .option("--expires-at <date>", "it stops working at this ISO 8601 date-time")
    .addHelpText(
      "after",
      `
Only the token goes to stdout, so it can be captured; everything else goes to stderr.

Examples:
  $ envkeep token create --name ci --scope write --environment prod
  $ export ENVKEEP_TOKEN="$(envkeep token create --name dashboard --scope read --expires-in 30d)"`,
    )
    .action(async (options, command: Command) => {
      const opts = noEnvironmentOption(command);
      assertNotAssignment(options.name, "--name");
      if (!SCOPES.includes(options.scope)) {
        throw new UsageError("--scope takes read, write or admin");
      }
      const environments: string[] | undefined = options.environment;
      for (const environment of environments ?? []) {
        assertNotAssignment(environment, "--environment");
      }
      if (options.expiresIn !== undefined && options.expiresAt !== undefined) {
        throw new UsageError("give --expires-in or --expires-at, not both");
      }
      const expiresAt =
        options.expiresIn !== undefined
          ? new Date(Date.now() + parseDuration(options.expiresIn))
          : (options.expiresAt as string | undefined);
      await withManager(opts, async (secrets) => {
        const created = await secrets.tokens.create({
          name: options.name,
          scope: options.scope as TokenScope,
          ...(environments === undefined ? {} : { environments }),
          ...(expiresAt === undefined ? {} : { expiresAt }),
        });
        process.stdout.write(`${created.token}\n`);
        const { info } = created;
        writeLine(
          `envkeep: created token ${info.id} "${info.name}" in workspace "${info.workspace}": scope ${info.scope}, environments ${environmentsOf(info)}, expires ${expiryOf(info, Date.now())}. It is shown this once: keep it now.`,
          process.stderr,
        );
      });
    });

  token
    .command("list")
    .description("list the tokens of the workspace: ids, names, scopes, times (never a token)")
    .option("--json", "print JSON instead of a table")
    .action(async (options, command: Command) => {
      const opts = noEnvironmentOption(command);
      await withManager(opts, async (secrets) => {
        const infos = await secrets.tokens.list();
        if (options.json) {
          process.stdout.write(`${toJson(infos.map(tokenJson))}\n`);
          return;
        }
        if (infos.length === 0) {
          writeLine(`No tokens in workspace "${secrets.workspace}".`);
          return;
        }
        const now = Date.now();
        process.stdout.write(
          `${formatTable(
            ["ID", "NAME", "SCOPE", "ENVIRONMENTS", "CREATED", "EXPIRES", "LAST USED"],
            infos.map((info) => [
              info.id,
              info.name,
              info.scope,
              environmentsOf(info),
              formatTime(info.createdAt),
              expiryOf(info, now),
              info.lastUsedAt ? formatTime(info.lastUsedAt) : "never",
            ]),
          )}\n`,
        );
      });
    });

  token
    .command("revoke")
    .description("revoke a token: every server stops accepting it within 2 seconds")
    .argument("<id>", "the token's id (see `envkeep token list`)")
    .action(async (id: string, _options, command: Command) => {
      const opts = noEnvironmentOption(command);
      await withManager(opts, async (secrets) => {
        await secrets.tokens.revoke(id);
        writeLine(`Revoked token ${id}; servers stop accepting it within 2 seconds.`);
      });
    });
}

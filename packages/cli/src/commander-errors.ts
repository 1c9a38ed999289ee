/**
 * Commander's usage errors, reworded so that no word the user typed is echoed: an unknown option
 * or command may be a value pasted in the wrong place (`envkeep secret list --sk-live-…`).
 */
import type { Command, CommanderError } from "commander";

/** The command each error was raised on, recorded by the exit override of {@link routeErrors}. */
const raisedOn = new WeakMap<CommanderError, Command>();

/**
 * Makes `program` and every subcommand throw their errors instead of exiting, and print nothing
 * themselves: `main` prints the one line. Help asked for still goes to stdout.
 */
export function routeErrors(program: Command): void {
  const configure = (command: Command) => {
    command.exitOverride((error) => {
      raisedOn.set(error, command);
      throw error;
    });
    // writeErr only carries the help shown after a missing command, replaced by one line.
    command.configureOutput({ outputError: () => {}, writeErr: () => {} });
    for (const sub of command.commands) configure(sub);
  };
  configure(program);
}

/** `envkeep secret list`: the command and its parents. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(" ");
}

/** Long options `command` accepts, its parents' (global) ones and `--help` included. */
function longOptions(command: Command): Set<string> {
  const flags = new Set(["--help"]);
  for (let at: Command | null = command; at; at = at.parent) {
    for (const option of at.options) if (option.long) flags.add(option.long);
  }
  return flags;
}

/**
 * Commander's "(Did you mean …?)", kept only when every name in it is in `real`: the suggestion
 * comes last in its message, after the echoed text, which could imitate it.
 */
function suggestion(error: CommanderError, real: ReadonlySet<string>): string {
  const match = /\n\(Did you mean (?:one of )?([^\n]+)\?\)$/.exec(error.message);
  const names = match?.[1]?.split(", ") ?? [];
  if (names.length === 0 || !names.every((name) => real.has(name))) return "";
  return `; did you mean ${names.length > 1 ? "one of " : ""}${names.join(", ")}?`;
}

/**
 * The message of a commander usage error, without anything the user typed. `undefined` for help
 * and version requests, which are not errors.
 */
export function describeCommanderError(error: CommanderError): string | undefined {
  const command = raisedOn.get(error);
  const where = command ? ` for '${commandPath(command)}'` : "";
  const help = command ? `; see '${commandPath(command)} --help'` : "";
  const notShown = "(not shown: it may be a value)";
  switch (error.code) {
    case "commander.helpDisplayed":
    case "commander.version":
      return undefined;
    case "commander.help":
      if (error.exitCode === 0) return undefined; // `envkeep help [command]`
      // A command that needs a subcommand was given none, or one that does not exist.
      return command
        ? `'${commandPath(command)}' needs a command: ${command.commands.map((sub) => sub.name()).join(", ")}${help}`
        : "a command is needed; see 'envkeep --help'";
    case "commander.unknownOption": {
      const hint = command ? suggestion(error, longOptions(command)) : "";
      return `unknown option${where} ${notShown}${hint || help}`;
    }
    case "commander.unknownCommand": {
      const names = new Set(command?.commands.map((sub) => sub.name()));
      const hint = command ? suggestion(error, names) : "";
      return `unknown command${where} ${notShown}${hint || help}`;
    }
    case "commander.missingArgument":
    case "commander.optionMissingArgument":
    case "commander.missingMandatoryOptionValue":
    case "commander.excessArguments":
    case "commander.conflictingOption":
      // These name envkeep's own arguments and options, and count; they never quote input.
      return error.message.replace(/^error: /, "");
    default:
      // Anything else (an invalid option argument…) may quote input.
      return `invalid usage${where}${help}`;
  }
}

/**
 * Usage errors never echo what was typed where a value could be: an unknown option or command, an
 * excess argument, a KEY=VALUE given where a name goes. A value pasted in the wrong place must not
 * land in the terminal's scrollback or a CI log. In-process through `main`.
 */
import path from "node:path";
import { generateMasterKey } from "@envkeep/core";
import { CommanderError } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { createProgram, describeError } from "../src/main.js";
import { tempDir } from "./support/cli.js";
import { runMain } from "./support/in-process.js";

const work = tempDir("no-echo");
afterAll(() => work.remove());
const env = {
  ENVKEEP_MASTER_KEY: generateMasterKey(),
  ENVKEEP_STORE: `sqlite:${path.join(work.dir, "secrets.db")}`,
};
const cli = (argv: string[]) => runMain(argv, { env });
const CANARY = "sk-live-4f9c2a7e1b";

async function expectUsageError(argv: string[], pattern: RegExp) {
  const result = await cli(argv);
  expect(result.stdout).toBe("");
  expect(result.stderr).toMatch(/^envkeep: [^\n]+\n$/);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toContain(CANARY);
  expect(result.code).toBe(2);
}

describe("envkeep CLI: usage errors never echo what may be a value", () => {
  it.each([
    [["secret", "list", `--${CANARY}`]],
    [["secret", "list", `--token=${CANARY}`]],
    [["secret", "list", "--token", CANARY]],
    [["secret", "list", `-Z${CANARY}`]],
    [["secret", "list", `--json=${CANARY}`]], // a flag that takes no value
    [["secret", "list", `--${CANARY}\n(Did you mean --json?)`]],
  ])("an unknown option is named by its command only: %j", async (argv) => {
    await expectUsageError(
      argv,
      /^envkeep: unknown option for 'envkeep secret list' \(not shown: it may be a value\); see 'envkeep secret list --help'\n$/,
    );
  });

  it("an unknown option before the command, or of another command, names that command", async () => {
    await expectUsageError([`--${CANARY}`, "secret", "list"], /unknown option for 'envkeep/);
    await expectUsageError(
      ["secret", "create", "db", "A=1", `--${CANARY}=x`],
      /^envkeep: unknown option for 'envkeep secret create' /,
    );
    await expectUsageError(["key", "rotate", `--${CANARY}`], /for 'envkeep key rotate'/);
    await expectUsageError(["run", `--${CANARY}`, "--", "true"], /for 'envkeep run'/);
  });

  it("commander's suggestion is kept when it names a real option", async () => {
    await expectUsageError(
      ["secret", "list", "--jsno"],
      /^envkeep: unknown option for 'envkeep secret list' \(not shown: it may be a value\); did you mean --json\?\n$/,
    );
    await expectUsageError(["secret", "info", "db", "--evn", "prod"], /did you mean --env\?/);
    await expectUsageError(["secret", "delete", "db", "--yse"], /did you mean --yes\?/);
  });

  it("a suggestion naming anything but a real option is dropped", () => {
    const list = createProgram().commands.find((c) => c.name() === "secret")!.commands[1]!;
    expect(list.name()).toBe("list");
    let raised: unknown;
    try {
      list.error(`error: unknown option '--x'\n(Did you mean --${CANARY}?)`, {
        code: "commander.unknownOption",
      });
    } catch (error) {
      raised = error;
    }
    expect(raised).toBeInstanceOf(CommanderError);
    const { message, exitCode } = describeError(raised);
    expect(message).toBe(
      "unknown option for 'envkeep secret list' (not shown: it may be a value); see 'envkeep secret list --help'",
    );
    expect(exitCode).toBe(2);
  });

  it("an unknown command is not echoed either", async () => {
    await expectUsageError(
      [CANARY],
      /^envkeep: unknown command for 'envkeep' \(not shown: it may be a value\); see 'envkeep --help'\n$/,
    );
    await expectUsageError(["secret", CANARY], /^envkeep: unknown command for 'envkeep secret' /);
    await expectUsageError(["key", CANARY, "x"], /unknown command for 'envkeep key'/);
    await expectUsageError(["secret", "lsit"], /for 'envkeep secret' .*; did you mean list\?\n$/);
    await expectUsageError(["help", CANARY], /needs a command/);
  });

  it("a missing command is one line listing the commands, not the help on stderr", async () => {
    await expectUsageError(
      ["secret"],
      /^envkeep: 'envkeep secret' needs a command: create, list, info, get, update, delete, history, rollback, templates; see 'envkeep secret --help'\n$/,
    );
    await expectUsageError(
      [],
      /^envkeep: 'envkeep' needs a command: secret, run, key, serve, token, status; /,
    );
    await expectUsageError(
      ["key"],
      /^envkeep: 'envkeep key' needs a command: generate, id, status, rotate; /,
    );
    await expectUsageError(
      ["token"],
      /^envkeep: 'envkeep token' needs a command: create, list, revoke; /,
    );
  });

  it.each([
    [["secret", "list", CANARY]],
    [["secret", "templates", CANARY]],
    [["secret", "info", "db", CANARY]],
    [["secret", "delete", "db", "--yes", CANARY]],
    [["key", "generate", CANARY]],
    [["key", "rotate", CANARY]],
    [["token", "list", CANARY]],
    [["token", "revoke", "0123456789abcdef", CANARY]],
    [["serve", CANARY]],
  ])("excess arguments are counted, not shown: %j", async (argv) => {
    await expectUsageError(
      argv,
      /^envkeep: too many arguments for '[a-z]+'\. Expected \d arguments? but got \d+\.\n$/,
    );
  });

  it.each([
    [["secret", "create", `API_KEY=${CANARY}`], /^envkeep: the secret name looks like KEY=VALUE/],
    [["secret", "create", `API_KEY=${CANARY}`, "B=1"], /the secret name looks like KEY=VALUE/],
    [["secret", "info", `K=${CANARY}`], /the secret name looks like KEY=VALUE/],
    [["secret", "update", `K=${CANARY}`], /the secret name looks like KEY=VALUE/],
    [["secret", "delete", `K=${CANARY}`, "--yes"], /the secret name looks like KEY=VALUE/],
    [["run", "-s", `K=${CANARY}`, "--", "true"], /^envkeep: --secret looks like KEY=VALUE/],
    [["-e", `K=${CANARY}`, "secret", "list"], /^envkeep: --env looks like KEY=VALUE/],
    [["secret", "list", `--env=K=${CANARY}`], /^envkeep: --env looks like KEY=VALUE/],
    [["--workspace", `K=${CANARY}`, "secret", "list"], /^envkeep: --workspace looks like/],
    [["secret", "create", "n", "A=1", "--template", `K=${CANARY}`], /^envkeep: --template looks/],
    [["secret", "create", "n", "A=1", CANARY], /argument 2 after the secret name is not KEY=VALUE/],
    [["secret", "update", "n", "--unset", `K=${CANARY}`], /--unset takes key names only/],
    [["run", "--require", `K=${CANARY}`, "--", "true"], /--require takes a key name/],
    [["--store", `K=${CANARY}`, "secret", "list"], /^envkeep: --store looks like KEY=VALUE/],
  ])("KEY=VALUE where a name goes is refused without showing it: %j", async (argv, pattern) => {
    await expectUsageError(argv, pattern);
  });

  it.each([
    [["secret", "create", "n", "A=1", "--from-json", `K=${CANARY}`], /^envkeep: JSON file \(path/],
    [["secret", "create", "n", "A=1", "--from-dotenv", `K=${CANARY}`], /^envkeep: dotenv file \(/],
    [["run", "-f", `K=${CANARY}`, "--", "true"], /^envkeep: dotenv file \(path not shown/],
    [["run", "-f", `${"d/".repeat(3000)}x`, "--", "true"], /^envkeep: cannot read dotenv file "/],
  ])("a file path holding = is not shown, a long one is cut: %j", async (argv, pattern) => {
    const result = await cli(argv);
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toMatch(/^envkeep: [^\n]{1,300}\n$/);
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr).not.toContain(CANARY);
  });
});

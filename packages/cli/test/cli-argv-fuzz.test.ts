/**
 * Random command lines through `main(argv)`, in-process, against a real SQLite file: real command
 * and option names, KEY=VALUE pairs carrying canary values, junk, `--`, unicode, control
 * characters and very long strings. Whatever the argv, envkeep:
 *
 * - exits with 0, 1 or 2, in bounded time;
 * - never prints a canary value (nor the master key), on stdout or stderr;
 * - never prints an unsafe character (control, bidi…) but the newlines ending its lines;
 * - on failure, writes one `envkeep: …` line on stderr (`key rotate`: one per failed secret;
 *   `run --explain`: its explanation first) and leaves every byte of the store as it was.
 *
 * `envkeep run` starts no process here: core's `node:child_process` is replaced by a child that starts and
 * exits 0 at once, so a junk token can never be executed. Runs: `FAST_CHECK_RUNS` (default below).
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generateMasterKey } from "@envkeep/core";
import { fc, test } from "@fast-check/vitest";
import { afterAll, beforeAll, describe, expect, vi } from "vitest";
import { tempDir } from "./support/cli.js";
import { runMain } from "./support/in-process.js";
import { fastCheckRuns } from "./support/runs.js";
import { FORGERIES, unsafeCharacters } from "./support/unsafe.js";

const children = vi.hoisted(() => ({ started: 0 }));

// Core loads node:child_process on first use, through its lazy-modules: that is what is replaced.
vi.mock("../../core/src/lazy-modules.js", async (importOriginal) => {
  const lazy = await importOriginal<typeof import("../../core/src/lazy-modules.js")>();
  const actual = lazy.childProcess();
  const { EventEmitter } = await import("node:events");
  /** A child process that starts, prints nothing and exits 0. */
  const spawn = () => {
    children.started++;
    const child = Object.assign(new EventEmitter(), { pid: 0, kill: () => true });
    setImmediate(() => {
      child.emit("spawn");
      setImmediate(() => child.emit("close", 0, null));
    });
    return child;
  };
  const replaced = { ...actual, spawn } as unknown as typeof actual;
  return { ...lazy, childProcess: () => replaced };
});

const RUNS = fastCheckRuns(200);
/** Most a single command may take (they take milliseconds; a slow CI runner gets slack). */
const MAX_MS_PER_COMMAND = 5_000;

const work = tempDir("fuzz");
const seedDir = path.join(work.dir, "seed");
const storeDir = path.join(work.dir, "store");
const storeUrl = `sqlite:${path.join(storeDir, "secrets.db")}`;
const masterKey = generateMasterKey();

/** Values that must never be printed: each canary's distinctive part, and the master key. */
const CANARY_MARKERS = ["sk-live-7f3a9c2e51", "ghp_Q8vZr2Lw0NcY", "pässwörd-∂x9-κλ"];
const NEVER_PRINTED = [...CANARY_MARKERS, masterKey];

const fixture = (name: string) => path.join(work.dir, name);
const FILES = {
  env: fixture("values.env"),
  json: fixture("values.json"),
  leak: fixture("leak.env"),
  badJson: fixture("bad.json"),
  numbers: fixture("numbers.json"),
  missing: fixture("missing.json"),
  /** Its name, shown by `run --explain`, must be shown escaped. */
  oddName: fixture("odd\u202e\tname\x1b[2J.env"),
  dir: work.dir,
};

const baseEnv = {
  ENVKEEP_MASTER_KEY: masterKey,
  ENVKEEP_MASTER_KEYS: undefined,
  ENVKEEP_STORE: storeUrl,
  ENVKEEP_ENVIRONMENT: undefined,
  ENVKEEP_WORKSPACE: undefined,
  ENVKEEP_ACTOR: "fuzz",
};

// --- arbitraries --------------------------------------------------------------------------------

const oddChar = fc.constantFrom(
  "\n",
  "\r",
  "\t",
  "\0",
  "\x1b[31m",
  "\x1b]0;t\x07",
  "\x7f",
  "\u009b",
  "\u202e",
  "\u2066",
  "\u2028",
  "\u200b",
  "\ufeff",
  "\ud800",
  "é",
  "漢",
  "😀",
  "=",
  " ",
  "'",
  '"',
  "$",
  "\\",
);
const junkUnit = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: oddChar },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) },
);
const longText = fc
  .tuple(fc.constantFrom(5_000, 100_000, 1_100_000), fc.constantFrom("x", "é", "\n"))
  .map(([length, char]) => char.repeat(length));
/** Text typed anywhere: short junk, or (rarely) very long. Never starts with "-". */
const junk = fc
  .oneof(
    { weight: 12, arbitrary: fc.string({ unit: junkUnit, minLength: 1, maxLength: 24 }) },
    { weight: 1, arbitrary: longText },
  )
  .map((text) => (text.startsWith("-") ? `x${text}` : text));

/** A value that must never be printed: a canary marker, maybe wrapped in odd characters. */
const canaryValue = fc
  .tuple(
    fc.constantFrom("", "x\n", " ", "é", "\x1b[0m", "a=b"),
    fc.constantFrom(...CANARY_MARKERS),
    fc.constantFrom("", "\n", " -", "=", "\u202e"),
  )
  .map(([before, marker, after]) => before + marker + after);

const keyName = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "A",
      "PGPASSWORD",
      "PGHOST",
      "API_KEY",
      "FROM_FILE",
      "Z",
      "__proto__",
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("lower", "1BAD", "bad-key", "bad key", "", `K${"x".repeat(300)}`),
  },
  { weight: 1, arbitrary: junk.map((text) => text.replaceAll("=", "")) },
);
const assignment = fc
  .tuple(
    keyName,
    fc.oneof(
      { weight: 4, arbitrary: canaryValue },
      { weight: 1, arbitrary: fc.constant("-") },
      { weight: 1, arbitrary: fc.constant("") },
      { weight: 1, arbitrary: longText.map((text) => `${text}${CANARY_MARKERS[0]}`) },
    ),
  )
  .map(([key, value]) => `${key}=${value}`);

const secretName = fc.oneof(
  fc.constantFrom("db", "api", "broken", "only-prod", "missing", "x", "n.e_w-1"),
  fc.constantFrom("bad name", "a/b", `ap-${"a".repeat(22)}`, "n".repeat(65), "n\x1b[31m", ""),
  assignment,
  junk,
);
const environmentName = fc.oneof(
  fc.constantFrom("main", "prod", "dev", "en-123", "bad env", "e\u202e", "", "x".repeat(65)),
  assignment,
  junk,
);
const storeValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      storeUrl,
      "memory:",
      "memory:x",
      "sqlite:",
      "postgres://admin:hunter2@db/x",
      "nope",
    ),
  },
  { weight: 1, arbitrary: assignment },
);
const pathValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...Object.values(FILES)) },
  { weight: 1, arbitrary: junk },
  { weight: 2, arbitrary: assignment },
);
const templateName = fc.oneof(
  fc.constantFrom("aws", "postgres", "openai", "mysql", ""),
  assignment,
);

/** An option with its value, as two tokens or as `--option=value`. */
function withValue(flags: string[], value: fc.Arbitrary<string>): fc.Arbitrary<string[]> {
  return fc
    .tuple(fc.constantFrom(...flags), value, fc.boolean())
    .map(([flag, text, joined]) =>
      joined && flag.startsWith("--") ? [`${flag}=${text}`] : [flag, text],
    );
}

const KNOWN_LONG = [
  "--store",
  "--workspace",
  "--env",
  "--secret",
  "--env-file",
  "--require",
  "--explain",
  "--from-dotenv",
  "--from-json",
  "--template",
  "--force",
  "--json",
  "--unset",
  "--allow-missing",
  "--yes",
  "--progress",
  "--max-versions",
  "--help",
];

const globalOption = fc.oneof(
  withValue(["-e", "--env"], environmentName),
  withValue(["--workspace"], environmentName),
  withValue(["--store"], storeValue),
  withValue(
    ["--max-versions"],
    fc.oneof(fc.constantFrom("0", "2", "1000", "1001", "-1", "x", ""), canaryValue),
  ),
);

/** An option nobody defined: a pasted value, with or without "--", "=" or a value after it. */
const unknownOption = fc.oneof(
  canaryValue.map((value) => [`--${value.replace(/^-+/, "")}`]),
  canaryValue.map((value) => [`--token=${value}`]),
  canaryValue.map((value) => ["--token", value]),
  canaryValue.map((value) => [`-Z${value}`]),
  junk
    .map((text) => `--${text}`)
    .filter((flag) => !KNOWN_LONG.includes(flag.split("=")[0] ?? ""))
    .map((flag) => [flag]),
  fc.constantFrom<string[]>(["--jsno"], ["--evn", "prod"], ["-Q"], ["--force=yes"], ["--json=1"]),
);

const segment: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 4, arbitrary: assignment.map((text) => [text]) },
  { weight: 3, arbitrary: secretName.map((text) => [text]) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom<string>(
        "--json",
        "--force",
        "--yes",
        "-y",
        "--allow-missing",
        "--explain",
        "--progress",
        "--",
      )
      .map((flag) => [flag]),
  },
  { weight: 1, arbitrary: fc.constantFrom<string[]>(["--help"], ["-h"]) },
  { weight: 2, arbitrary: globalOption },
  { weight: 2, arbitrary: withValue(["-s", "--secret"], secretName) },
  { weight: 1, arbitrary: withValue(["--template"], templateName) },
  {
    weight: 2,
    arbitrary: withValue(["--from-json", "--from-dotenv", "-f", "--env-file"], pathValue),
  },
  { weight: 2, arbitrary: withValue(["--require", "--unset"], keyName) },
  { weight: 1, arbitrary: unknownOption },
  { weight: 2, arbitrary: junk.map((text) => [text]) },
);

const commandWords = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom<string[]>(
      ["secret", "create"],
      ["secret", "list"],
      ["secret", "info"],
      ["secret", "update"],
      ["secret", "delete"],
      ["secret", "templates"],
      ["run"],
      ["key", "generate"],
      ["key", "id"],
      ["key", "status"],
      ["key", "rotate"],
      ["token", "create"],
      ["token", "list"],
      ["token", "revoke"],
      ["status"],
    ),
  },
  {
    weight: 2,
    // Never `serve`: it would listen until a signal.
    arbitrary: fc.constantFrom<string[]>(
      [],
      ["secret"],
      ["key"],
      ["token"],
      ["help"],
      ["help", "secret"],
    ),
  },
  { weight: 1, arbitrary: junk.map((text) => [text]) },
);

/** Chaos: any words in any order. */
const chaoticArgv = fc
  .tuple(
    fc.array(globalOption, { maxLength: 2 }),
    commandWords,
    fc.array(segment, { maxLength: 6 }),
  )
  .map(([before, words, after]) => [...before.flat(), ...words, ...after.flat()]);

/**
 * Mostly well-formed commands, so that they get past parsing to the store, as segments: an option
 * stays with its value, so a stray word added between segments never becomes that value.
 */
const likelyName = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "db",
      "db",
      "api",
      "broken",
      "broken",
      "only-prod",
      "missing",
      "new",
    ),
  },
  { weight: 1, arbitrary: secretName },
);
const likelyEnvironment = withValue(
  ["-e", "--env"],
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom("main", "prod", "dev") }, environmentName),
);
const flag = (...flags: string[]) => fc.constantFrom(...flags).map((text) => [text]);
/** Up to `max` of the given options, in any order. */
const optionsOf = (max: number, ...options: fc.Arbitrary<string[]>[]) =>
  fc.array(fc.oneof(...options), { maxLength: max });
const words = (...texts: string[]) => texts.map((text) => [text]);
const pairs = fc.array(assignment, { maxLength: 4 }).map((given) => words(...given));

const likelySegments: fc.Arbitrary<string[][]> = fc.oneof(
  fc
    .tuple(
      likelyName,
      pairs,
      optionsOf(
        3,
        flag("--force"),
        likelyEnvironment,
        withValue(["--template"], templateName),
        withValue(["--from-json", "--from-dotenv"], pathValue),
      ),
    )
    .map(([name, given, options]) => [...words("secret", "create", name), ...given, ...options]),
  fc
    .tuple(likelyName, pairs, optionsOf(1, likelyEnvironment), fc.array(keyName, { maxLength: 2 }))
    .map(([name, given, options, unset]) => [
      ...words("secret", "update", name),
      ...given,
      ...options,
      ...(unset.length > 0 ? [["--unset", ...unset]] : []),
    ]),
  fc
    .tuple(likelyName, optionsOf(2, flag("--json"), likelyEnvironment))
    .map(([name, options]) => [...words("secret", "info", name), ...options]),
  optionsOf(2, flag("--json"), likelyEnvironment, withValue(["--workspace"], environmentName)).map(
    (options) => [...words("secret", "list"), ...options],
  ),
  fc
    .tuple(
      likelyName,
      optionsOf(3, flag("--yes", "-y"), flag("--allow-missing"), likelyEnvironment),
    )
    .map(([name, options]) => [...words("secret", "delete", name), ...options]),
  fc
    .tuple(
      optionsOf(
        4,
        withValue(["-s", "--secret"], likelyName),
        withValue(["-f", "--env-file"], pathValue),
        withValue(["--require"], keyName),
        flag("--explain"),
        likelyEnvironment,
      ),
      fc.array(fc.oneof(junk, canaryValue), { minLength: 1, maxLength: 3 }),
    )
    // The command and its arguments are one segment: nothing stray lands among them.
    .map(([options, command]) => [["run"], ...options, ["--", ...command]]),
  optionsOf(2, likelyEnvironment, flag("--progress")).map((options) => [
    ...words("key", "rotate"),
    ...options,
  ]),
);

/** A command line: mostly well formed (maybe with one stray segment), or chaos. */
const argv = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(likelySegments, fc.option(segment, { freq: 2 }), fc.nat())
      .map(([segments, stray, at]) => {
        if (stray === null) return segments.flat();
        const index = at % (segments.length + 1);
        return [...segments.slice(0, index), stray, ...segments.slice(index)].flat();
      }),
  },
  { weight: 1, arbitrary: chaoticArgv },
);

/** One command: its argv, the actor recorded by writes, and what standard input holds. */
interface Step {
  argv: string[];
  actor: string;
  stdin: string;
}
const step: fc.Arbitrary<Step> = fc.record({
  argv,
  actor: fc.oneof(fc.constantFrom("fuzz", ...FORGERIES), junk),
  stdin: fc.oneof(canaryValue, fc.constant(""), junk),
});

// --- the store ----------------------------------------------------------------------------------

/** Every byte of the store directory (database, WAL, shared memory), file by file. */
function storeBytes(): Record<string, string> {
  return Object.fromEntries(
    readdirSync(storeDir).map((file) => [
      file,
      readFileSync(path.join(storeDir, file)).toString("base64"),
    ]),
  );
}

/** Each property run starts from the same seeded store, so a failure replays and shrinks. */
function restoreStore(): void {
  rmSync(storeDir, { recursive: true, force: true });
  cpSync(seedDir, storeDir, { recursive: true });
}

async function seed(): Promise<void> {
  const [sk, ghp] = CANARY_MARKERS;
  writeFileSync(FILES.env, `FROM_FILE=${sk}-file\nOTHER="${ghp}"\n`);
  writeFileSync(FILES.json, JSON.stringify({ FROM_JSON: `${ghp}-json`, A: `${sk}` }));
  writeFileSync(FILES.leak, "LEAK=${ENVKEEP_MASTER_KEY}\nLEAKS=${ENVKEEP_MASTER_KEYS}\n");
  writeFileSync(FILES.badJson, "{ nope");
  writeFileSync(FILES.numbers, JSON.stringify({ A: 1 }));
  writeFileSync(FILES.oddName, `ODD=${sk}\n`);
  const commands: [string[], Record<string, string>?][] = [
    [["secret", "create", "db", `PGPASSWORD=${sk}`, "PGHOST=h"]],
    [["secret", "create", "api", `API_KEY=${ghp}`], { ENVKEEP_ACTOR: FORGERIES[0] ?? "" }],
    [["secret", "create", "only-prod", "-e", "prod", `TOKEN=${sk}`]],
    [["secret", "create", "db", "-e", "dev", `PGPASSWORD=${ghp}`]],
  ];
  mkdirSync(storeDir, { recursive: true });
  for (const [args, extra] of commands) {
    const result = await runMain(args, { env: { ...baseEnv, ...extra } });
    expect(result, args.join(" ")).toMatchObject({ code: 0, stderr: "" });
  }
  // Records as someone with the database could write them: odd metadata, contents that don't
  // open. `key rotate` names them all; `secret list` shows those of "main", `info` "broken".
  const { sqliteStore } = await import("@envkeep/store-sqlite");
  const store = sqliteStore({ path: path.join(storeDir, "secrets.db") });
  const now = Date.now();
  const forged = {
    workspace: "default",
    secretId: `st-${"b".repeat(22)}`,
    createdAt: now,
    updatedAt: now,
    version: 3,
    sealed: "not-a-sealed-record",
  };
  await store.create({
    ...forged,
    environment: "main",
    name: "broken",
    keys: [...FORGERIES],
    createdBy: FORGERIES[2] ?? "",
    updatedBy: "x\u2028y",
  });
  await store.create({ ...forged, environment: "main", name: "x\u202eevil\x1b[0m", keys: ["K"] });
  await store.create({
    ...forged,
    environment: "ops\u202e\x1b[2J",
    name: "n\nenvkeep: forged line",
    keys: ["K"],
  });
  await store.close();
  cpSync(storeDir, seedDir, { recursive: true });
}

// --- one command, checked -----------------------------------------------------------------------

/** The run for a failure message, each long string cut (an argument can be a megabyte). */
function describeRun(argv: string[], result: { code: number; stdout: string; stderr: string }) {
  const cut = (text: string, max: number) =>
    text.length > max ? `${text.slice(0, max)}…(${text.length} characters)` : text;
  return JSON.stringify({
    argv: argv.map((arg) => cut(arg, 200)),
    code: result.code,
    stdout: cut(result.stdout, 1_000),
    stderr: cut(result.stderr, 1_000),
  });
}

async function runChecked({ argv, actor, stdin }: Step): Promise<void> {
  const before = storeBytes();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer in ${MAX_MS_PER_COMMAND} ms`)),
      MAX_MS_PER_COMMAND,
    );
  });
  const result = await Promise.race([
    runMain(argv, { env: { ...baseEnv, ENVKEEP_ACTOR: actor }, stdin }),
    timeout,
  ]).finally(() => clearTimeout(timer));
  const elapsed = performance.now() - started;
  const shown = describeRun(argv, result);

  expect([0, 1, 2], shown).toContain(result.code);
  expect(elapsed, shown).toBeLessThan(MAX_MS_PER_COMMAND);
  for (const secret of NEVER_PRINTED) {
    expect(result.stdout.includes(secret), `printed a value on stdout: ${shown}`).toBe(false);
    expect(result.stderr.includes(secret), `printed a value on stderr: ${shown}`).toBe(false);
  }
  expect(unsafeCharacters(result.stdout), shown).toEqual([]);
  expect(unsafeCharacters(result.stderr), shown).toEqual([]);

  const lines = result.stderr === "" ? [] : result.stderr.replace(/\n$/, "").split("\n");
  expect(result.stderr === "" || result.stderr.endsWith("\n"), shown).toBe(true);
  for (const line of lines) expect(line, shown).toMatch(/^envkeep: \S/);
  if (result.code === 0) return;

  // One error line, last. Before it only what was asked for: `run --explain`'s lines, which come
  // before the check of --require; `key rotate` names each secret it could not rotate.
  const rotationFailures = lines.every((line) => line.startsWith("envkeep: could not rotate "));
  const explained = (line: string) =>
    argv.includes("--explain") && /^envkeep: [A-Za-z_][A-Za-z0-9_]* from /.test(line);
  expect(lines.length >= 1, shown).toBe(true);
  expect(rotationFailures || lines.slice(0, -1).every(explained), shown).toBe(true);
  expect(
    result.stdout === "" || (rotationFailures && /^Rotated \d+ /.test(result.stdout)),
    shown,
  ).toBe(true);
  expect(storeBytes(), `the store changed: ${shown}`).toEqual(before);
}

// --- tests --------------------------------------------------------------------------------------

/** `envkeep run` must start no real process: a junk token could name one. */
async function assertChildrenAreFake(): Promise<void> {
  restoreStore();
  const startedBefore = children.started;
  const result = await runMain(
    ["run", "-s", "db", "--", process.execPath, "-e", "process.exit(3)"],
    { env: baseEnv },
  );
  expect(result, "node:child_process is not replaced: refusing to fuzz").toEqual({
    code: 0,
    stdout: "",
    stderr: "",
  });
  expect(children.started).toBe(startedBefore + 1);
}

beforeAll(async () => {
  await seed();
  await assertChildrenAreFake();
}, 60_000);
afterAll(() => work.remove());

describe("envkeep CLI: random argv", () => {
  test.prop([fc.array(step, { minLength: 1, maxLength: 3 })], { numRuns: RUNS })(
    "every command: exit 0/1/2, one line on failure, no value printed, store unchanged on failure",
    async (steps) => {
      restoreStore();
      for (const each of steps) await runChecked(each);
    },
    Math.max(120_000, RUNS * 3 * 1_000),
  );
});

import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import dotenv from "dotenv";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { generateMasterKey } from "../src/crypto/master-key.js";
import { parseDotenv } from "../src/dotenv/parse-dotenv.js";
import { InvalidError, NotFoundError } from "../src/errors.js";
import { SecretManager } from "../src/manager.js";
import { Secret } from "../src/secret.js";
import type { SecretStore } from "../src/store.js";

// resolve() never touches the store for ephemeral secrets: a store that fails proves it.
const unusedStore = new Proxy({ name: "unused" } as SecretStore, {
  get: (target, prop) =>
    prop === "name" ? target.name : () => Promise.reject(new Error("store touched")),
});
const secrets = new SecretManager({ store: unusedStore, masterKey: generateMasterKey() });
const load = (secret: Secret) => secrets.resolve([secret]);

let root: string;
beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), "envkeep-dotenv-")));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(root, "p-"));
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  return dir;
}

describe("Secret.fromDotenv: parsing", () => {
  it("follows the usual .env rules", async () => {
    const dir = await project({
      ".env": [
        "# a comment",
        "PLAIN=value",
        "export EXPORTED=yes",
        "SPACED = padded  ",
        "SINGLE='single quoted #not a comment'",
        'DOUBLE="double quoted"',
        'MULTI="line one',
        'line two"',
        'ESCAPED="a\\nb"',
        "INLINE=value # trailing comment",
        "EMPTY=",
        "",
      ].join("\n"),
    });
    expect(await load(Secret.fromDotenv(dir))).toEqual({
      PLAIN: "value",
      EXPORTED: "yes",
      SPACED: "padded",
      SINGLE: "single quoted #not a comment",
      DOUBLE: "double quoted",
      MULTI: "line one\nline two",
      ESCAPED: "a\nb",
      INLINE: "value",
      EMPTY: "",
    });
  });

  it("expands ${VAR} and ${VAR:-default} from earlier keys, then the process environment", async () => {
    vi.stubEnv("ENVKEEP_TEST_HOST", "db.internal");
    vi.stubEnv("USER_FROM_FILE", "process-value-must-lose");
    const dir = await project({
      ".env": [
        "USER_FROM_FILE=file-user",
        "URL=postgres://${USER_FROM_FILE}@${ENVKEEP_TEST_HOST}:${PORT:-5432}/app",
        "BARE=$USER_FROM_FILE",
        "LITERAL=\\${NOT_EXPANDED}",
      ].join("\n"),
    });
    expect(await load(Secret.fromDotenv(dir))).toEqual({
      USER_FROM_FILE: "file-user",
      URL: "postgres://file-user@db.internal:5432/app",
      BARE: "file-user",
      LITERAL: "${NOT_EXPANDED}",
    });
  });

  it("reads U+2028 / U+2029 as dotenv does: line breaks between entries, text inside values", () => {
    const text = "# comment\u2028A=1\n# note\u2029export B=2 # more\u2028\nC=x\u2028y # c";
    expect(parseDotenv(text, { env: {} })).toEqual({ A: "1", B: "2", C: "x\u2028y" });
    expect(parseDotenv(text, { env: {} })).toEqual({ ...dotenv.parse(text) });
  });

  it("never runs $(commands) and never changes process.env", async () => {
    const marker = path.join(root, "command-ran");
    const dir = await project({
      ".env": `RAN=$(touch ${marker})\nNEW_VAR_FROM_DOTENV=x\nPATH=/nowhere\n`,
    });
    const before = { ...process.env };
    const env = await load(Secret.fromDotenv(dir));
    expect(env.RAN).toBe(`$(touch ${marker})`);
    await expect(realpath(marker)).rejects.toThrow();
    expect(process.env).toEqual(before);
    expect(process.env.NEW_VAR_FROM_DOTENV).toBeUndefined();
  });

  it("a key that breaks the key rule is an InvalidError naming the key, not the value", async () => {
    const dir = await project({ ".env": "GOOD=1\nBAD-KEY=the-value\n" });
    const error = (await load(Secret.fromDotenv(dir)).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(InvalidError);
    expect(error.message).toContain("BAD-KEY");
    expect(error.message).not.toContain("the-value");
  });
});

describe("Secret.fromDotenv: expansion", () => {
  const parse = (text: string, env: Record<string, string> = {}) =>
    parseDotenv(text, { env, source: "test.env" });

  it("$VAR, ${VAR}, defaults and alternatives, as dotenv-expand 12 had them", () => {
    expect(
      parse(
        [
          "A=a",
          "EMPTY=",
          "PLAIN=$A|${A}|$A.x|${A}x",
          "DEFAULT=${UNSET:-d}|${UNSET-d}|${EMPTY:-d}|${EMPTY-d}|${A:-d}",
          "ALTERNATIVE=${A:+alt}|${A+alt}|${UNSET:+alt}|${EMPTY+alt}",
          "NESTED=${UNSET:-${ALSO_UNSET:-$A-deep}}",
          "QUOTED='${A}' \"${A}\"",
        ].join("\n"),
      ),
    ).toEqual({
      A: "a",
      EMPTY: "",
      PLAIN: "a|a|a.x|ax",
      DEFAULT: "d|d|d|d|a",
      ALTERNATIVE: "alt|alt||",
      NESTED: "a-deep",
      QUOTED: "'a' \"a\"",
    });
    // Single-quoted values are literal, as in a shell: a password with a $ stays intact.
    expect(parse("A=a\nB='${A}'\nC=\"${A}\"\nD='pa$$word $A'")).toEqual({
      A: "a",
      B: "${A}",
      C: "a",
      D: "pa$$word $A",
    });
  });

  it("anything that is not a well-formed reference stays as written; \\$ is a literal $", () => {
    expect(
      parse(
        [
          "CMD=$(whoami) `id`",
          "DOLLARS=$ $1 $$ a$",
          "BRACES=${} ${A B} ${1X} ${UNCLOSED",
          "BRACE_IN_WORD=${UNSET:-{x}}",
          "STRAY=}{",
          "ESCAPED=\\${HOME} \\$HOME",
          'ESCAPED_DQ="\\$HOME"',
        ].join("\n"),
        { HOME: "/home/u" },
      ),
    ).toEqual({
      CMD: "$(whoami) `id`",
      DOLLARS: "$ $1 $$ a$",
      BRACES: "${} ${A B} ${1X} ${UNCLOSED",
      BRACE_IN_WORD: "${UNSET:-{x}}",
      STRAY: "}{",
      ESCAPED: "${HOME} $HOME",
      ESCAPED_DQ: "$HOME",
    });
  });

  it("earlier keys as defined on earlier lines, then the environment; substitutions are final", () => {
    expect(
      parse(
        [
          "FORWARD=${LATER}",
          "LATER=file",
          "PATH=${PATH}:/extra",
          "X=1",
          "SEES_FIRST_X=$X",
          "X=2",
          "FROM_ENV=$LOOKS_LIKE_A_REFERENCE",
        ].join("\n"),
        { LATER: "env", PATH: "/usr/bin", LOOKS_LIKE_A_REFERENCE: "${PATH}$X" },
      ),
    ).toEqual({
      FORWARD: "env",
      LATER: "file",
      PATH: "/usr/bin:/extra",
      X: "2",
      SEES_FIRST_X: "1",
      FROM_ENV: "${PATH}$X",
    });
  });

  it("never sees what a child is denied: the master keys, a store URL holding credentials", async () => {
    vi.stubEnv("ENVKEEP_MASTER_KEY", "ek1_canary-master-key");
    vi.stubEnv("ENVKEEP_MASTER_KEYS", "ek1_canary-master-key,ek1_old");
    vi.stubEnv("ENVKEEP_STORE", "redis://:canary-store-password@cache:6379/0");
    vi.stubEnv("ENVKEEP_TEST_VISIBLE", "visible");
    const dir = await project({
      ".env": [
        "LEAK=${ENVKEEP_MASTER_KEY}",
        "LEAK_KEYS=$ENVKEEP_MASTER_KEYS",
        "LEAK_STORE=${ENVKEEP_STORE:-withheld}",
        "SEEN=${ENVKEEP_TEST_VISIBLE}",
        "OWN=${ENVKEEP_MASTER_KEY:-none}",
      ].join("\n"),
    });
    const env = await load(Secret.fromDotenv(dir));
    expect(env).toEqual({
      LEAK: "",
      LEAK_KEYS: "",
      LEAK_STORE: "withheld",
      SEEN: "visible",
      OWN: "none",
    });
    // A store URL without credentials is inherited by children, so expansion sees it too.
    vi.stubEnv("ENVKEEP_STORE", "sqlite:./.envkeep/secrets.db");
    expect((await load(Secret.fromDotenv(dir))).LEAK_STORE).toBe("sqlite:./.envkeep/secrets.db");
  });

  it("keys named like Object.prototype's members are ordinary keys, end to end", async () => {
    const dir = await project({
      ".env": "__proto__=p\nconstructor=c\ntoString=${constructor}\nvalueOf=${hasOwnProperty}\n",
    });
    const env = await load(Secret.fromDotenv(dir));
    expect(Object.getPrototypeOf(env)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(env, "__proto__")?.value).toBe("p");
    expect(Object.keys(env).sort()).toEqual(["__proto__", "constructor", "toString", "valueOf"]);
    expect(env.constructor).toBe("c");
    expect(env.toString).toBe("c");
    expect(env.valueOf).toBe("");
  });
});

describe("Secret.fromDotenv: errors name the file and the line, never a value", () => {
  const canary = "canary-value-7f3a";

  async function failure(text: string): Promise<{ error: Error; file: string }> {
    const dir = await project({ ".env": text });
    const error = (await load(Secret.fromDotenv(dir)).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(InvalidError);
    expect(error.message).not.toContain(canary);
    return { error, file: path.join(dir, ".env") };
  }

  it("a line the grammar can't read", async () => {
    const { error, file } = await failure(
      `# comment\nGOOD=${canary}\n\n${canary} without an equals sign\nLATER=1\n`,
    );
    expect(error.message).toBe(
      `dotenv file ${JSON.stringify(file)}: line 4 is not KEY=VALUE, a # comment or blank`,
    );
  });

  it("line numbers count the lines of multi-line values and CRLF endings", async () => {
    const { error } = await failure(`A="${canary}\r\n${canary}"\r\nB=1\r\noops ${canary}\r\n`);
    expect(error.message).toMatch(/: line 4 is not KEY=VALUE/);
  });

  it.each([["A.B"], ["A-B"], ["1A"]])(
    "a key dotenv accepts but envkeep doesn't: %s",
    async (key) => {
      const { error, file } = await failure(`GOOD=1\n\nexport ${key}=${canary}\n`);
      expect(error.message).toBe(
        `dotenv file ${JSON.stringify(file)}: line 3: invalid key "${key}": keys match ^[A-Za-z_][A-Za-z0-9_]*$ and have at most 16384 characters`,
      );
    },
  );

  it("a value longer than 32,768 characters after expansion", async () => {
    const { error } = await failure(`A=${canary}${"x".repeat(20_000)}\nB=ok\nLONG=$A$A\n`);
    expect(error.message).toMatch(
      /: line 3: the value of "LONG" is longer than 32768 characters \(after expansion\)$/,
    );
  });

  it("keys and values adding up to more than 1 MiB after expansion", async () => {
    const big = `BIG=${canary}${"x".repeat(30_000)}`;
    const copies = Array.from({ length: 40 }, (_, i) => `COPY_${i}=$BIG`);
    const { error } = await failure([big, ...copies].join("\n"));
    expect(error.message).toMatch(
      /: line 35: the keys and values expand to more than 1048576 characters in total$/,
    );
  });

  it.skipIf(process.platform === "win32")(
    "a path that is not a regular file (a FIFO) is refused without waiting on it",
    async () => {
      const dir = await project({});
      const fifo = path.join(dir, ".env");
      execFileSync("mkfifo", [fifo]);
      await expect(load(Secret.fromDotenv(fifo))).rejects.toThrow(
        new InvalidError(`dotenv file ${JSON.stringify(fifo)} is not a regular file`),
      );
    },
  );

  it("a file over 1 MiB is refused before it is parsed", async () => {
    const { error, file } = await failure(`A=${canary}${"x".repeat(1024 * 1024)}`);
    expect(error.message).toBe(`dotenv file ${JSON.stringify(file)} is larger than 1048576 bytes`);
  });
});

describe("Secret.fromDotenv: finding the file", () => {
  it("with no path, searches upward from the current directory", async () => {
    const dir = await project({ ".env": "FOUND=root", "a/b/c/.keep": "" });
    vi.spyOn(process, "cwd").mockReturnValue(path.join(dir, "a/b/c"));
    expect(await load(Secret.fromDotenv())).toEqual({ FOUND: "root" });
  });

  it("with a directory or a file path, searches upward from there; the nearest file wins", async () => {
    const dir = await project({ ".env": "LEVEL=top", "a/.env": "LEVEL=a", "a/b/main.ts": "" });
    expect(await load(Secret.fromDotenv(path.join(dir, "a/b")))).toEqual({ LEVEL: "a" });
    expect(await load(Secret.fromDotenv(path.join(dir, "a/b/main.ts")))).toEqual({ LEVEL: "a" });
    expect(await load(Secret.fromDotenv(path.join(dir, "a/.env")))).toEqual({ LEVEL: "a" });
    expect(await load(Secret.fromDotenv(dir))).toEqual({ LEVEL: "top" });
  });

  it("honours filename", async () => {
    const dir = await project({ ".env": "WHICH=default", "sub/.env.dev": "WHICH=dev" });
    expect(await load(Secret.fromDotenv(path.join(dir, "sub"), { filename: ".env.dev" }))).toEqual({
      WHICH: "dev",
    });
    await expect(load(Secret.fromDotenv(dir, { filename: "../.env" }))).rejects.toThrow(
      InvalidError,
    );
  });

  it("a path that does not exist is a NotFoundError; no file found is an empty secret", async () => {
    await expect(load(Secret.fromDotenv(path.join(root, "missing", "dir")))).rejects.toThrow(
      NotFoundError,
    );
    const dir = await project({ "x/.keep": "" });
    expect(
      await load(Secret.fromDotenv(path.join(dir, "x"), { filename: ".env.none-such-anywhere" })),
    ).toEqual({});
  });

  it("is lazy and re-reads the file on every use", async () => {
    const dir = await project({ ".env": "V=1" });
    const secret = Secret.fromDotenv(dir);
    expect(secret.isHydrated).toBe(false);
    expect(await load(secret)).toEqual({ V: "1" });
    expect(secret.keys).toEqual(["V"]);
    await writeFile(path.join(dir, ".env"), "V=2");
    expect(await load(secret)).toEqual({ V: "2" });
  });
});

import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { generateMasterKey } from "../src/crypto/master-key.js";
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

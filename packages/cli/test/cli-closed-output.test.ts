/**
 * `envkeep --help | head -1` (issue 16): a reader that closes stdout or stderr early must not
 * crash envkeep with an EPIPE stack trace. The binary runs with the parent's end of one pipe
 * closed at once, before envkeep writes: every write to it then fails with EPIPE.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { generateMasterKey } from "@envkeep/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, ensureBuilt } from "./support/build.js";
import { envkeep, tempDir } from "./support/cli.js";

const work = tempDir("closed-output");
const env = {
  PATH: process.env.PATH ?? "",
  ENVKEEP_MASTER_KEY: generateMasterKey(),
  ENVKEEP_STORE: `sqlite:${path.join(work.dir, "secrets.db")}`,
};

/** Runs envkeep with `closed` ("stdout" or "stderr") closed by its reader; returns the other. */
function withClosed(
  closed: "stdout" | "stderr",
  args: string[],
): Promise<{ code: number | null; signal: NodeJS.Signals | null; open: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: work.dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child[closed].destroy();
    const other = closed === "stdout" ? child.stderr : child.stdout;
    let open = "";
    other.setEncoding("utf8").on("data", (chunk: string) => {
      open += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, open }));
  });
}

beforeAll(async () => {
  await ensureBuilt();
  const created = await envkeep(["secret", "create", "db", "A=1"], { cwd: work.dir, env });
  expect(created.code).toBe(0);
}, 180_000);
afterAll(() => work.remove());

describe("envkeep CLI: a reader that goes away early", () => {
  it.each([
    [["--help"]],
    [["secret", "--help"]],
    [["secret", "list"]],
    [["secret", "info", "db", "--json"]],
    [["key", "generate"]],
  ])("stdout closed: %j exits 0, nothing on stderr", async (args) => {
    const result = await withClosed("stdout", args);
    expect(result.open).toBe(""); // no stack trace, no message
    expect(result).toMatchObject({ code: 0, signal: null });
  });

  it("stdout closed: a failing command still exits with its own code and one line", async () => {
    const result = await withClosed("stdout", ["secret", "info", "nope"]);
    expect(result.open).toMatch(
      /^envkeep: secret "nope" not found in environment "main" \(store sqlite:[^)]+, workspace "default"\)\n$/,
    );
    expect(result.code).toBe(1);
  });

  it("stderr closed: a usage error still exits 2 (a crash would be 1)", async () => {
    const result = await withClosed("stderr", ["secret", "info"]);
    expect(result).toMatchObject({ code: 2, signal: null, open: "" });
  });

  it("stderr closed: run --explain writes several lines, then runs the command and passes its code", async () => {
    const marker = path.join(work.dir, "ran");
    const script = `require("fs").writeFileSync(${JSON.stringify(marker)}, ""); process.exit(7)`;
    const result = await withClosed("stderr", [
      "run",
      "--explain",
      "-s",
      "db",
      "--",
      process.execPath,
      "-e",
      script,
    ]);
    expect(result).toMatchObject({ code: 7, signal: null, open: "" });
    expect(existsSync(marker)).toBe(true);
  });
});

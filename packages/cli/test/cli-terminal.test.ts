/**
 * What only happens on a terminal: the delete confirmation, the hidden prompt of `KEY=-`, and the
 * progress bar of `key rotate --progress`. A real pseudo-terminal comes from util-linux `script`.
 */
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { generateMasterKey } from "@envkeep/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, ensureBuilt } from "./support/build.js";
import { envkeep, tempDir } from "./support/cli.js";

const hasScript = spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;
// Skipping is a failure in CI (as for Redis): .ci/run installs script(1) when it is missing.
if (!hasScript && process.env.CI) {
  throw new Error("CI is set, so not skipping: script(1) (util-linux/bsdutils) is missing");
}
const work = tempDir("terminal");
const env = {
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  TERM: "xterm",
  ENVKEEP_MASTER_KEY: generateMasterKey(),
  ENVKEEP_STORE: `sqlite:${path.join(work.dir, "secrets.db")}`,
};

const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

/** Runs envkeep in a pseudo-terminal; types `answer` once `prompt` shows up. */
function inTerminal(
  args: string[],
  options: { prompt?: string; answer?: string; env?: Record<string, string> } = {},
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, bin, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      cwd: work.dir,
      env: { ...env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let answered = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      if (!answered && options.prompt && output.includes(options.prompt)) {
        answered = true;
        child.stdin.write(options.answer ?? "");
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      child.stdin.destroy();
      resolve({ code, output });
    });
  });
}

const cli = (args: string[], extra: Record<string, string> = {}) =>
  envkeep(args, { cwd: work.dir, env: { ...env, ...extra } });

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);
afterAll(() => work.remove());

describe.skipIf(!hasScript)("envkeep CLI on a terminal", () => {
  it("delete asks first: anything but yes keeps the secret, and exits 1", async () => {
    await cli(["secret", "create", "doomed", "A=1"]);
    const prompt = "This cannot be undone. [y/N]";
    const kept = await inTerminal(["secret", "delete", "doomed"], { prompt, answer: "n\r" });
    expect(kept.output).toContain('Delete secret "doomed" in environment "main" (1 key)?');
    expect(kept.output).toContain("Not deleted.");
    expect(kept.code).toBe(1);
    expect((await cli(["secret", "info", "doomed"])).code).toBe(0);
    const gone = await inTerminal(["secret", "delete", "doomed"], { prompt, answer: "y\r" });
    expect(gone.output).toContain('Deleted secret "doomed"');
    expect((await cli(["secret", "info", "doomed"])).code).toBe(1);
  });

  it("KEY=- prompts for the value without echoing it", async () => {
    const typed = `typed-${Math.random().toString(36).slice(2)}`;
    const result = await inTerminal(["secret", "create", "hidden", "PW=-"], {
      prompt: "Value for PW: ",
      answer: `${typed}\r`,
    });
    expect(result.code).toBe(0);
    expect(result.output).not.toContain(typed);
    const run = await cli([
      "run",
      "-s",
      "hidden",
      "--",
      process.execPath,
      "-e",
      "process.stdout.write(process.env.PW)",
    ]);
    expect(run.stdout).toBe(typed);
  });

  it("secret get refuses to print a value on a terminal without --reveal", async () => {
    await cli(["secret", "create", "shown", "PW=terminal-secret-value"]);
    const refused = await inTerminal(["secret", "get", "shown", "PW"]);
    expect(refused.code).toBe(2);
    expect(refused.output).toMatch(/refusing to print a value to a terminal/);
    expect(refused.output).not.toContain("terminal-secret-value");
    const revealed = await inTerminal(["secret", "get", "shown", "PW", "--reveal"]);
    expect(revealed.code).toBe(0);
    expect(revealed.output.trim()).toBe("terminal-secret-value");
  });

  it("key rotate --progress draws a bar and ends with the report", async () => {
    for (let i = 0; i < 3; i++) await cli(["secret", "create", `r${i}`, "A=1", "-e", "rot"]);
    const newKey = generateMasterKey();
    const result = await inTerminal(["key", "rotate", "--progress", "-e", "rot"], {
      env: { ENVKEEP_MASTER_KEY: "", ENVKEEP_MASTER_KEYS: `${newKey},${env.ENVKEEP_MASTER_KEY}` },
    });
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/\[#{30}\] 3\/3 rot\/r\d/);
    expect(result.output).toMatch(/Rotated 3 secrets to master key \S+: 3 re-wrapped/);
  });
});

/** The README demo: with no store configured, the CLI uses SQLite at ./.envkeep/secrets.db. */
import { existsSync } from "node:fs";
import path from "node:path";
import { generateMasterKey } from "@envkeep/core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureBuilt } from "./support/build.js";
import { envkeep, tempDir } from "./support/cli.js";

const work = tempDir("default-store");

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);
afterAll(() => work.remove());

it("create → list → run a child that sees its secrets, on the embedded default store", async () => {
  const env = { ENVKEEP_MASTER_KEY: generateMasterKey() };
  const options = { cwd: work.dir, env };
  expect(
    (
      await envkeep(["secret", "create", "demo", "GREETING=hello", "TOKEN=-"], {
        ...options,
        input: "s3cr3t\n",
      })
    ).code,
  ).toBe(0);
  expect(existsSync(path.join(work.dir, ".envkeep", "secrets.db"))).toBe(true);
  const list = await envkeep(["secret", "list"], options);
  expect(list.stdout).toMatch(/^demo\s+GREETING, TOKEN\s/m);
  const run = await envkeep(
    [
      "run",
      "--secret",
      "demo",
      "--",
      "sh",
      "-c",
      'echo "$GREETING, token has ${#TOKEN} characters"',
    ],
    options,
  );
  expect(run).toEqual({ code: 0, stdout: "hello, token has 6 characters\n", stderr: "" });
});

it("run forwards SIGTERM to the child and passes its exit code through", async () => {
  const env = { ENVKEEP_MASTER_KEY: generateMasterKey() };
  const { spawn } = await import("node:child_process");
  const { bin } = await import("./support/build.js");
  const script =
    'process.on("SIGTERM", () => { process.stdout.write("child got SIGTERM"); process.exit(5); }); process.stdout.write("ready"); setInterval(() => {}, 1000);';
  const child = spawn(process.execPath, [bin, "run", "--", process.execPath, "-e", script], {
    cwd: work.dir,
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    if (out === "ready") child.kill("SIGTERM");
  });
  const code = await new Promise((resolve) => child.on("close", resolve));
  expect(out).toBe("readychild got SIGTERM");
  expect(code).toBe(5);
});

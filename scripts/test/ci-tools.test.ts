/**
 * On CI nothing may skip for want of a tool: .ci/run installs them. The Redis tests enforce that
 * themselves (they throw when `CI` is set); the CLI's terminal tests (cli-terminal.test.ts) still
 * skip without script(1), so this check makes a CI run without it fail instead.
 */
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";

const onPath = (command: string, args: string[]) =>
  spawnSync(command, args, { stdio: "ignore" }).status === 0;

it.skipIf(!process.env.CI)(
  "CI has script(1), without which the CLI terminal tests would skip (.ci/run installs bsdutils)",
  () => {
    expect(onPath("script", ["--version"]), "script --version").toBe(true);
  },
);

it.skipIf(!process.env.CI)(
  "CI has openssl, without which the TLS test of envkeep serve would fail (.ci/run installs it)",
  () => {
    expect(onPath("openssl", ["version"]), "openssl version").toBe(true);
  },
);

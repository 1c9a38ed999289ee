import type { ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it, vi } from "vitest";
import { memoryStore } from "../../store-memory/src/index.js";
import { generateMasterKey } from "../src/crypto/master-key.js";
import { InvalidError, NotFoundError } from "../src/errors.js";
import { SecretManager } from "../src/manager.js";
import { Secret } from "../src/secret.js";

const printEnv = `process.stdout.write(JSON.stringify(process.env))`;

function manager() {
  return new SecretManager({ store: memoryStore(), masterKey: generateMasterKey() });
}

function collect(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      out += chunk;
    });
    child.stdout?.on("end", () => resolve(out));
  });
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("spawn", () => {
  it("gives the child the parent's environment overlaid by the secrets and env", async () => {
    vi.stubEnv("ENVKEEP_PARENT_ONLY", "parent");
    vi.stubEnv("ENVKEEP_OVERRIDDEN", "parent");
    const secrets = manager();
    await secrets.create("db", { PGPASSWORD: "pw-1", ENVKEEP_OVERRIDDEN: "secret" });
    const { child, exit } = await secrets.spawn(process.execPath, ["-e", printEnv], {
      secrets: [secrets.fromName("db"), Secret.fromObject({ EXTRA: "e" })],
      env: { PORT: "8080" },
    });
    const output = collect(child);
    expect(await exit).toEqual({ code: 0, signal: null });
    const env = JSON.parse(await output);
    expect(env).toMatchObject({
      ENVKEEP_PARENT_ONLY: "parent",
      ENVKEEP_OVERRIDDEN: "secret",
      PGPASSWORD: "pw-1",
      EXTRA: "e",
      PORT: "8080",
    });
  });

  it("never puts values on the command line and leaves process.env alone", async () => {
    const secrets = manager();
    await secrets.create("s", { TOKEN: "canary-token-123" });
    const before = { ...process.env };
    const { child, exit } = await secrets.spawn(
      process.execPath,
      ["-e", "process.stdout.write(JSON.stringify(process.argv))"],
      { secrets: [secrets.fromName("s")] },
    );
    const output = collect(child);
    await exit;
    expect(child.spawnargs.join(" ")).not.toContain("canary-token-123");
    expect(await output).not.toContain("canary-token-123");
    expect(process.env).toEqual(before);
  });

  it("never hands the master keys down, unless env passes one explicitly", async () => {
    vi.stubEnv("ENVKEEP_MASTER_KEY", "ek1_parent-key");
    vi.stubEnv("ENVKEEP_MASTER_KEYS", "ek1_a,ek1_b");
    vi.stubEnv("ENVKEEP_STORE", "memory:");
    const secrets = manager();
    const first = await secrets.spawn(process.execPath, ["-e", printEnv]);
    const firstOutput = collect(first.child);
    await first.exit;
    const env = JSON.parse(await firstOutput);
    expect(env.ENVKEEP_MASTER_KEY).toBeUndefined();
    expect(env.ENVKEEP_MASTER_KEYS).toBeUndefined();
    expect(env.ENVKEEP_STORE).toBe("memory:");
    const second = await secrets.spawn(process.execPath, ["-e", printEnv], {
      env: { ENVKEEP_MASTER_KEY: "ek1_explicit" },
    });
    const secondOutput = collect(second.child);
    await second.exit;
    expect(JSON.parse(await secondOutput).ENVKEEP_MASTER_KEY).toBe("ek1_explicit");
  });

  it("never hands down ENVKEEP_STORE when it holds credentials", async () => {
    vi.stubEnv("ENVKEEP_STORE", "rediss://app:canary-store-password@cache.internal:6380/0");
    const secrets = manager();
    const { child, exit } = await secrets.spawn(process.execPath, ["-e", printEnv]);
    const output = collect(child);
    await exit;
    const text = await output;
    expect(JSON.parse(text).ENVKEEP_STORE).toBeUndefined();
    expect(text).not.toContain("canary-store-password");
  });

  it("with inheritEnv: false the child sees only the resolved variables", async () => {
    vi.stubEnv("ENVKEEP_PARENT_ONLY", "parent");
    const secrets = manager();
    const { child, exit } = await secrets.spawn(process.execPath, ["-e", printEnv], {
      env: { ONLY: "1" },
      inheritEnv: false,
    });
    const output = collect(child);
    await exit;
    const env = JSON.parse(await output);
    expect(env.ONLY).toBe("1");
    expect(env.ENVKEEP_PARENT_ONLY).toBeUndefined();
  });

  it("passes the exit code and the killing signal through", async () => {
    const secrets = manager();
    const failing = await secrets.spawn(process.execPath, ["-e", "process.exit(7)"]);
    expect(await failing.exit).toEqual({ code: 7, signal: null });
    const sleeping = await secrets.spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    sleeping.child.kill("SIGTERM");
    expect(await sleeping.exit).toEqual({ code: null, signal: "SIGTERM" });
  });

  it("checks required keys before starting anything", async () => {
    const secrets = manager();
    await secrets.create("s", { A: "1" });
    await expect(
      secrets.spawn(process.execPath, ["-e", "require('fs').writeFileSync('/dev/null','x')"], {
        secrets: [secrets.fromName("s")],
        requiredKeys: ["A", "MISSING_ONE", "MISSING_TWO"],
      }),
    ).rejects.toThrow(new NotFoundError("missing required keys: MISSING_ONE, MISSING_TWO"));
    await expect(
      secrets.spawn(process.execPath, [], { secrets: [secrets.fromName("nope")] }),
    ).rejects.toThrow(NotFoundError);
  });

  it("a command that cannot start is an InvalidError naming the command", async () => {
    const secrets = manager();
    await expect(secrets.spawn("envkeep-no-such-command-xyz", [])).rejects.toThrow(
      /cannot start "envkeep-no-such-command-xyz": command not found/,
    );
    await expect(secrets.spawn("", [])).rejects.toThrow(InvalidError);
    await expect(secrets.spawn("node", [1 as never])).rejects.toThrow(InvalidError);
  });

  it("a command not found because a secret set PATH says which secret set it", async () => {
    const secrets = new SecretManager({
      store: memoryStore(),
      masterKey: generateMasterKey(),
      environment: "dev",
    });
    await secrets.create("tools", { PATH: "/nowhere/bin", TOKEN: "t-value-123" });
    const error = await secrets
      .spawn("node", ["-e", "0"], { secrets: [secrets.fromName("tools")] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidError);
    expect((error as Error).message).toBe(
      'cannot start "node": command not found; PATH was set by secret "tools" (environment "dev"), so the command was looked up there',
    );
    expect((error as Error).message).not.toContain("/nowhere");
    // Without a PATH from a secret, the message stays as it was.
    const plain = await secrets
      .spawn("envkeep-no-such-command-xyz", [], { secrets: [secrets.fromName("tools")], env: {} })
      .catch((e: unknown) => e);
    expect((plain as Error).message).toMatch(/PATH was set by secret "tools"/);
    const noPath = await secrets.spawn("envkeep-no-such-command-xyz", []).catch((e: unknown) => e);
    expect((noPath as Error).message).toBe(
      'cannot start "envkeep-no-such-command-xyz": command not found',
    );
    const fromEnv = await secrets
      .spawn("node", [], { env: { PATH: "/nowhere" } })
      .catch((e: unknown) => e);
    expect((fromEnv as Error).message).toMatch(/PATH was set by the env option/);
  });

  it("passes spawn options such as cwd through", async () => {
    const secrets = manager();
    const { child, exit } = await secrets.spawn(
      process.execPath,
      ["-e", "process.stdout.write(process.cwd())"],
      { cwd: "/" },
    );
    const output = collect(child);
    await exit;
    expect(await output).toBe("/");
  });
});

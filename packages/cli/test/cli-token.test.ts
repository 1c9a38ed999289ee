/**
 * `envkeep token create|list|revoke`, as a user runs them (the built binary, pipes, a real
 * SQLite file): the token is printed once, alone on stdout; nothing else ever prints it.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { generateMasterKey } from "@envkeep/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "./support/build.js";
import { envkeep, tempDir } from "./support/cli.js";

const work = tempDir("token");
let counter = 0;

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);
afterAll(() => work.remove());

function setup() {
  const env = {
    ENVKEEP_MASTER_KEY: generateMasterKey(),
    ENVKEEP_STORE: `sqlite:${path.join(work.dir, `db-${++counter}`, "secrets.db")}`,
  };
  return (args: string[], extra: Record<string, string> = {}) =>
    envkeep(args, { cwd: work.dir, env: { ...env, ...extra } });
}

const TOKEN = /^ekt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** The token, its secret part and the SHA-256 kept of it: none may be printed again. */
function forms(token: string): string[] {
  const secret = TOKEN.exec(token)?.[2] ?? "";
  return [token, secret, createHash("sha256").update(secret).digest("hex")];
}

describe("envkeep token", () => {
  it("create prints the token alone on stdout, once; list shows its facts, never the token", async () => {
    const cli = setup();
    const created = await cli([
      "token",
      "create",
      "--name",
      "ci",
      "--scope",
      "write",
      "--environment",
      "prod",
      "staging",
      "--expires-in",
      "30d",
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^ekt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    const token = created.stdout.trim();
    const id = TOKEN.exec(token)?.[1] ?? "";
    expect(created.stderr).toMatch(
      new RegExp(
        `^envkeep: created token ${id} "ci" in workspace "default": scope write, environments prod, staging, expires \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\. It is shown this once: keep it now\\.\\n$`,
      ),
    );
    await cli(["token", "create", "--name", "dashboard", "--scope", "read"]);

    const table = await cli(["token", "list"]);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^ID\s+NAME\s+SCOPE\s+ENVIRONMENTS\s+CREATED\s+EXPIRES\s+LAST USED$/);
    expect(rows).toHaveLength(2);
    expect(rows.find((row) => row.startsWith(id))).toMatch(
      /^[0-9a-f]{16}\s+ci\s+write\s+prod, staging\s+\S+ \S+Z\s+\S+ \S+Z\s+never$/,
    );
    expect(rows.find((row) => !row.startsWith(id))).toMatch(
      /\s+dashboard\s+read\s+\(all\)\s+.*never\s+never$/,
    );

    const json = await cli(["token", "list", "--json"]);
    const listed = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(listed.find((entry) => entry.id === id)).toEqual({
      id,
      name: "ci",
      workspace: "default",
      scope: "write",
      environments: ["prod", "staging"],
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
      lastUsedAt: null,
      createdBy: expect.stringMatching(/^cli:/),
    });
    for (const output of [table, json]) {
      for (const form of forms(token)) {
        expect(output.stdout).not.toContain(form);
        expect(output.stderr).not.toContain(form);
      }
    }
  });

  it("revoke removes it; revoking again, or a token given for an id, is an error that echoes nothing", async () => {
    const cli = setup();
    const token = (
      await cli(["token", "create", "--name", "old", "--scope", "read"])
    ).stdout.trim();
    const id = TOKEN.exec(token)?.[1] ?? "";
    expect(await cli(["token", "revoke", id])).toEqual({
      code: 0,
      stdout: `Revoked token ${id}; servers stop accepting it within 2 seconds.\n`,
      stderr: "",
    });
    expect((await cli(["token", "list"])).stdout).toBe('No tokens in workspace "default".\n');
    expect(await cli(["token", "revoke", id])).toEqual({
      code: 1,
      stdout: "",
      stderr: `envkeep: no token with id ${id}\n`,
    });
    const pasted = await cli(["token", "revoke", token]);
    expect(pasted.code).toBe(1);
    expect(pasted.stderr).toBe(
      "envkeep: invalid token id: expected 16 hex characters (see `token list`)\n",
    );
  });

  it("usage errors: exit 2, nothing created", async () => {
    const cli = setup();
    const cases: [string[], RegExp][] = [
      [["token", "create", "--scope", "read"], /required option '--name <name>' not specified/],
      [["token", "create", "--name", "x"], /required option '--scope <scope>' not specified/],
      [
        ["token", "create", "--name", "x", "--scope", "root"],
        /^envkeep: --scope takes read, write or admin\n$/,
      ],
      [
        ["token", "create", "--name", "x", "--scope", "read", "--expires-in", "soon"],
        /--expires-in takes a number and a unit/,
      ],
      [
        [
          "token",
          "create",
          "--name",
          "x",
          "--scope",
          "read",
          "--expires-in",
          "1d",
          "--expires-at",
          "2099-01-01",
        ],
        /give --expires-in or --expires-at, not both/,
      ],
      [
        ["-e", "prod", "token", "create", "--name", "x", "--scope", "read"],
        /tokens are not kept per environment: limit a token with --environment/,
      ],
      [["token", "list", "-e", "prod"], /tokens are not kept per environment/],
      [
        ["token", "create", "--name", "API_KEY=sk-live-1", "--scope", "read"],
        /^envkeep: --name looks like KEY=VALUE \(not shown/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain("sk-live-1");
    }
    expect((await cli(["token", "list"])).stdout).toBe('No tokens in workspace "default".\n');
  });

  it("core's rules: a bad environment name or a past expiry is exit 1, naming what is wrong", async () => {
    const cli = setup();
    const badEnv = await cli([
      "token",
      "create",
      "--name",
      "x",
      "--scope",
      "read",
      "--environment",
      "en-x",
    ]);
    expect(badEnv).toMatchObject({ code: 1, stdout: "" });
    expect(badEnv.stderr).toMatch(/^envkeep: invalid environment name "en-x"/);
    const past = await cli([
      "token",
      "create",
      "--name",
      "x",
      "--scope",
      "read",
      "--expires-at",
      "2001-01-01T00:00:00Z",
    ]);
    expect(past).toEqual({
      code: 1,
      stdout: "",
      stderr: "envkeep: invalid expiresAt: it is not in the future\n",
    });
  });

  it("no master key: exit 1 before any store is touched", async () => {
    const result = await envkeep(["token", "list"], {
      cwd: work.dir,
      env: { ENVKEEP_STORE: `sqlite:${path.join(work.dir, "never", "secrets.db")}` },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^envkeep: no master key/);
  });
});

/**
 * Metadata from a store reaches the terminal escaped: an actor, key names, an environment or an
 * error message quoting them can neither forge lines of output nor send terminal escapes. The
 * records are forged the way someone with the database could (straight into the SQLite file).
 * In-process through `main`, against a real SQLite file.
 */
import path from "node:path";
import { generateMasterKey, type StoredRecord } from "@envkeep/core";
import { sqliteStore } from "@envkeep/store-sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "./support/cli.js";
import { runMain } from "./support/in-process.js";
import { FORGERIES, unsafeCharacters } from "./support/unsafe.js";

const work = tempDir("escaping");
afterAll(() => work.remove());
let stores = 0;

/** A fresh SQLite store, and `main` with a master key for it. */
function freshStore() {
  const file = path.join(work.dir, `store-${++stores}`, "secrets.db");
  const env = {
    ENVKEEP_MASTER_KEY: generateMasterKey(),
    ENVKEEP_STORE: `sqlite:${file}`,
    ENVKEEP_ACTOR: "ci",
  };
  return {
    env,
    cli: (argv: string[], extra: Record<string, string> = {}) =>
      runMain(argv, { env: { ...env, ...extra } }),
    /** Writes `record` as is, as someone with the database could. */
    async forge(record: Partial<StoredRecord> & Pick<StoredRecord, "name">) {
      const store = sqliteStore({ path: file });
      const now = Date.now();
      await store.create({
        workspace: "default",
        environment: "main",
        secretId: `st-${"f".repeat(22)}`,
        keys: ["A"],
        createdAt: now,
        updatedAt: now,
        version: 1,
        sealed: "not-a-sealed-record",
        ...record,
      });
      await store.close();
    },
  };
}

function expectClean(output: { stdout: string; stderr: string }) {
  expect(unsafeCharacters(output.stdout)).toEqual([]);
  expect(unsafeCharacters(output.stderr)).toEqual([]);
}

describe("envkeep CLI: store metadata is printed escaped", () => {
  it("secret info: an actor cannot add lines or send escapes", async () => {
    const { cli } = freshStore();
    for (const [i, actor] of FORGERIES.entries()) {
      expect((await cli(["secret", "create", `s${i}`, "A=1"], { ENVKEEP_ACTOR: actor })).code).toBe(
        0,
      );
      const info = await cli(["secret", "info", `s${i}`]);
      expect(info.code).toBe(0);
      expectClean(info);
      const lines = info.stdout.trimEnd().split("\n");
      expect(lines.map((line) => line.split(":")[0])).toEqual([
        "Name",
        "Environment",
        "Workspace",
        "Id",
        "Version",
        "Keys",
        "Created",
        "Updated",
      ]);
    }
    const forged = await cli(["secret", "info", "s0"]);
    expect(forged.stdout).toMatch(
      /^Created: +\S+ \S+ by ci\\nUpdated: {5}2099-01-01 00:00:00Z by root$/m,
    );
  });

  it("secret list: forged records are left out, and the warning naming them is escaped", async () => {
    const { cli, forge } = freshStore();
    await cli(["secret", "create", "real", "A=1"]);
    await forge({ name: "forged", keys: ["A\nfake  B  2099-01-01 00:00:00Z", "B\x1b[31m"] });
    await forge({ name: `n\u202egnp`, secretId: `st-${"g".repeat(22)}`, createdBy: FORGERIES[2] });
    const list = await cli(["secret", "list"]);
    expect(list.code).toBe(0);
    expectClean(list);
    // Their metadata cannot be authenticated, so none of it is shown: one warning line each.
    expect(list.stdout.trimEnd().split("\n")).toHaveLength(2); // header + "real"
    expect(list.stdout).not.toContain("fake");
    const warnings = list.stderr.trimEnd().split("\n");
    expect(warnings).toHaveLength(2);
    expect(list.stderr).toContain('secret "forged"');
    expect(list.stderr).toContain("n\\u202Egnp");
    const info = await cli(["secret", "info", "forged"]);
    expect(info.code).toBe(1);
    expectClean(info);
    expect(info.stdout).toBe("");
  });

  it("--json stays JSON: the same strings for a parser, no unsafe character for a terminal", async () => {
    const { cli } = freshStore();
    for (const [i, actor] of [FORGERIES[5]!, "x\u2028y"].entries()) {
      await cli(["secret", "create", `s${i}`, "A=1"], { ENVKEEP_ACTOR: actor });
      for (const argv of [
        ["secret", "info", `s${i}`, "--json"],
        ["secret", "list", "--json"],
      ]) {
        const result = await cli(argv);
        expect(result.code).toBe(0);
        expectClean(result);
        const parsed = JSON.parse(result.stdout);
        const info = Array.isArray(parsed) ? parsed[0] : parsed;
        expect(info).toMatchObject({ name: `s${i}`, createdBy: actor, updatedBy: actor });
      }
    }
  });

  it("key rotate: a failure line quoting a stored name and environment stays one line", async () => {
    const { cli, forge } = freshStore();
    await cli(["secret", "create", "fine", "A=1"]);
    await forge({ name: "broken", environment: "evil\u202e\x1b]0;owned\x07\nenvkeep: forged" });
    const rotated = await cli(["key", "rotate"]);
    expect(rotated.code).toBe(1);
    expectClean(rotated);
    expect(rotated.stderr.split("\n")).toHaveLength(2); // one line, then the end
    expect(rotated.stderr).toMatch(
      /^envkeep: could not rotate secret "broken" in environment "evil\\u202E\\x1B\]0;owned\\x07\\nenvkeep: forged": /,
    );
  });

  it("an error line quoting typed text is one escaped line", async () => {
    const { cli } = freshStore();
    const result = await cli(["secret", "info", "bad\u202e\u0085name"]);
    expect(result.code).toBe(1);
    expectClean(result);
    expect(result.stderr).toMatch(/^envkeep: invalid secret name "bad\\u202E\\x85name": [^\n]*\n$/);
  });

  it("a record with a forged name is left out with an escaped warning, and blocks no write", async () => {
    const { cli, forge } = freshStore();
    await cli(["secret", "create", "real", "A=1"]);
    // The newest record of "main", so the first one a write's master-key check meets.
    await forge({ name: "bad\u202e\u0085name", createdAt: Date.now() + 1_000 });
    const list = await cli(["secret", "list"]);
    expectClean(list);
    expect(list.stdout).toMatch(/^real +A /m);
    expect(list.stderr).toMatch(
      /^envkeep: warning: left out of the list: secret "bad\\u202E\\x85name"/m,
    );
    expect(await cli(["secret", "create", "other", "B=1"])).toMatchObject({ code: 0, stderr: "" });
    expect(await cli(["secret", "update", "real", "A=2"])).toMatchObject({ code: 0, stderr: "" });
  });
});

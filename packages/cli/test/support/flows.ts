/**
 * The end-to-end flows of the `envkeep` binary, run against one kind of store (SQLite, Redis…).
 * Each test gets its own empty store through `newStore()`.
 */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generateMasterKey } from "@envkeep/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "./build.js";
import { type CliOptions, envkeep, tempDir } from "./cli.js";

export interface StoreUnderTest {
  /** `--store` / `ENVKEEP_STORE` URL of a fresh, empty store. */
  url: string;
  /** Everything the backend holds for that store, as text (for leak checks). */
  raw(): Promise<string>;
}

const printEnv = (...keys: string[]) =>
  `process.stdout.write(JSON.stringify([${keys.map((k) => JSON.stringify(k)).join(",")}].map((k) => process.env[k] ?? null)))`;

export function cliFlowTests(label: string, newStore: () => Promise<StoreUnderTest>): void {
  describe(`envkeep CLI end to end (${label})`, () => {
    const work = tempDir(label);
    let counter = 0;

    beforeAll(async () => {
      await ensureBuilt();
    }, 180_000);
    afterAll(() => work.remove());

    async function setup() {
      const store = await newStore();
      const key = generateMasterKey();
      const cwd = path.join(work.dir, `case-${++counter}`);
      const { mkdirSync } = await import("node:fs");
      mkdirSync(cwd, { recursive: true });
      const env = { ENVKEEP_MASTER_KEY: key, ENVKEEP_STORE: store.url };
      const cli = (args: string[], options: CliOptions = {}) =>
        envkeep(args, { cwd, ...options, env: { ...env, ...options.env } });
      const listJson = async (extra: string[] = []) => {
        const result = await cli(["secret", "list", "--json", ...extra]);
        expect(result).toMatchObject({ code: 0, stderr: "" });
        return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
      };
      /** What the CLI adds to an error about the store's contents: where it happened. */
      const where = ` (store ${store.url}, workspace "default")`;
      return { store, key, cwd, env, cli, listJson, where };
    }

    it("create → list → info → run a child that sees its secrets → update → delete", async () => {
      const { cli, listJson, store } = await setup();
      const created = await cli(["secret", "create", "api-keys", "API_KEY=sk-one", "REGION=eu"]);
      expect(created).toEqual({
        code: 0,
        stdout:
          'Created secret "api-keys" in environment "main" (version 1) with 2 keys: API_KEY, REGION\n',
        stderr: "",
      });

      const table = await cli(["secret", "list"]);
      expect(table.code).toBe(0);
      const [header, row, ...rest] = table.stdout.trimEnd().split("\n");
      expect(header).toMatch(/^NAME\s+KEYS\s+CREATED\s+UPDATED\s+VERSION$/);
      expect(row).toMatch(
        /^api-keys\s+API_KEY, REGION\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+1$/,
      );
      expect(rest).toEqual([]);

      const [listed] = await listJson();
      expect(listed).toMatchObject({
        name: "api-keys",
        environment: "main",
        workspace: "default",
        keys: ["API_KEY", "REGION"],
        version: 1,
      });
      expect(String(listed?.secretId)).toMatch(/^st-/);

      const info = await cli(["secret", "info", "api-keys"]);
      expect(info.code).toBe(0);
      expect(info.stdout).toMatch(/^Name:\s+api-keys$/m);
      expect(info.stdout).toMatch(/^Keys:\s+API_KEY, REGION$/m);
      expect(info.stdout).toMatch(/^Version:\s+1$/m);
      const infoJson = JSON.parse((await cli(["secret", "info", "api-keys", "--json"])).stdout);
      expect(infoJson).toEqual(listed);

      const run = await cli([
        "run",
        "--secret",
        "api-keys",
        "--",
        process.execPath,
        "-e",
        printEnv("API_KEY", "REGION", "ENVKEEP_MASTER_KEY", "ENVKEEP_STORE"),
      ]);
      // The child gets its secrets, never the master key.
      expect(run).toEqual({
        code: 0,
        stdout: `["sk-one","eu",null,${JSON.stringify(store.url)}]`,
        stderr: "",
      });

      const updated = await cli([
        "secret",
        "update",
        "api-keys",
        "API_KEY=sk-two",
        "--unset",
        "REGION",
      ]);
      expect(updated.code).toBe(0);
      expect(updated.stdout).toBe(
        'Updated secret "api-keys" in environment "main" (version 2); keys: API_KEY\n',
      );
      const unchanged = await cli(["secret", "update", "api-keys", "API_KEY=sk-two"]);
      expect(unchanged.stdout).toMatch(/unchanged \(version 2\)/);
      expect(unchanged.stderr).toBe("");
      // Removing a key the secret does not have says so (and changes nothing).
      const absent = await cli(["secret", "update", "api-keys", "--unset", "NOPE", "REGION"]);
      expect(absent.code).toBe(0);
      expect(absent.stdout).toMatch(/unchanged \(version 2\)/);
      expect(absent.stderr).toBe(
        'envkeep: warning: secret "api-keys" has no key NOPE, REGION: nothing to remove\n',
      );
      // __proto__ is an ordinary key to set and to remove.
      await cli(["secret", "update", "api-keys", "__proto__=p"]);
      const removed = await cli(["secret", "update", "api-keys", "--unset", "__proto__"]);
      expect(removed.stdout).toMatch(/version 4\); keys: API_KEY$/m);
      const rerun = await cli([
        "run",
        "-s",
        "api-keys",
        "--",
        process.execPath,
        "-e",
        printEnv("API_KEY", "REGION"),
      ]);
      expect(rerun.stdout).toBe('["sk-two",null]');

      const deleted = await cli(["secret", "delete", "api-keys", "--yes"]);
      expect(deleted).toEqual({
        code: 0,
        stdout: 'Deleted secret "api-keys" from environment "main"\n',
        stderr: "",
      });
      expect(await listJson()).toEqual([]);
      expect((await cli(["secret", "list"])).stdout).toBe('No secrets in environment "main".\n');
    });

    it("create merges arguments, then the dotenv file, then the JSON file (later wins)", async () => {
      const { cli, cwd } = await setup();
      writeFileSync(
        path.join(cwd, "vars.env"),
        "B=from-dotenv\nC=from-dotenv\n# comment\nD=${B}-x\n",
      );
      writeFileSync(
        path.join(cwd, "vars.json"),
        JSON.stringify({ C: "from-json", E: "json", PORT: 8080, DEBUG: false, RATIO: 0.5 }),
      );
      const created = await cli([
        "secret",
        "create",
        "merged",
        "A=from-args",
        "B=from-args",
        "C=from-args",
        "--from-dotenv",
        "vars.env",
        "--from-json",
        "vars.json",
      ]);
      expect(created.code).toBe(0);
      const run = await cli([
        "run",
        "-s",
        "merged",
        "--",
        process.execPath,
        "-e",
        printEnv("A", "B", "C", "D", "E", "PORT", "DEBUG", "RATIO"),
      ]);
      // JSON numbers and booleans arrive as the strings of themselves.
      expect(JSON.parse(run.stdout)).toEqual([
        "from-args",
        "from-dotenv",
        "from-json",
        "from-dotenv-x",
        "json",
        "8080",
        "false",
        "0.5",
      ]);
    });

    it("status says where the CLI points (store, workspace, environment, key id), never a secret", async () => {
      const { cli, key } = await setup();
      const shown = await cli(["status"]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/^Store: +\S+: (reachable|not created yet .*)$/m);
      expect(shown.stdout).toMatch(/^Workspace: +default$/m);
      expect(shown.stdout).toMatch(/^Environment: +main \(commands without -e use it\)$/m);
      expect(shown.stdout).toMatch(/^Master key: +k\S+ \(seals new writes\)$/m);
      expect(shown.stdout).not.toContain(key.slice(4, 24));
      const json = JSON.parse((await cli(["status", "--json", "-e", "prod"])).stdout);
      expect(json).toMatchObject({ workspace: "default", environment: "prod" });
      expect(json.keyIds).toHaveLength(1);
      // Informational: it reports a missing key (or an unreachable store) and exits 0.
      const noKey = await cli(["status"], { env: { ENVKEEP_MASTER_KEY: undefined } });
      expect(noKey.code).toBe(0);
      expect(noKey.stdout).toMatch(/^Master key: +none \(not set: ENVKEEP_MASTER_KEY/m);
      const version = await cli(["--version"]);
      expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    });

    it("secret get prints one value for scripts; secret set merges like update", async () => {
      const { cli } = await setup();
      await cli(["secret", "create", "db", "PGPASSWORD=pw-for-get", "PGUSER=app"]);
      const got = await cli(["secret", "get", "db", "PGPASSWORD"]);
      expect(got).toEqual({ code: 0, stdout: "pw-for-get\n", stderr: "" });
      const set = await cli(["secret", "set", "db", "PGUSER=app2", "PGHOST=-"], { input: "h\n" });
      expect(set.code).toBe(0);
      expect(set.stdout).toMatch(/^Updated secret "db" .*keys: PGHOST, PGPASSWORD, PGUSER$/m);
      expect((await cli(["secret", "get", "db", "PGUSER"])).stdout).toBe("app2\n");
      expect((await cli(["secret", "get", "db", "PGHOST"])).stdout).toBe("h\n");
      const missing = await cli(["secret", "get", "db", "NOPE"]);
      expect(missing.code).toBe(1);
      expect(missing.stdout).toBe("");
      expect(missing.stderr).toBe('envkeep: secret "db" in environment "main" has no key NOPE\n');
      const twoStdin = await cli(["secret", "set", "db", "A=-", "B=-"], { input: "x" });
      expect(twoStdin.code).toBe(2);
      expect(twoStdin.stderr).toMatch(/only one KEY=-/);
    });

    it("KEY=- reads the value from standard input, stripping one trailing newline", async () => {
      const { cli } = await setup();
      const created = await cli(["secret", "create", "stdin", "TOKEN=-", "OTHER=x"], {
        input: "line one\nline two\n\n",
      });
      expect(created.code).toBe(0);
      await cli(["secret", "update", "stdin", "SECOND=-"], { input: "tail\r\n" });
      const run = await cli([
        "run",
        "-s",
        "stdin",
        "--",
        process.execPath,
        "-e",
        printEnv("TOKEN", "SECOND"),
      ]);
      expect(JSON.parse(run.stdout)).toEqual(["line one\nline two\n", "tail"]);
      const twice = await cli(["secret", "create", "two", "A=-", "B=-"], { input: "x" });
      expect(twice.code).toBe(2);
      expect(twice.stderr).toBe("envkeep: only one KEY=- may read standard input (got A, B)\n");
    });

    it("--force replaces an existing secret; without it, creating again fails and changes nothing", async () => {
      const { cli, listJson, where } = await setup();
      await cli(["secret", "create", "db", "PGPASSWORD=one"]);
      const [before] = await listJson();
      const again = await cli(["secret", "create", "db", "PGPASSWORD=two"]);
      expect(again).toEqual({
        code: 1,
        stdout: "",
        stderr: `envkeep: secret "db" already exists in environment "main" (use --force to replace it)${where}\n`,
      });
      expect(await listJson()).toEqual([before]);
      const forced = await cli(["secret", "create", "db", "PGHOST=h", "--force"]);
      expect(forced.stdout).toMatch(/^Replaced secret "db" .*\(version 2\) with 1 key: PGHOST\n$/);
      const [after] = await listJson();
      expect(after).toMatchObject({
        secretId: before?.secretId,
        createdAt: before?.createdAt,
        version: 2,
        keys: ["PGHOST"],
      });
    });

    it("environments and workspaces are separate (-e, --workspace and their variables)", async () => {
      const { cli, listJson } = await setup();
      await cli(["secret", "create", "db", "PGPASSWORD=dev-pw", "-e", "dev"]);
      await cli(["-e", "prod", "secret", "create", "db", "PGPASSWORD=prod-pw"]);
      expect(await listJson()).toEqual([]);
      expect((await listJson(["-e", "dev"])).map((s) => s.environment)).toEqual(["dev"]);
      const prod = await cli(
        ["run", "-s", "db", "--", process.execPath, "-e", printEnv("PGPASSWORD")],
        {
          env: { ENVKEEP_ENVIRONMENT: "prod" },
        },
      );
      expect(prod.stdout).toBe('["prod-pw"]');
      const dev = await cli([
        "run",
        "-e",
        "dev",
        "-s",
        "db",
        "--",
        process.execPath,
        "-e",
        printEnv("PGPASSWORD"),
      ]);
      expect(dev.stdout).toBe('["dev-pw"]');
      // Workspaces are separate too (--workspace / ENVKEEP_WORKSPACE).
      await cli([
        "--workspace",
        "acme",
        "secret",
        "create",
        "db",
        "PGPASSWORD=acme-pw",
        "-e",
        "dev",
      ]);
      const acme = await cli(["secret", "list", "--json", "-e", "dev"], {
        env: { ENVKEEP_WORKSPACE: "acme" },
      });
      expect(JSON.parse(acme.stdout).map((s: { workspace: string }) => s.workspace)).toEqual([
        "acme",
      ]);
      const acmeRun = await cli([
        "run",
        "--workspace",
        "acme",
        "-e",
        "dev",
        "-s",
        "db",
        "--",
        process.execPath,
        "-e",
        printEnv("PGPASSWORD"),
      ]);
      expect(acmeRun.stdout).toBe('["acme-pw"]');
      expect((await listJson(["-e", "dev"])).map((s) => s.workspace)).toEqual(["default"]);
    });

    it("concurrent updates from separate envkeep processes are all kept", async () => {
      const { cli } = await setup();
      await cli(["secret", "create", "shared", "K0=start"]);
      const writers = 8;
      const results = await Promise.all(
        Array.from({ length: writers }, (_, i) =>
          cli(["secret", "update", "shared", `K${i + 1}=v${i + 1}`]),
        ),
      );
      for (const result of results) expect(result).toMatchObject({ code: 0, stderr: "" });
      const info = JSON.parse((await cli(["secret", "info", "shared", "--json"])).stdout);
      expect(info.version).toBe(writers + 1);
      expect(info.keys).toHaveLength(writers + 1);
    });

    it("templates: lists them, and create --template checks every key is given", async () => {
      const { cli, listJson } = await setup();
      const templates = await cli(["secret", "templates"]);
      expect(templates.code).toBe(0);
      expect(templates.stdout).toMatch(
        /^postgres\s+.*PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE$/m,
      );
      expect(templates.stdout).toMatch(/^mongodb\s+.*MONGO_URI$/m);
      expect(JSON.parse((await cli(["secret", "templates", "--json"])).stdout)).toHaveLength(7);
      const missing = await cli([
        "secret",
        "create",
        "pg",
        "--template",
        "postgres",
        "PGHOST=h",
        "PGUSER=u",
      ]);
      expect(missing).toEqual({
        code: 1,
        stdout: "",
        stderr:
          'envkeep: template "postgres" needs the keys PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE; missing: PGPORT, PGPASSWORD, PGDATABASE\n',
      });
      const unknown = await cli(["secret", "create", "x", "--template", "mysql", "A=1"]);
      expect(unknown.stderr).toMatch(/^envkeep: unknown template "mysql": use one of aws, github/);
      expect(await listJson()).toEqual([]);
      const ok = await cli(["secret", "create", "oa", "--template", "openai", "OPENAI_API_KEY=sk"]);
      expect(ok.code).toBe(0);
    });

    it("delete asks for --yes when not on a terminal, and --allow-missing tolerates a missing secret", async () => {
      const { cli, listJson, where } = await setup();
      await cli(["secret", "create", "keep", "A=1"]);
      const refused = await cli(["secret", "delete", "keep"]);
      expect(refused).toEqual({
        code: 2,
        stdout: "",
        stderr: 'envkeep: refusing to delete secret "keep" without --yes when not on a terminal\n',
      });
      expect((await listJson()).map((s) => s.name)).toEqual(["keep"]);
      const missing = await cli(["secret", "delete", "nope", "--yes"]);
      expect(missing).toEqual({
        code: 1,
        stdout: "",
        stderr: `envkeep: secret "nope" not found in environment "main"${where}\n`,
      });
      const allowed = await cli(["secret", "delete", "nope", "--allow-missing"]);
      expect(allowed).toMatchObject({ code: 0, stderr: "" });
    });

    it("run without -- and an option after the command is refused, never misread", async () => {
      const { cli, cwd } = await setup();
      await cli(["secret", "create", "db", "A=1"]);
      const marker = path.join(cwd, "started");
      for (const argv of [
        [
          "run",
          "-s",
          "db",
          process.execPath,
          "-e",
          `require("fs").writeFileSync(${JSON.stringify(marker)}, "")`,
        ],
        ["run", "-s", "db", process.execPath, "--version"],
        ["-e", "main", "run", process.execPath, "-p", "1"],
      ]) {
        const refused = await cli(argv);
        expect(refused.code, argv.join(" ")).toBe(2);
        expect(refused.stdout).toBe("");
        expect(refused.stderr).toBe(
          "envkeep: put the command after --, or options meant for it are read as envkeep's own: envkeep run [options] -- COMMAND ARGS…\n",
        );
      }
      expect(existsSync(marker)).toBe(false);
      // With --, or with no option-like word after the command, it runs.
      const ok = await cli(["run", "-s", "db", "--", process.execPath, "-e", printEnv("A")]);
      expect(ok.stdout).toBe('["1"]');
      const plain = await cli(["run", "-s", "db", process.execPath, path.join(cwd, "nope.js")]);
      expect(plain.code).toBe(1); // node ran (and failed on the missing script): not refused
    });

    it("run passes the exit code through, layers env files after secrets, and checks before starting", async () => {
      const { cli, cwd, where } = await setup();
      await cli(["secret", "create", "s", "A=secret", "B=secret"]);
      writeFileSync(path.join(cwd, ".env.local"), "B=file\nC=file\n");
      const layered = await cli([
        "run",
        "-s",
        "s",
        "--env-file",
        ".env.local",
        "--",
        process.execPath,
        "-e",
        printEnv("A", "B", "C"),
      ]);
      expect(layered.stdout).toBe('["secret","file","file"]');
      const explained = await cli([
        "run",
        "--explain",
        "-s",
        "s",
        "-f",
        ".env.local",
        "--",
        process.execPath,
        "-e",
        "",
      ]);
      expect(explained.stderr).toMatch(
        /^envkeep: B from env file \.env\.local, overriding secret "s" \(environment main, version 1\)$/m,
      );
      expect(explained.stderr).not.toMatch(/secret",|"file"/);

      const exit = await cli(["run", "--", process.execPath, "-e", "process.exit(42)"]);
      expect(exit.code).toBe(42);

      const marker = path.join(cwd, "started");
      const startScript = `require("fs").writeFileSync(${JSON.stringify(marker)}, "x")`;
      const notFound = await cli([
        "run",
        "-s",
        "missing",
        "--",
        process.execPath,
        "-e",
        startScript,
      ]);
      expect(notFound).toEqual({
        code: 1,
        stdout: "",
        stderr: `envkeep: secret "missing" not found in environment "main"${where}\n`,
      });
      const required = await cli([
        "run",
        "-s",
        "s",
        "--require",
        "A",
        "--require",
        "Z",
        "--",
        process.execPath,
        "-e",
        startScript,
      ]);
      expect(required.stderr).toBe("envkeep: missing required keys: Z\n");
      const { existsSync } = await import("node:fs");
      expect(existsSync(marker)).toBe(false);

      const noCommand = await cli(["run", "-s", "s"]);
      expect(noCommand.code).toBe(2);
      const badCommand = await cli(["run", "--", "envkeep-no-such-command-xyz"]);
      expect(badCommand).toMatchObject({
        code: 1,
        stderr: 'envkeep: cannot start "envkeep-no-such-command-xyz": command not found\n',
      });
    });

    it("secret history → run NAME@N → secret rollback --to N: old versions kept, values never printed", async () => {
      const { cli, store } = await setup();
      await cli(["secret", "create", "db", "PGPASSWORD=canary-pw-one", "PGHOST=h1"]);
      await cli(["secret", "update", "db", "PGPASSWORD=canary-pw-two", "--unset", "PGHOST"]);
      await cli(["secret", "update", "db", "PGPORT=5432"]);

      const table = await cli(["secret", "history", "db"]);
      expect(table.code).toBe(0);
      const [header, ...rows] = table.stdout.trimEnd().split("\n");
      expect(header).toMatch(/^VERSION\s+UPDATED\s+BY\s+KEYS\s+CHANGES$/);
      expect(rows).toHaveLength(3);
      expect(rows[0]).toMatch(/^3 \(current\)\s+\d{4}-.*\s2\s+\+PGPORT$/);
      expect(rows[1]).toMatch(/^2\s+.*~PGPASSWORD -PGHOST$/);
      expect(rows[2]).toMatch(/^1\s+.*\+PGHOST \+PGPASSWORD$/);
      const json = JSON.parse((await cli(["secret", "history", "db", "--json"])).stdout);
      expect(json.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
      expect(json[1]).toMatchObject({
        keys: ["PGPASSWORD"],
        change: { added: [], changed: ["PGPASSWORD"], removed: ["PGHOST"] },
      });
      expect(table.stdout + JSON.stringify(json)).not.toContain("canary-pw");

      const pinned = await cli([
        "run",
        "--secret",
        "db@1",
        "--",
        process.execPath,
        "-e",
        printEnv("PGPASSWORD", "PGHOST", "PGPORT"),
      ]);
      expect(pinned).toEqual({ code: 0, stdout: '["canary-pw-one","h1",null]', stderr: "" });
      const missing = await cli(["run", "-s", "db@9", "--", process.execPath, "-e", ""]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/version 9 of secret "db" .*is not kept/);
      const bad = await cli(["run", "-s", "db@x", "--", process.execPath, "-e", ""]);
      expect(bad.code).toBe(2);

      const stale = await cli(["secret", "rollback", "db", "--to", "1", "--if-version", "2"]);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toMatch(/version 3, not 2/);
      const rolled = await cli(["secret", "rollback", "db", "--to", "1", "--if-version", "3"]);
      expect(rolled).toEqual({
        code: 0,
        stdout:
          'Rolled back secret "db" in environment "main" to the contents of version 1: now version 4; keys: PGHOST, PGPASSWORD\n',
        stderr: "",
      });
      const now = await cli([
        "run",
        "-s",
        "db",
        "--",
        process.execPath,
        "-e",
        printEnv("PGPASSWORD"),
      ]);
      expect(now.stdout).toBe('["canary-pw-one"]');
      const noTo = await cli(["secret", "rollback", "db"]);
      expect(noTo.code).toBe(2);
      expect((await cli(["secret", "rollback", "db", "--to", "0"])).code).toBe(2);
      const raw = await store.raw();
      expect(raw).not.toContain("canary-pw");
    }, 90_000); // ~15 CLI processes

    it("--max-versions and ENVKEEP_MAX_VERSIONS bound the history writes keep; 0 keeps none", async () => {
      const { cli } = await setup();
      const history = async (name: string) => {
        const result = await cli(["secret", "history", name, "--json"]);
        expect(result).toMatchObject({ code: 0, stderr: "" });
        return JSON.parse(result.stdout) as Array<{ version: number; change?: unknown }>;
      };
      const bounded = ["--max-versions", "2"];
      expect((await cli(["secret", "create", "db", "A=v1", ...bounded])).code).toBe(0);
      for (let i = 2; i <= 6; i++) {
        expect((await cli(["secret", "update", "db", `A=v${i}`, ...bounded])).code).toBe(0);
      }
      // versions() lists the current version and the old ones kept: 6, then 5 and 4.
      const kept = await history("db");
      expect(kept.map((v) => v.version)).toEqual([6, 5, 4]);
      // Version 3 is gone, so what 4 changed is unknown.
      expect(kept[2]?.change).toBeUndefined();
      const table = await cli(["secret", "history", "db"]);
      expect(table.stdout.trimEnd().split("\n")).toHaveLength(4); // header + 3
      expect(table.stdout.trimEnd().split("\n")[3]).toMatch(/^4\s.*\?$/);

      // The variable, when no option is given; the option wins over it.
      const one = { env: { ENVKEEP_MAX_VERSIONS: "1" } };
      expect((await cli(["secret", "create", "api", "K=1"], one)).code).toBe(0);
      expect((await cli(["secret", "update", "api", "K=2"], one)).code).toBe(0);
      expect((await cli(["secret", "update", "api", "K=3"], one)).code).toBe(0);
      expect((await history("api")).map((v) => v.version)).toEqual([3, 2]);
      expect((await cli(["secret", "update", "api", "K=4", "--max-versions", "3"], one)).code).toBe(
        0,
      );
      expect((await history("api")).map((v) => v.version)).toEqual([4, 3, 2]);

      // 0 keeps none: the write drops every old version.
      expect((await cli(["secret", "update", "db", "A=v7", "--max-versions", "0"])).code).toBe(0);
      expect((await history("db")).map((v) => v.version)).toEqual([7]);
      const rollback = await cli(["secret", "rollback", "db", "--to", "6"]);
      expect(rollback.code).toBe(1);
      expect(rollback.stderr).toMatch(/version 6 of secret "db" .*is not kept/);
    }, 90_000); // ~17 CLI processes

    it("key rotate re-wraps every secret under the new key; then the old key can go", async () => {
      const { cli, key: oldKey } = await setup();
      await cli(["secret", "create", "a", "A=1"]);
      await cli(["secret", "create", "b", "B=2", "-e", "dev"]);
      const newKey = (await envkeep(["key", "generate"])).stdout.trim();
      expect(newKey).toMatch(/^ek1_/);
      const rotated = await cli(["key", "rotate", "--progress"], {
        env: { ENVKEEP_MASTER_KEY: undefined, ENVKEEP_MASTER_KEYS: `${newKey},${oldKey}` },
      });
      expect(rotated.code).toBe(0);
      expect(rotated.stdout).toMatch(
        /^Rotated 2 secrets to master key k\S+: 2 re-wrapped, 0 already current, 0 failed\n$/,
      );
      expect(rotated.stderr).toBe(""); // not a terminal: no progress bar
      const withNew = { env: { ENVKEEP_MASTER_KEY: newKey } };
      const run = await cli(
        ["run", "-s", "a", "--", process.execPath, "-e", printEnv("A")],
        withNew,
      );
      expect(run.stdout).toBe('["1"]');
      const withOld = await cli(["run", "-s", "a", "--", process.execPath, "-e", printEnv("A")]);
      expect(withOld.code).toBe(1);
      expect(withOld.stderr).toMatch(/^envkeep: master key k\S+ does not open secret "a" in/);
      const again = await cli(["key", "rotate"], withNew);
      expect(again.stdout).toMatch(/0 re-wrapped, 2 already current, 0 failed/);
      expect(again.stderr).toMatch(
        /^envkeep: nothing to rotate: only one master key is set \(k\S+\) and every secret is already under it; to rotate, set ENVKEEP_MASTER_KEYS=<new>,<old>\n$/,
      );
    });

    it("key id prints each key's id (never a key); key status counts what each key seals", async () => {
      const { cli, key: oldKey } = await setup();
      await cli(["secret", "create", "a", "A=1"]);
      await cli(["secret", "create", "b", "B=2", "-e", "dev"]);
      const newKey = (await envkeep(["key", "generate"])).stdout.trim();
      const both = {
        env: { ENVKEEP_MASTER_KEY: undefined, ENVKEEP_MASTER_KEYS: `${newKey},${oldKey}` },
      };
      const ids = await cli(["key", "id"], both);
      expect(ids.code).toBe(0);
      const [newId, oldId] = ids.stdout.trim().split("\n");
      expect(newId).toMatch(/^k\S+ \(seals new writes\)$/);
      expect(oldId).toMatch(/^k\S+$/);
      for (const key of [newKey, oldKey]) expect(ids.stdout).not.toContain(key.slice(4, 20));
      const newIdOnly = newId?.split(" ")[0] ?? "";
      const before = await cli(["key", "status"], both);
      expect(before.code).toBe(0);
      expect(before.stdout).toMatch(new RegExp(`^${newIdOnly} +0 +yes, seals new writes$`, "m"));
      expect(before.stdout).toMatch(new RegExp(`^${oldId} +2 +yes$`, "m"));
      expect(before.stderr).toMatch(/2 records are not under the key that seals new writes/);
      await cli(["key", "rotate"], both);
      const after = await cli(["key", "status"], both);
      expect(after.stdout).toMatch(new RegExp(`^${newIdOnly} +2 +yes, seals new writes$`, "m"));
      expect(after.stderr).toBe("");
      // With the old key alone, the new key's records show under a key not set here.
      const oldOnly = await cli(["key", "status"]);
      expect(oldOnly.stdout).toMatch(new RegExp(`^${newIdOnly} +2 +no$`, "m"));
    });

    it("never prints a value: a canary shows up only in the output of the child that prints it", async () => {
      const { cli, cwd, store } = await setup();
      const canary = `canary-${Math.random().toString(36).slice(2)}-value`;
      writeFileSync(path.join(cwd, "c.env"), `FROM_FILE=${canary}-file\n`);
      writeFileSync(path.join(cwd, "c.json"), JSON.stringify({ FROM_JSON: `${canary}-json` }));
      const outputs = [
        await cli(
          [
            "secret",
            "create",
            "c",
            `ARG=${canary}`,
            "STDIN=-",
            "--from-dotenv",
            "c.env",
            "--from-json",
            "c.json",
          ],
          { input: canary },
        ),
        await cli(["secret", "list"]),
        await cli(["secret", "list", "--json"]),
        await cli(["secret", "info", "c"]),
        await cli(["secret", "info", "c", "--json"]),
        await cli(["secret", "create", "c", `ARG=${canary}`]),
        await cli(["secret", "create", "bad name", `ARG=${canary}`]),
        await cli(["secret", "create", "c2", `bad-key=${canary}`]),
        await cli(["secret", "create", "c3", `${canary}`]),
        await cli(["secret", "create", "c4", "--template", "aws", `ARG=${canary}`]),
        await cli(["secret", "update", "c", `ARG=${canary}-2`]),
        await cli(["secret", "update", "c", `bad key=${canary}`]),
        await cli(["secret", "update", "c", "--unset", "X", `ARG=${canary}`]),
        await cli(["run", "--require", `ARG=${canary}`, "--", "true"]),
        await cli(["secret", "create", "c5", `A=1`, `${canary}`]),
        await cli(["secret", "create", "c6", "A=1", `--token=${canary}`]),
        await cli(["run", "--explain", "-s", "c", "--", process.execPath, "-e", "process.exit(3)"]),
        await cli([
          "run",
          "-s",
          "c",
          "--require",
          "NOPE",
          "--",
          process.execPath,
          "-e",
          "console.log(process.env.ARG)",
        ]),
        await cli(["run", "-s", "c"], {}),
        await cli(["secret", "list"], { env: { ENVKEEP_MASTER_KEY: generateMasterKey() } }),
        await cli(["run", "-s", "c", "--", process.execPath, "-e", ""], {
          env: { ENVKEEP_MASTER_KEY: generateMasterKey() },
        }),
        await cli(["secret", "update", "c", "X=1"], {
          env: { ENVKEEP_MASTER_KEY: generateMasterKey() },
        }),
        await cli(["key", "rotate"], {
          env: {
            ENVKEEP_MASTER_KEY: undefined,
            ENVKEEP_MASTER_KEYS: `${generateMasterKey()},${generateMasterKey()}`,
          },
        }),
        await cli(["secret", "delete", "c"]),
      ];
      for (const { stdout, stderr } of outputs) {
        expect(stdout).not.toContain(canary);
        expect(stderr).not.toContain(canary);
      }
      const raw = await store.raw();
      expect(raw).toContain("FROM_JSON"); // key names are readable metadata: the dump is real
      expect(raw).not.toContain(canary);
      // …while the child of `envkeep run` does get every value.
      const child = await cli([
        "run",
        "-s",
        "c",
        "--",
        process.execPath,
        "-e",
        printEnv("ARG", "STDIN", "FROM_FILE", "FROM_JSON"),
      ]);
      expect(JSON.parse(child.stdout)).toEqual([
        `${canary}-2`,
        canary,
        `${canary}-file`,
        `${canary}-json`,
      ]);
    }, 120_000); // some 30 CLI runs in a row: a loaded machine needs more than the default
  });
}

import { existsSync } from "node:fs";
import path from "node:path";
import {
  assertWorkspaceName,
  DEFAULT_WORKSPACE,
  Keyring,
  openStore,
  parseStoreUrl,
  redactStoreUrl,
  resolveEnvironment,
  resolveStoreUrl,
} from "@envkeep/core";
import type { Command } from "commander";
import type { GlobalOptions } from "../context.js";
import { formatFields } from "../io.js";
import { toJson } from "../printable.js";
import { importStorePackage } from "../store-packages.js";

type Globals = (command: Command) => GlobalOptions;

/** What `envkeep status` reports. Never a secret, a key or a password. */
interface Status {
  store: string;
  reachable: boolean | "not created yet";
  problem?: string;
  workspace: string;
  environment: string;
  keyIds: string[];
  keyProblem?: string;
}

/** Whether the store answers; a SQLite file that does not exist yet is not created to find out. */
async function probe(
  url: string,
  workspace: string,
): Promise<Pick<Status, "reachable" | "problem">> {
  const location = parseStoreUrl(url);
  if (location.kind === "sqlite" && location.path !== ":memory:" && !existsSync(location.path)) {
    return {
      reachable: "not created yet",
      problem: `it will be created at ${path.resolve(location.path)} by the first write`,
    };
  }
  const store = await openStore(url, { importModule: importStorePackage });
  try {
    await store.environments(workspace);
    return { reachable: true };
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    return { reachable: false, problem: `${(error as Error).message}${cause ? `: ${cause}` : ""}` };
  } finally {
    await store.close().catch(() => {});
  }
}

/** `envkeep status`: where the CLI is pointed, and whether it can work there. */
export function registerStatusCommand(program: Command, globals: Globals): void {
  program
    .command("status")
    .alias("whoami")
    .description("show the store, workspace, environment and master key id in use (never a secret)")
    .option("--json", "print JSON")
    .action(async (options, command: Command) => {
      const opts = globals(command);
      const url = resolveStoreUrl(opts.store);
      const workspace = opts.workspace ?? (process.env.ENVKEEP_WORKSPACE || DEFAULT_WORKSPACE);
      assertWorkspaceName(workspace);
      const status: Status = {
        store: redactStoreUrl(url),
        workspace,
        environment: resolveEnvironment(opts.env, undefined),
        keyIds: [],
        ...(await probe(url, workspace)),
      };
      if (!process.env.ENVKEEP_MASTER_KEY?.trim() && !process.env.ENVKEEP_MASTER_KEYS?.trim()) {
        status.keyProblem = "not set: ENVKEEP_MASTER_KEY (create one with `envkeep key generate`)";
      } else {
        try {
          status.keyIds = Keyring.fromOptions({}).ids;
        } catch (error) {
          status.keyProblem = (error as Error).message;
        }
      }
      if (options.json) {
        process.stdout.write(`${toJson(status)}\n`);
      } else {
        const reachable =
          status.reachable === true
            ? "reachable"
            : status.reachable === false
              ? `unreachable (${status.problem})`
              : `not created yet (${status.problem})`;
        const keys =
          status.keyIds.length === 0
            ? `none (${status.keyProblem})`
            : `${status.keyIds[0]} (seals new writes)${status.keyIds.length > 1 ? `, also opens with ${status.keyIds.slice(1).join(", ")}` : ""}`;
        const fields = formatFields([
          ["Store", `${status.store}: ${reachable}`],
          ["Workspace", status.workspace],
          ["Environment", `${status.environment} (commands without -e use it)`],
          ["Master key", keys],
        ]);
        process.stdout.write(`${fields}\n`);
      }
    });
}

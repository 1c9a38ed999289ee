import { generateMasterKey, Keyring } from "@envkeep/core";
import type { Command } from "commander";
import { type GlobalOptions, withManager } from "../context.js";
import { formatTable, progressBar, writeLine } from "../io.js";

type Globals = (command: Command) => GlobalOptions;

/** `envkeep key generate`, `envkeep key rotate [--progress]`. */
export function registerKeyCommands(program: Command, globals: Globals): void {
  const key = program
    .command("key")
    .description(
      "master keys: generate one, see their ids and what they seal, rotate to a new one",
    );

  key
    .command("generate")
    .description("print a new random master key (ek1_…) on stdout")
    .addHelpText(
      "after",
      `
Example:
  $ export ENVKEEP_MASTER_KEY="$(envkeep key generate)"`,
    )
    .action(() => {
      process.stdout.write(`${generateMasterKey()}\n`);
      if (process.stdout.isTTY) {
        process.stderr.write(
          "Keep it in your password manager or KMS, never in git. Use it with: export ENVKEEP_MASTER_KEY=…\n",
        );
      }
    });

  key
    .command("id")
    .description("print the id of each master key set in ENVKEEP_MASTER_KEY(S), never a key")
    .addHelpText(
      "after",
      `
An id is a hash of the key: it names the key in rotation reports and in "key status" without
revealing it. The first line is the key that seals new writes.`,
    )
    .action(() => {
      const keyring = Keyring.fromOptions({});
      for (const id of keyring.ids) {
        writeLine(id === keyring.primary.id ? `${id} (seals new writes)` : id);
      }
    });

  key
    .command("status")
    .description("how many secrets (and tokens) each master key seals, and which keys are set here")
    .action(async (_options, command: Command) => {
      const opts = globals(command);
      await withManager(opts, async (secrets) => {
        const status = await secrets.keyStatus();
        const rows = status.keys.map((entry) => [
          entry.keyId,
          String(entry.records),
          entry.primary ? "yes, seals new writes" : entry.held ? "yes" : "no",
        ]);
        for (const line of formatTable(["KEY ID", "RECORDS", "SET HERE"], rows).split("\n")) {
          writeLine(line);
        }
        if (status.unreadable > 0) {
          writeLine(`${status.unreadable} records name no key (damaged)`);
        }
        const stale = status.keys.filter((entry) => !entry.primary && entry.records > 0);
        const staleOld = status.keys
          .filter((entry) => !entry.primary)
          .reduce((n, entry) => n + entry.oldVersions, 0);
        if (staleOld > 0) {
          writeLine(
            `envkeep: ${staleOld} old versions (secret history) are not under the key that seals new writes: run "envkeep key rotate" with ENVKEEP_MASTER_KEYS=<new>,<old> before dropping a key`,
            process.stderr,
          );
        }
        if (stale.length > 0) {
          writeLine(
            `envkeep: ${stale.reduce((n, entry) => n + entry.records, 0)} records are not under the key that seals new writes: run "envkeep key rotate" with ENVKEEP_MASTER_KEYS=<new>,<old>`,
            process.stderr,
          );
        }
      });
    });

  key
    .command("rotate")
    .description("re-wrap every secret under the first key of ENVKEEP_MASTER_KEYS")
    .option("--progress", "show a progress bar (on a terminal)")
    .addHelpText(
      "after",
      `
Rotation, without downtime:
  1. ENVKEEP_MASTER_KEYS=<new>,<old> everywhere (the first key seals, all keys open)
  2. envkeep key rotate --progress       (safe beside live readers and writers; resumable)
  3. when it reports no failures: ENVKEEP_MASTER_KEY=<new>
Rotates every environment of the workspace, or only the one given with -e.`,
    )
    .action(async (options, command: Command) => {
      const opts = globals(command);
      await withManager(opts, async (secrets) => {
        const bar = options.progress && process.stderr.isTTY ? progressBar() : undefined;
        let report: Awaited<ReturnType<typeof secrets.rotate>>;
        try {
          report = await secrets.rotate({
            ...(opts.env === undefined ? {} : { environment: opts.env }),
            ...(bar
              ? {
                  onProgress: ({ done, total, environment, name }) =>
                    bar.update(done, total, `${environment}/${name}`),
                }
              : {}),
          });
        } finally {
          bar?.end();
        }
        writeLine(
          `Rotated ${report.total} secrets to master key ${report.keyId}: ${report.rewrapped} re-wrapped, ${report.alreadyCurrent} already current, ${report.failed.length} failed`,
        );
        const old = report.oldVersions;
        if (old.rewrapped + old.alreadyCurrent + old.failed.length > 0) {
          writeLine(
            `Old versions: ${old.rewrapped} re-wrapped, ${old.alreadyCurrent} already current, ${old.failed.length} failed`,
          );
        }
        if (
          report.rewrapped === 0 &&
          report.failed.length === 0 &&
          old.rewrapped === 0 &&
          old.failed.length === 0
        ) {
          // Nothing changed: say why, so a "success" that did nothing is not mistaken for one.
          writeLine(
            secrets.keyIds.length === 1
              ? `envkeep: nothing to rotate: only one master key is set (${report.keyId}) and every secret is already under it; to rotate, set ENVKEEP_MASTER_KEYS=<new>,<old>`
              : `envkeep: nothing to re-wrap: every secret is already under ${report.keyId}; the other keys (${secrets.keyIds.slice(1).join(", ")}) seal nothing here and can be dropped`,
            process.stderr,
          );
        }
        for (const failure of report.failed) {
          writeLine(
            `envkeep: could not rotate secret "${failure.name}" in environment "${failure.environment}": ${failure.message}`,
            process.stderr,
          );
        }
        for (const failure of old.failed) {
          writeLine(
            `envkeep: could not rotate version ${failure.version} of secret "${failure.name}" in environment "${failure.environment}": ${failure.message}`,
            process.stderr,
          );
        }
        if (report.failed.length > 0 || old.failed.length > 0) process.exitCode = 1;
      });
    });
}

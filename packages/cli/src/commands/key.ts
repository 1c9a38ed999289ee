import { generateMasterKey } from "@envkeep/core";
import type { Command } from "commander";
import { type GlobalOptions, withManager } from "../context.js";
import { progressBar, writeLine } from "../io.js";

type Globals = (command: Command) => GlobalOptions;

/** `envkeep key generate`, `envkeep key rotate [--progress]`. */
export function registerKeyCommands(program: Command, globals: Globals): void {
  const key = program.command("key").description("master keys: generate one, rotate to a new one");

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
        for (const failure of report.failed) {
          writeLine(
            `envkeep: could not rotate secret "${failure.name}" in environment "${failure.environment}": ${failure.message}`,
            process.stderr,
          );
        }
        if (report.failed.length > 0) process.exitCode = 1;
      });
    });
}

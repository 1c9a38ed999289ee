/**
 * Builds the packages the `envkeep` binary runs on, once for all test files: a lock directory
 * serialises concurrent workers, and a stamp of the sources skips the build when nothing changed.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export const root = path.resolve(import.meta.dirname, "../../../..");
/** The `envkeep` command as installed: the committed bin/envkeep.cjs, which loads dist/bin.cjs. */
export const bin = path.join(root, "packages/cli/bin/envkeep.cjs");
const builtBin = path.join(root, "packages/cli/dist/bin.cjs");

/** The packages to build, in dependency order: those of one stage build side by side. */
const stages = [
  ["core"],
  ["store-memory", "store-test-suite", "store-sqlite", "store-redis", "dashboard"],
  ["http"],
  ["cli"],
];
const packages = stages.flat();
const stampFile = path.join(root, "packages/cli/dist/.e2e-build-stamp");
const lockDir = path.join(
  tmpdir(),
  `envkeep-e2e-build-${createHash("sha256").update(root).digest("hex").slice(0, 12)}.lock`,
);

function sourceStamp(): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const { size, mtimeMs } = statSync(full);
        hash.update(`${full}\0${size}\0${mtimeMs}\n`);
      }
    }
  };
  for (const pkg of packages) {
    walk(path.join(root, "packages", pkg, "src"));
    const manifest = path.join(root, "packages", pkg, "package.json");
    hash.update(`${manifest}\0${readFileSync(manifest, "utf8")}\n`);
  }
  for (const script of ["scripts/bundle.mjs", "packages/core/scripts/generate-validators.mjs"]) {
    hash.update(`${script}\0${readFileSync(path.join(root, script), "utf8")}\n`);
  }
  return hash.digest("hex");
}

function built(stamp: string): boolean {
  return existsSync(builtBin) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp;
}

/** Makes sure `packages/*\/dist` match the sources (building them if not). */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const stamp = sourceStamp();
    if (built(stamp)) return;
    try {
      mkdirSync(lockDir);
    } catch {
      // Another worker builds; a lock older than 10 minutes is stale.
      const lock = statSync(lockDir, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > 600_000) {
        rmSync(lockDir, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error("timed out waiting for the e2e build lock");
      await sleep(250);
      continue;
    }
    try {
      if (!built(stamp)) {
        try {
          // Each package's own build script (tsc, and the bundler for core and the CLI), run
          // directly in dependency order as pnpm would, so the tests need no pnpm on the PATH;
          // two at a time within a stage.
          const bins = path.join(root, "node_modules/.bin");
          const buildPackage = (pkg: string) => {
            const dir = path.join(root, "packages", pkg);
            const { scripts } = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
            return execFileAsync("sh", ["-c", scripts.build], {
              cwd: dir,
              env: { ...process.env, PATH: `${bins}${path.delimiter}${process.env.PATH ?? ""}` },
              encoding: "utf8",
              maxBuffer: 16 * 1024 * 1024,
            });
          };
          for (const stage of stages) {
            const queue = [...stage];
            const worker = async () => {
              for (let pkg = queue.shift(); pkg !== undefined; pkg = queue.shift()) {
                await buildPackage(pkg);
              }
            };
            await Promise.all([worker(), worker()]);
          }
        } catch (error) {
          const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
          throw new Error(`building the packages failed:\n${`${stdout}\n${stderr}`.slice(-4000)}`);
        }
        writeFileSync(stampFile, stamp);
      }
      return;
    } finally {
      rmSync(lockDir, { recursive: true, force: true });
    }
  }
}

/**
 * Builds the packages the `envkeep` binary runs on, once for all test files: a lock directory
 * serialises concurrent workers, and a stamp of the sources skips the build when nothing changed.
 */
import { execFileSync } from "node:child_process";
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

export const root = path.resolve(import.meta.dirname, "../../../..");
export const bin = path.join(root, "packages/cli/dist/bin.js");

const packages = [
  "core",
  "store-memory",
  "store-sqlite",
  "store-redis",
  "dashboard",
  "http",
  "cli",
];
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
  for (const pkg of packages) walk(path.join(root, "packages", pkg, "src"));
  return hash.digest("hex");
}

function built(stamp: string): boolean {
  return existsSync(bin) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp;
}

/** Makes sure `packages/*\/dist` match the sources (building them if not). */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const stamp = sourceStamp();
    if (built(stamp)) return;
    try {
      mkdirSync(lockDir);
    } catch {
      // Another worker builds; a lock older than 3 minutes is stale.
      const lock = statSync(lockDir, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > 180_000) {
        rmSync(lockDir, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error("timed out waiting for the e2e build lock");
      await sleep(250);
      continue;
    }
    try {
      if (!built(stamp)) {
        try {
          // Each package's build script is `tsc -p tsconfig.build.json`: run it directly, in
          // dependency order, so the tests need no pnpm on the PATH.
          const tsc = path.join(root, "node_modules/typescript/bin/tsc");
          for (const pkg of packages) {
            execFileSync(process.execPath, [tsc, "-p", `packages/${pkg}/tsconfig.build.json`], {
              cwd: root,
              stdio: "pipe",
              encoding: "utf8",
            });
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

// Runs `pnpm build` only when something it reads changed since the last successful build: the
// sources, assets, package.json and tsconfig files of every package, and the lockfile. `pnpm demo`
// and `pnpm bench` start with it, so a second run skips the ~12 s build. `--force` always builds.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const stampFile = path.join(root, "node_modules", ".cache", "envkeep", "build-stamp");
/** What a package's build reads, besides package.json and tsconfig*.json at its top. */
const INPUT_DIRS = ["src", "assets", "scripts"];

/** A hash of the path, size and modification time of every build input. */
function inputStamp() {
  const hash = createHash("sha256");
  const add = (file) => {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${path.relative(root, file)}\0${size}\0${mtimeMs}\n`);
  };
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else add(full);
    }
  };
  add(path.join(root, "pnpm-lock.yaml"));
  add(path.join(root, "tsconfig.base.json"));
  for (const pkg of readdirSync(path.join(root, "packages")).sort()) {
    const dir = path.join(root, "packages", pkg);
    for (const file of readdirSync(dir).sort()) {
      if (file === "package.json" || /^tsconfig.*\.json$/.test(file)) add(path.join(dir, file));
    }
    for (const sub of INPUT_DIRS) walk(path.join(dir, sub));
  }
  return hash.digest("hex");
}

/** Every package's entry point (its `main`, else dist/index.js) exists. */
function outputsExist() {
  return readdirSync(path.join(root, "packages")).every((pkg) => {
    const manifest = JSON.parse(
      readFileSync(path.join(root, "packages", pkg, "package.json"), "utf8"),
    );
    return existsSync(path.join(root, "packages", pkg, manifest.main ?? "dist/index.js"));
  });
}

const stamp = inputStamp();
const previous = existsSync(stampFile) ? readFileSync(stampFile, "utf8") : "";
if (!process.argv.includes("--force") && previous === stamp && outputsExist()) {
  console.log("build: up to date (nothing changed since the last build)");
} else {
  // The pnpm running this script (pnpm sets npm_execpath), else the one on the PATH.
  const pnpm = process.env.npm_execpath ?? "";
  const { status } = /\.[cm]?js$/.test(pnpm)
    ? spawnSync(process.execPath, [pnpm, "build"], { stdio: "inherit", cwd: root })
    : spawnSync(pnpm || "pnpm", ["build"], { stdio: "inherit", cwd: root, shell: !pnpm });
  if (status !== 0) process.exit(status ?? 1);
  mkdirSync(path.dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, stamp);
}

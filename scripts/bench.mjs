// Runs every store's benchmark (packages/*/bench/*.mjs) one after another, in one process tree,
// so the ratios each prints come from the same machine state.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const only = process.argv.slice(2);
for (const pkg of readdirSync(path.join(root, "packages")).sort()) {
  const dir = path.join(root, "packages", pkg, "bench");
  if (!existsSync(dir) || (only.length > 0 && !only.includes(pkg))) continue;
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".mjs"))
    .sort()) {
    console.log(`\n=== ${pkg}/bench/${file} ===`);
    const { status } = spawnSync(process.execPath, [path.join(dir, file)], {
      stdio: "inherit",
      cwd: root,
    });
    if (status !== 0) process.exitCode = 1;
  }
}

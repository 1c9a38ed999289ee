// Bundles a package's entry points (src/… → dist/…) with esbuild, so that a process loads a few
// files instead of one per source module. Run from the package directory, after
// `tsc -p tsconfig.build.json` (which emits the declarations):
//
//   node ../../scripts/bundle.mjs src/bin.ts src/index.ts [--inline commander] [--require dotenv]
//     [--lazy node:child_process] [--notice ajv]
//
// Every dependency and peer dependency stays an import of its own package (so that one copy of
// @envkeep/core is shared by everything a process loads, and native modules stay where they are
// installed), except those named after --inline, which are copied into the bundle with whatever
// they import that is not a dependency of this package (the CLI copies in its store packages with
// their keyv adapters and Redis client: @redis/client alone is 420 files, about 90 ms of a
// Redis-backed command's start). The licence texts of copied-in packages go to
// dist/THIRD-PARTY-LICENSES.txt, with those of the packages named after --notice (code copied into
// the sources by a generator, as core's validators hold ajv's).
// CommonJS dependencies named after --require, and Node's own modules, are loaded with require()
// rather than `import`: the same module.exports, without Node parsing a package's source a second
// time to find the names an ES module could import (cjs-module-lexer), and without the ES module
// facade of a built-in module, which reads every export and so loads what Node keeps lazy
// (`import … from "node:crypto"` loads WebCrypto, X.509, key generation…). A few ms per start.
// Modules reached only through `import()` become chunks loaded when first needed. A module named
// after --lazy, where inlined CommonJS code `require()`s it, is loaded when a property of it is
// first read (commander requires child_process at load, for subcommands envkeep does not have).
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import path from "node:path";
import * as esbuild from "esbuild";

/** The entry points, and the package names after each `--flag`. */
function parseArgs(argv) {
  const lists = { entries: [], "--inline": [], "--require": [], "--lazy": [], "--notice": [] };
  let current = lists.entries;
  for (const arg of argv) {
    if (arg.startsWith("--")) {
      current = lists[arg];
      if (!current) throw new Error(`unknown option ${arg}`);
    } else current.push(arg);
  }
  return lists;
}
const {
  entries: entryPoints,
  "--inline": inlined,
  "--require": required,
  "--lazy": lazyNames,
  "--notice": noticeNames,
} = parseArgs(process.argv.slice(2));
const lazy = new Set(lazyNames);
const inline = new Set(inlined);
const requireNames = new Set(required);

const builtins = new Set(builtinModules);
const isBuiltin = (specifier) => specifier.startsWith("node:") || builtins.has(specifier);

/**
 * `import x from "pkg"` of a --require package or a built-in module becomes `require("pkg")` (the
 * banner's require).
 */
const requireCommonJs = {
  name: "require-commonjs",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      const name = args.path.startsWith("@")
        ? args.path.split("/").slice(0, 2).join("/")
        : args.path.split("/")[0];
      if (!requireNames.has(name) && !isBuiltin(args.path)) return undefined;
      if (
        args.kind === "require-call" &&
        lazy.has(args.path) &&
        args.namespace !== "lazy-require"
      ) {
        return { path: args.path, namespace: "lazy-require" };
      }
      if (args.kind === "require-call" || args.kind === "dynamic-import") {
        return { path: args.path, external: true };
      }
      return { path: args.path, namespace: "require-commonjs" };
    });
    build.onLoad({ filter: /.*/, namespace: "require-commonjs" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
    // The module's properties, each read from the module loaded on first use.
    build.onLoad({ filter: /.*/, namespace: "lazy-require" }, (args) => ({
      contents: `let loaded;
const load = () => (loaded ??= require(${JSON.stringify(args.path)}));
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
    return descriptor && { ...descriptor, configurable: true };
  },
});`,
      loader: "js",
    }));
  },
};
const manifest = JSON.parse(readFileSync("package.json", "utf8"));
const external = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })
  .filter((name) => !inline.has(name))
  .flatMap((name) => [name, `${name}/*`]);

// tsc emitted one .js per module beside the declarations; the bundle replaces all of them.
for (const entry of readdirSync("dist", { recursive: true, withFileTypes: true })) {
  if (entry.isFile() && /\.js(\.map)?$/.test(entry.name)) {
    rmSync(path.join(entry.parentPath ?? entry.path, entry.name));
  }
}

const result = await esbuild.build({
  entryPoints,
  outdir: "dist",
  outbase: "src",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20.19",
  external,
  // Beside the entries: a chunk's `import.meta.url` then finds ../package.json as they do.
  chunkNames: "[name]-[hash]",
  // CommonJS copied in (--inline) calls require() for Node's modules: give ESM one.
  banner: {
    js: 'import { createRequire as __bundleCreateRequire } from "node:module";\nconst require = __bundleCreateRequire(import.meta.url);',
  },
  // Read by people and by stack traces: not minified.
  minify: false,
  legalComments: "inline",
  plugins: [requireCommonJs],
  metafile: true,
  logLevel: "warning",
});
/**
 * Name, version, licence and licence text of each installed package the bundle copied code from
 * (workspace packages are this project's own), for dist/THIRD-PARTY-LICENSES.txt.
 */
function thirdPartyNotices(inputs) {
  const roots = new Set();
  for (const input of inputs) {
    const match = /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) roots.add(match[1]);
  }
  return [...roots]
    .map((root) => {
      const { name, version, license, repository } = JSON.parse(
        readFileSync(`${root}/package.json`, "utf8"),
      );
      const file = readdirSync(root).find((entry) => /^licen[cs]e/i.test(entry));
      // @redis/client ships no licence file: its package.json names the licence and the source.
      const text = file
        ? readFileSync(path.join(root, file), "utf8").trim()
        : `No licence text in the package; its package.json says ${license}. Source: ${repository?.url ?? repository ?? "(not given)"}`;
      return { name, text: `${name}@${version} (${license})\n\n${text}\n` };
    })
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((notice) => notice.text);
}
const packageRequire = createRequire(path.resolve("package.json"));
const notices = thirdPartyNotices([
  ...Object.keys(result.metafile.inputs),
  ...noticeNames.map((name) => packageRequire.resolve(`${name}/package.json`)),
]);
const noticesFile = path.join("dist", "THIRD-PARTY-LICENSES.txt");
if (notices.length > 0) {
  writeFileSync(
    noticesFile,
    `${manifest.name} bundles code of these packages, under these licences.\n\n${notices.join(`\n${"-".repeat(72)}\n\n`)}`,
  );
} else if (existsSync(noticesFile)) rmSync(noticesFile);
const outputs = Object.entries(result.metafile.outputs).map(
  ([file, { bytes }]) => `${path.relative("dist", file)} ${(bytes / 1024).toFixed(1)} KiB`,
);
console.error(`bundled ${manifest.name}: ${outputs.join(", ")}`);

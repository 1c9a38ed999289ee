// Bundles a package's entry points (src/… → dist/…) with esbuild, so that a process loads a few
// files instead of one per source module. Run from the package directory, after
// `tsc -p tsconfig.build.json` (which emits the declarations):
//
//   node ../../scripts/bundle.mjs src/bin.ts src/index.ts [--inline commander] [--require dotenv]
//     [--lazy node:child_process] [--notice ajv] [--format cjs] [--lazy-entry @envkeep/store-sqlite]
//
// ES modules by default, each entry a dist/<name>.js, code shared between entries and modules
// reached through `import()` in chunks. With --format cjs (the CLI), every entry is a CommonJS
// dist/<name>.cjs instead, with no chunks, and an ES module dist/index.js re-exports index.cjs:
// a process then loads its files by require, synchronously, not by the ES module loader's
// asynchronous resolve, load and link of each (about 8 ms of each CLI command's start here), and
// @envkeep/core, an ES module, comes in by require(esm) (Node ≥ 20.19): the same instance an
// `import` gets. An entry importing another entry requires that entry's file. A
// package named after --lazy-entry, where code `import()`s it, is bundled into a file of its own
// (dist/<last part of its name>.cjs), required when that import runs.
//
// Every dependency and peer dependency stays an import (or require) of its own package (so that
// one copy of @envkeep/core is shared by everything a process loads, and native modules stay where
// they are installed), except those named after --inline; those, and whatever else the code
// reaches (devDependencies and what they import), are copied into the bundle. The CLI copies in
// commander and its store packages (devDependencies), with their keyv adapters and the Redis
// client: @redis/client alone is 420 files, about 90 ms of a Redis-backed command's start when
// loaded one by one from node_modules. The licence texts of copied-in packages go to
// dist/THIRD-PARTY-LICENSES.txt, with those of the packages named after --notice (code copied into
// the sources by a generator, as core's validators hold ajv's).
// CommonJS dependencies named after --require, and Node's own modules, are loaded with require()
// rather than `import`: the same module.exports, without Node parsing a package's source a second
// time to find the names an ES module could import (cjs-module-lexer), and without the ES module
// facade of a built-in module, which reads every export and so loads what Node keeps lazy
// (`import … from "node:crypto"` loads WebCrypto, X.509, key generation…). A few ms per start.
// Modules reached only through `import()` become chunks loaded when first needed. A module named
// after --lazy, where inlined CommonJS code `require()`s it (or, in a CommonJS bundle, any code
// imports it), is loaded when a property of it is first read (commander requires child_process at
// load, for subcommands envkeep does not have; the CLI's `--help` needs nothing of core).
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import path from "node:path";
import * as esbuild from "esbuild";

/** The entry points, and the package names after each `--flag`. */
function parseArgs(argv) {
  const lists = {
    entries: [],
    "--inline": [],
    "--require": [],
    "--lazy": [],
    "--notice": [],
    "--format": [],
    "--lazy-entry": [],
  };
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
  "--format": [format = "esm"],
  "--lazy-entry": lazyEntryNames,
} = parseArgs(process.argv.slice(2));
if (format !== "esm" && format !== "cjs") throw new Error(`unknown format ${format}`);
if (format !== "cjs" && lazyEntryNames.length > 0)
  throw new Error("--lazy-entry needs --format cjs");
const packageRequire = createRequire(path.resolve("package.json"));
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
      // In a CommonJS bundle, imports of a --lazy module are lazy too: each import becomes
      // property reads of one object (`import_x.name`), so the module loads at the first read.
      const lazyKinds = format === "cjs" ? ["require-call", "import-statement"] : ["require-call"];
      if (
        lazy.has(args.path) &&
        lazyKinds.includes(args.kind) &&
        args.namespace !== "lazy-require"
      ) {
        return { path: args.path, namespace: "lazy-require" };
      }
      if (!requireNames.has(name) && !isBuiltin(args.path)) return undefined;
      if (args.kind === "require-call" || args.kind === "dynamic-import") {
        return { path: args.path, external: true };
      }
      return { path: args.path, namespace: "require-commonjs" };
    });
    build.onLoad({ filter: /.*/, namespace: "require-commonjs" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
    // The module's properties, each read from the module loaded on first use. Its export names
    // are read here, at build time: esbuild copies an imported module's properties (`__toESM`)
    // when the importing module starts, and listing them must not load it. Each is a getter.
    build.onLoad({ filter: /.*/, namespace: "lazy-require" }, (args) => ({
      contents: `let loaded;
const load = () => (loaded ??= require(${JSON.stringify(args.path)}));
const names = ${JSON.stringify(Object.keys(packageRequire(args.path)))};
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => names.includes(key) || key in load(),
  ownKeys: () => names,
  getOwnPropertyDescriptor: (_, key) =>
    names.includes(key)
      ? { get: () => load()[key], enumerable: true, configurable: true }
      : undefined,
});`,
      loader: "js",
    }));
  },
};

/** (cjs) Output name of each entry: src/bin.ts → bin; a --lazy-entry @scope/name → name. */
const entryNames = Object.fromEntries([
  ...entryPoints.map((file) => [path.basename(file, path.extname(file)), path.resolve(file)]),
  ...lazyEntryNames.map((name) => [name.split("/").pop(), packageRequire.resolve(name)]),
]);
const entryFiles = new Map(Object.entries(entryNames).map(([name, file]) => [file, name]));

/**
 * (cjs) `import("pkg")` of a --lazy-entry package becomes `require("./pkg.cjs")`, run when the
 * import is; an import of another entry's module becomes a require of that entry's file.
 */
const separateEntries = {
  name: "separate-entries",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.namespace === "lazy-entry") return { path: args.path, external: true };
      if (args.kind === "dynamic-import" && lazyEntryNames.includes(args.path)) {
        return { path: args.path, namespace: "lazy-entry" };
      }
      if (args.kind === "entry-point" || !args.path.startsWith(".")) return undefined;
      const target = entryFiles.get(
        path.resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts")),
      );
      return target ? { path: `./${target}.cjs`, external: true } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: "lazy-entry" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`./${args.path.split("/").pop()}.cjs`)});`,
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

const common = {
  outdir: "dist",
  bundle: true,
  platform: "node",
  target: "node20.19",
  external,
  // Read by people and by stack traces: not minified.
  minify: false,
  legalComments: "inline",
  metafile: true,
  logLevel: "warning",
};
const result = await esbuild.build(
  format === "esm"
    ? {
        ...common,
        entryPoints,
        outbase: "src",
        splitting: true,
        format: "esm",
        // Beside the entries: a chunk's `import.meta.url` then finds ../package.json as they do.
        chunkNames: "[name]-[hash]",
        // CommonJS copied in (--inline) calls require() for Node's modules: give ESM one.
        banner: {
          js: 'import { createRequire as __bundleCreateRequire } from "node:module";\nconst require = __bundleCreateRequire(import.meta.url);',
        },
        plugins: [requireCommonJs],
      }
    : {
        ...common,
        entryPoints: entryNames,
        format: "cjs",
        outExtension: { ".js": ".cjs" },
        // `import()` of what stays outside (Node's modules, @envkeep/http…) becomes a require when
        // it runs: an `import()` would start the ES module loader.
        supported: { "dynamic-import": false },
        // Sources written as ES modules read `import.meta.url`: the file's own URL.
        define: { "import.meta.url": "__bundleImportMetaUrl" },
        banner: {
          js: 'const __bundleImportMetaUrl = require("node:url").pathToFileURL(__filename).href;',
        },
        plugins: [requireCommonJs, separateEntries],
      },
);
if (format === "cjs" && entryNames.index) {
  // The package's ES module entry: the same exports (Node reads their names off index.cjs).
  writeFileSync(path.join("dist", "index.js"), 'export * from "./index.cjs";\n');
}
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

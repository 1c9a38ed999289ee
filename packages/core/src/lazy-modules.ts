import { createRequire } from "node:module";

// Modules most programs never use, loaded on first use instead of when envkeep is imported:
// child_process (with Node's sockets and streams behind it) only to spawn, dotenv and
// fs/promises only to read a .env file. A CLI's `--help` or a server's start pays for neither.
const require = createRequire(import.meta.url);

let childProcessModule: typeof import("node:child_process") | undefined;
let fsPromisesModule: typeof import("node:fs/promises") | undefined;
let dotenvModule: typeof import("dotenv") | undefined;

/** `node:child_process`, loaded on first call. */
export function childProcess(): typeof import("node:child_process") {
  childProcessModule ??= require("node:child_process") as typeof import("node:child_process");
  return childProcessModule;
}

/** `node:fs/promises`, loaded on first call. */
export function fsPromises(): typeof import("node:fs/promises") {
  fsPromisesModule ??= require("node:fs/promises") as typeof import("node:fs/promises");
  return fsPromisesModule;
}

/** `dotenv`, loaded on first call. */
export function dotenv(): typeof import("dotenv") {
  dotenvModule ??= require("dotenv") as typeof import("dotenv");
  return dotenvModule;
}

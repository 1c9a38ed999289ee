import { createRequire } from "node:module";

// Modules loaded on first use instead of when envkeep is imported: child_process (with Node's
// sockets and streams behind it) only to spawn, dotenv and fs/promises only to read a .env file,
// and the crypto (tweetnacl, node:crypto with its streams, about 7 ms together) only to seal, open
// or hash. A CLI's `--help`, or a command that fails on its arguments, pays for none of them.
// Each `require` names its module literally: the tests' isolated runner rewrites such calls.
const require = createRequire(import.meta.url);

/** A getter of what `load` returns, which calls it once, on the getter's first call. */
function onFirstUse<T>(load: () => T): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}

/** `node:child_process`, loaded on first call. */
export const childProcess = onFirstUse(
  () => require("node:child_process") as typeof import("node:child_process"),
);

/** `node:fs/promises`, loaded on first call. */
export const fsPromises = onFirstUse(
  () => require("node:fs/promises") as typeof import("node:fs/promises"),
);

/** `tweetnacl`, loaded on first call. */
export const nacl = onFirstUse(() => require("tweetnacl") as typeof import("tweetnacl"));

/** `node:crypto`, loaded on first call. */
export const nodeCrypto = onFirstUse(() => require("node:crypto") as typeof import("node:crypto"));

/** `dotenv`, loaded on first call. */
export const dotenv = onFirstUse(() => require("dotenv") as typeof import("dotenv"));

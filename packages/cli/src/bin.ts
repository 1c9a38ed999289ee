#!/usr/bin/env node
import { watchOutputStreams } from "./closed-output.js";
import { EXIT_ERROR, main } from "./index.js";

watchOutputStreams(EXIT_ERROR);
// `main` never rejects: every error becomes its one stderr line and an exit code.
void main(process.argv.slice(2)).then((code) => {
  // A write error other than EPIPE, heard while main ran, already made process.exitCode non-zero.
  process.exitCode = code || process.exitCode || 0;
});

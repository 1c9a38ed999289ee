#!/usr/bin/env node
import { watchOutputStreams } from "./closed-output.js";
import { EXIT_ERROR, main } from "./main.js";

watchOutputStreams(EXIT_ERROR);
const code = await main(process.argv.slice(2));
// A write error other than EPIPE, heard while main ran, already made process.exitCode non-zero.
process.exitCode = code || process.exitCode || 0;

/**
 * The `envkeep` command line as a library: `main(argv)` runs it and returns the exit code.
 * The binary (`envkeep`) is `bin/envkeep.cjs`, which loads the bundled `dist/bin.cjs`; this
 * module is `dist/index.cjs`, which ES modules import through `dist/index.js`.
 */
export { createProgram, describeError, EXIT_ERROR, EXIT_USAGE, main } from "./main.js";

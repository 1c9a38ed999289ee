/**
 * The `envkeep` command line as a library: `main(argv)` runs it and returns the exit code.
 * The binary (`envkeep`) is `bin/envkeep.js`, which loads the bundled `dist/bin.js`.
 */
export { createProgram, describeError, EXIT_ERROR, EXIT_USAGE, main } from "./main.js";

// Empties the package's dist/ before a build (run from the package directory): tsc never removes
// what an older build left, and whatever is in dist/ is published.
import { rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });

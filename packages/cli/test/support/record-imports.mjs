// `node --import ./record-imports.mjs …`: appends the URL of every module the process imports
// (ES module resolution; Node's own modules left out) to the file named by ENVKEEP_TEST_IMPORTS.
import { register } from "node:module";

register(
  `data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (!result.url.startsWith("node:")) appendFileSync(${JSON.stringify(process.env.ENVKEEP_TEST_IMPORTS)}, result.url + "\\n");
  return result;
}`)}`,
);

// `node --require ./record-required.cjs …`: at exit, writes the Node modules the process loaded
// (`process.moduleLoadList`) and the CommonJS files it required to the file named by
// ENVKEEP_TEST_REQUIRED, as JSON.
const { writeFileSync } = require("node:fs");

process.on("exit", () => {
  writeFileSync(
    process.env.ENVKEEP_TEST_REQUIRED,
    JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) }),
  );
});

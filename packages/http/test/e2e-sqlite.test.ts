import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { e2eFlows } from "./support/e2e-flows.js";
import { tempDir } from "./support/in-process.js";

const dbs = tempDir("e2e-sqlite");
let next = 0;

e2eFlows("sqlite", async () => {
  const dir = path.join(dbs, `db-${++next}`);
  return {
    url: `sqlite:${path.join(dir, "secrets.db")}`,
    // The database file plus its WAL/journal, as text.
    raw: async () =>
      readdirSync(dir)
        .map((file) => readFileSync(path.join(dir, file)).toString("latin1"))
        .join("\n"),
  };
});

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll } from "vitest";
import { tempDir } from "./support/cli.js";
import { cliFlowTests } from "./support/flows.js";

const dbs = tempDir("sqlite-dbs");
let next = 0;

cliFlowTests("sqlite", async () => {
  const dir = path.join(dbs.dir, `db-${++next}`);
  return {
    url: `sqlite:${path.join(dir, "secrets.db")}`,
    // The database file plus its WAL/journal, as text.
    raw: async () =>
      readdirSync(dir)
        .map((file) => readFileSync(path.join(dir, file)).toString("latin1"))
        .join("\n"),
  };
});

afterAll(() => dbs.remove());

import path from "node:path";
import { runStoreSuite } from "@envkeep/store-test-suite";
import { afterAll } from "vitest";
import { type SqliteStore, sqliteStore } from "../src/index.js";
import { readRaw, sqliteRawBackend, tempDir } from "./support.js";

const temp = tempDir();
afterAll(() => temp.cleanup());
let files = 0;

runStoreSuite({
  name: "sqlite",
  createStore: () => sqliteStore({ path: path.join(temp.dir, `suite-${++files}.db`) }),
  readRaw,
  reopenStore: (store) => sqliteStore({ path: (store as SqliteStore).path }),
  backend: sqliteRawBackend,
});

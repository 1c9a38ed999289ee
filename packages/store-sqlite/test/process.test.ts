import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateMasterKey, SecretManager } from "@envkeep/core";
import {
  killWriterMidLoop,
  runCacheFreshnessTests,
  runProcessRaceTests,
} from "@envkeep/store-test-suite";
import { afterAll, describe, expect, it } from "vitest";
import { sqliteStore } from "../src/index.js";
import { rawQuery, tempDir } from "./support.js";

const temp = tempDir("envkeep-sqlite-process-");
afterAll(() => temp.cleanup());
let files = 0;
const freshFile = () => path.join(temp.dir, `process-${++files}.db`);

const target = {
  cwd: fileURLToPath(new URL("..", import.meta.url)),
  storeModule: "@envkeep/store-sqlite",
  factoryName: "sqliteStore",
};

runProcessRaceTests({ name: "sqlite", ...target, storeOptions: () => ({ path: freshFile() }) });

runCacheFreshnessTests({
  name: "sqlite",
  ...target,
  storeOptions: () => ({ path: freshFile() }),
  openStore: (options) => sqliteStore(options as { path: string }),
});

describe("a process killed with SIGKILL in the middle of a write loop", () => {
  it("loses no write it reported done, and leaves a file that passes integrity_check", async () => {
    const file = freshFile();
    const masterKey = generateMasterKey();
    const done = await killWriterMidLoop({
      ...target,
      storeOptions: { path: file },
      masterKey,
    });

    const [check] = await rawQuery(file, "PRAGMA integrity_check");
    expect(check).toEqual({ integrity_check: "ok" });

    const secrets = new SecretManager({
      store: sqliteStore({ path: file }),
      masterKey,
      workspace: "race",
      environment: "dev",
    });
    try {
      const env = await secrets.resolve(done.map((name) => secrets.fromName(name)));
      expect(env).toEqual({ N: String(done.length - 1) }); // the later one wins: all were readable
      for (const [i, name] of done.entries()) {
        expect((await secrets.info(name)).name).toBe(name);
        expect(await secrets.resolve([secrets.fromName(name)])).toEqual({ N: String(i) });
      }
      // Nothing half-written: whatever came after is either whole or absent.
      expect(await secrets.list()).toHaveLength(
        await secrets.store.count({ workspace: "race", environment: "dev" }),
      );
    } finally {
      await secrets.close();
    }
  }, 120_000);
});

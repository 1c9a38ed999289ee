/**
 * The SQLite cache's fast change check: a cached read is served without asking SQLite only while
 * the database's files are exactly as a `data_version` check saw them, settled. These tests
 * attack that shortcut: commits by another connection at random moments, values of the same
 * length (so only the change time can tell), and file times that lie (stat frozen), where only
 * the 100 ms backstop stands between the cache and a stale secret.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { generateMasterKey, SecretManager } from "@envkeep/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BACKSTOP_MS, SETTLE_MS, walSeen } from "../src/file-changes.js";
import { sqliteStore } from "../src/index.js";
import { rawQuery, tempDir } from "./support.js";

/** When set, `statSync` answers what it answered for each path when frozen (file times lie). */
const frozen = vi.hoisted(() => ({ on: false, seen: new Map<string, unknown>() }));
vi.mock("node:fs", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs")>();
  const statSync = ((file: string, options?: object) => {
    if (!frozen.on) return actual.statSync(file, options);
    if (!frozen.seen.has(file)) frozen.seen.set(file, actual.statSync(file, options));
    return frozen.seen.get(file);
  }) as typeof actual.statSync;
  return { ...actual, default: { ...actual, statSync }, statSync };
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  frozen.on = false;
  frozen.seen.clear();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A cached manager and a plain one, each on its own connection to one file. */
function twoConnections() {
  const { dir, cleanup } = tempDir();
  const file = path.join(dir, "secrets.db");
  const masterKey = generateMasterKey();
  const options = { masterKey, workspace: "w", environment: "e" };
  const cached = new SecretManager({
    ...options,
    store: sqliteStore({ path: file }),
    cache: { ttlMs: 60_000 },
  });
  const other = new SecretManager({ ...options, store: sqliteStore({ path: file }) });
  cleanups.push(
    cleanup,
    () => other.close(),
    () => cached.close(),
  );
  const read = async () => (await cached.resolve([cached.fromName("s")])).V;
  // After a RESTART checkpoint the next commit rewrites the WAL from its start: the same files,
  // the same sizes, only the change time tells.
  const restartWal = () => rawQuery(file, "PRAGMA wal_checkpoint(RESTART)");
  return { cached, other, read, restartWal };
}

describe("walSeen", () => {
  it("changes with every write, is unsettled right after one, settles after SETTLE_MS", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = path.join(dir, "f-wal");
    writeFileSync(file, "aaaa");
    await sleep(SETTLE_MS + 20);
    const before = walSeen(file, Date.now());
    expect(before?.settled).toBe(true);
    writeFileSync(file, "bbbb"); // same size: only the change time differs
    const after = walSeen(file, Date.now());
    expect(after?.signature).not.toBe(before?.signature);
    expect(after?.settled).toBe(false);
  });

  it("cannot vouch for a database without a log (not in WAL mode)", () => {
    expect(walSeen("/nonexistent/secrets.db-wal", Date.now())).toBeUndefined();
  });
});

describe("a cached read on SQLite and another connection's commits", () => {
  it("sees each commit at the next read, whenever it lands (same sizes after a WAL restart)", async () => {
    const { other, read, restartWal } = twoConnections();
    await other.create("s", { V: "v000" });
    expect(await read()).toBe("v000");
    for (let i = 1; i <= 40; i++) {
      if (i % 2 === 0) await restartWal();
      // Reads at random moments: in the settle window, just after it, well after.
      await sleep([0, 5, SETTLE_MS + 5, 60][i % 4] as number);
      expect(await read()).toBe(`v${String(i - 1).padStart(3, "0")}`);
      expect(await read()).toBe(`v${String(i - 1).padStart(3, "0")}`);
      await other.update("s", { V: `v${String(i).padStart(3, "0")}` });
      expect(await read()).toBe(`v${String(i).padStart(3, "0")}`);
    }
  }, 60_000);

  it("when file times lie (stat frozen), a commit is still seen once the backstop expires", async () => {
    const { other, read } = twoConnections();
    await other.create("s", { V: "old" });
    await sleep(SETTLE_MS + 20);
    expect(await read()).toBe("old"); // a data_version check vouches for the settled files
    frozen.on = true;
    await read(); // the frozen look is the one that vouched
    await other.update("s", { V: "new" });
    await sleep(BACKSTOP_MS + 20);
    expect(await read()).toBe("new");
  }, 30_000);
});

import { statSync } from "node:fs";

/**
 * How long after the log's last change its signature is not yet trusted, in ms: a file's change
 * time comes from the kernel's coarse clock (one tick, 1–10 ms), so a commit a moment after a
 * check could leave the same time behind. Only a signature whose change time is older than this
 * vouches for the database.
 */
export const SETTLE_MS = 25;

/**
 * The longest one `PRAGMA data_version` vouches for the database through its files' signature,
 * in ms: the bound on a change the log's times did not show (a clock stepped back, a file system
 * that caches file attributes).
 */
export const BACKSTOP_MS = 100;

/** A database's write-ahead log as last seen: its signature, and whether it may vouch yet. */
export interface WalSeen {
  readonly signature: string;
  readonly settled: boolean;
}

/**
 * The signature of a SQLite database's write-ahead log (its `-wal` file): inode, size and change
 * time (ctime). In WAL mode every commit, by any connection, writes the log, and a write sets
 * its change time to now — which no program can set back, unlike the modification time. The
 * log exists for as long as a connection is open (this store's is), so a missing one means the
 * database is not in WAL mode (a file system that cannot do it, or someone switched it): then
 * `undefined`, as when the file cannot be looked at, and the caller asks SQLite instead.
 * `settled` when the change time is at least {@link SETTLE_MS} older than `now`.
 *
 * One `stat`, no descriptor opened: it cannot release the process's SQLite locks as closing a
 * descriptor of the database would.
 */
export function walSeen(walFile: string, now: number): WalSeen | undefined {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(walFile, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (stats === undefined) return undefined;
  return {
    signature: `${stats.ino}:${stats.size}:${stats.ctimeMs}`,
    settled: stats.ctimeMs <= now - SETTLE_MS,
  };
}

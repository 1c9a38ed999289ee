import { closeSync, fstatSync, openSync } from "node:fs";

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

/**
 * How long before a vouch runs out ({@link BACKSTOP_MS} after its check) the next check starts,
 * in ms, while reads keep being answered from the log: a steady stream of cached reads never
 * waits for the periodic `data_version` round trip.
 */
export const REFRESH_AHEAD_MS = 40;

/** A database's write-ahead log as last seen: which file, its size and its change time (ms). */
export interface WalSignature {
  readonly ino: number;
  readonly size: number;
  readonly ctimeMs: number;
}

/** The log's signature, and whether it may vouch yet. */
export interface WalSeen extends WalSignature {
  readonly settled: boolean;
}

/**
 * A SQLite database's write-ahead log (its `-wal` file), looked at through one descriptor held
 * open: an `fstat` of it costs half a `stat` of its path (no path walk), and the cache's every
 * hit pays one.
 *
 * Holding and closing this descriptor is safe beside SQLite's own, unlike one of the database
 * file: closing a descriptor drops the process's POSIX locks on that file only, and SQLite locks
 * the database and its `-shm` index, never the log (checked in /proc/locks).
 */
export class WalLog {
  #fd: number | undefined;
  #closed = false;

  constructor(readonly file: string) {}

  /**
   * The log's signature (inode, size and change time, ctime), opening the file if need be. In
   * WAL mode every commit, by any connection, writes the log, and a write sets its change time to
   * now — which no program can set back, unlike the modification time. The log exists for as long as a connection is open
   * (this store's is), so a missing one means the database is not in WAL mode (a file system that
   * cannot do it, or someone switched it): then `undefined`, as when the file cannot be looked
   * at, and the caller asks SQLite instead. A log removed or replaced since the descriptor was
   * opened (no name links to it any more) is `undefined` too, and the next look opens the file
   * now at the path. `settled` when the change time is at least {@link SETTLE_MS} older than
   * `now`.
   */
  seen(now: number): WalSeen | undefined {
    if (this.#fd === undefined) {
      if (this.#closed) return undefined;
      try {
        this.#fd = openSync(this.file, "r");
      } catch {
        return undefined;
      }
    }
    let stats: ReturnType<typeof fstatSync>;
    try {
      stats = fstatSync(this.#fd);
    } catch {
      this.#release();
      return undefined;
    }
    if (stats.nlink === 0) {
      this.#release();
      return undefined;
    }
    return {
      ino: stats.ino,
      size: stats.size,
      ctimeMs: stats.ctimeMs,
      settled: stats.ctimeMs <= now - SETTLE_MS,
    };
  }

  /**
   * Whether the log is still exactly as `signature` (one `fstat`, compared field by field: the
   * cache pays this on every hit). `false` when it cannot tell: nothing opened yet, the
   * descriptor unusable, the file removed or replaced.
   */
  matches(signature: WalSignature): boolean {
    if (this.#fd === undefined) return false;
    let stats: ReturnType<typeof fstatSync>;
    try {
      stats = fstatSync(this.#fd);
    } catch {
      return false;
    }
    return (
      stats.nlink !== 0 &&
      stats.ino === signature.ino &&
      stats.size === signature.size &&
      stats.ctimeMs === signature.ctimeMs
    );
  }

  /** Lets the descriptor go for good (the store is closing): later looks see nothing. */
  close(): void {
    this.#closed = true;
    this.#release();
  }

  #release(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // Already gone; nothing is held.
    }
  }
}

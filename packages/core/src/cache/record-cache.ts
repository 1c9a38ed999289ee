import type { VerifiedRecord } from "../crypto/sealed-record.js";
import { InvalidError } from "../errors.js";
import { locationKey } from "../records/verification-memo.js";
import type { ChangeWatch, SecretStore, StoreChanges } from "../store.js";

/** Options of the manager's opt-in cache (`new SecretManager({ cache: { ttlMs } })`). */
export interface CacheOptions {
  /**
   * Longest time one read is served from memory, in milliseconds, however quiet the store's
   * change feed: a bound for what the feed cannot see (an edit of the backend outside envkeep,
   * on a store whose feed does not report those).
   */
  ttlMs: number;
  /** Records kept at most (the oldest is dropped first). @default 10000 */
  maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 10_000;

/** Checks the `cache` option of a manager: `undefined` (off) or valid options. */
export function checkCacheOptions(cache: unknown): CacheOptions | undefined {
  if (cache === undefined || cache === false) return undefined;
  if (typeof cache !== "object" || cache === null || Array.isArray(cache)) {
    throw new InvalidError("invalid cache option: expected { ttlMs } (milliseconds)");
  }
  const { ttlMs, maxEntries } = cache as Partial<CacheOptions>;
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new InvalidError("invalid cache.ttlMs: expected a positive number of milliseconds");
  }
  if (maxEntries !== undefined && !(Number.isSafeInteger(maxEntries) && maxEntries >= 1)) {
    throw new InvalidError("invalid cache.maxEntries: expected a positive integer");
  }
  return { ttlMs, ...(maxEntries === undefined ? {} : { maxEntries }) };
}

interface Entry {
  readonly verified: VerifiedRecord;
  readonly expiresAt: number;
}

/**
 * The manager's cache of authenticated, still-sealed records, kept fresh by the store's change
 * feed ({@link StoreChanges}).
 *
 * What it holds: {@link VerifiedRecord}s — a record exactly as the store returned it (metadata,
 * sealed contents) after its identity and tag were checked. Never a value: `resolve` decrypts a
 * cached record inside the call, as it would one just read.
 *
 * When it serves: only while the feed vouches for it (`ChangeWatch.current()`), and never an
 * entry older than `ttlMs`. A write through this manager forgets its entry at once; a change the
 * feed reports forgets that entry (or all of them); a read that raced with any of those is not
 * kept. When the feed cannot vouch (its channel is down), nothing is served until it can again,
 * and then everything read before is forgotten first.
 *
 * What it skips on a hit: the store read, the shape check and the tag check — all of which the
 * entry passed when it was read, and none of which can change while the store holds the same
 * record. What it never skips: the identity (an entry is found by workspace, environment and
 * name, exactly as the store's location), and on `resolve` the opening of both boxes.
 */
export class RecordCache {
  readonly #changes: StoreChanges;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  /** Bumped by every change, forget and flush: a read that began before one is not kept. */
  #generation = 0;
  #watch: ChangeWatch | undefined;
  /** Whether the feed vouched at its last answer (a return to `true` forgets everything). */
  #vouching = false;
  #closed = false;

  private constructor(changes: StoreChanges, options: CacheOptions) {
    this.#changes = changes;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  /** A cache on `store`, or `undefined` when the option is off or the store has no change feed. */
  static on(store: SecretStore, options: CacheOptions | undefined): RecordCache | undefined {
    if (options === undefined || store.changes === undefined) return undefined;
    return new RecordCache(store.changes, options);
  }

  /** Whether it may serve: the feed's own answer, and a flush whenever it starts vouching again. */
  #settle(vouching: boolean): boolean {
    if (vouching && !this.#vouching) this.#forgetAll();
    this.#vouching = vouching;
    return vouching && !this.#closed;
  }

  #started(): ChangeWatch {
    this.#watch ??= this.#changes.watch((changed) => {
      if (changed === undefined) this.#forgetAll();
      else this.forget(locationKey(changed));
    });
    return this.#watch;
  }

  /**
   * The entry of `key` if it may be served now; `undefined` for a miss. Synchronous when the
   * store's feed answers without I/O.
   */
  lookup(key: string): VerifiedRecord | undefined | Promise<VerifiedRecord | undefined> {
    if (this.#closed) return undefined;
    const current = this.#started().current();
    if (typeof current === "boolean") return this.#settle(current) ? this.#fresh(key) : undefined;
    return current.then((vouching) => (this.#settle(vouching) ? this.#fresh(key) : undefined));
  }

  #fresh(key: string): VerifiedRecord | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.verified;
  }

  /** A token for a store read about to begin: give it to {@link remember} with what it read. */
  begin(): number {
    this.#started();
    return this.#generation;
  }

  /** Keeps what a read that began at `token` found at `key`, unless anything changed meanwhile. */
  remember(key: string, verified: VerifiedRecord, token: number): void {
    if (token !== this.#generation || this.#closed) return;
    this.#entries.delete(key);
    this.#entries.set(key, { verified, expiresAt: Date.now() + this.#ttlMs });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** Forgets the entry of `key` (a write through this manager, or a reported change). */
  forget(key: string): void {
    this.#generation++;
    this.#entries.delete(key);
  }

  #forgetAll(): void {
    this.#generation++;
    this.#entries.clear();
  }

  /** Forgets everything and stops the watch. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#forgetAll();
    const watch = this.#watch;
    this.#watch = undefined;
    await watch?.close();
  }
}

import { canRediscoverSlots, rediscoverSlots } from "./node-redis-cluster.js";

/** A node client of a cluster: what the refresher reads and sends. */
interface NodeClient {
  readonly isReady: boolean;
  withCommandOptions(options: { timeout: number }): { ping(): Promise<unknown> };
}

/** A master of the slot map (`cluster.masters`: public in node-redis 5). */
interface MasterNode {
  readonly host: string;
  readonly port: number;
  readonly client?: NodeClient;
}

/** The members of a node-redis cluster client the refresher uses; all documented. */
export interface ClusterClientLike {
  readonly masters: readonly MasterNode[];
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own listener type
  on(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own listener type
  off(event: string, listener: (...args: any[]) => void): unknown;
}

export interface SlotRefreshOptions {
  /** Pause between two re-reads of the slot map while a node is failing, in ms. */
  intervalMs: number;
  /** How long a node may take to answer the `PING` that picks it to be asked, in ms. */
  probeTimeoutMs: number;
  /** Told of every failed re-read (the latest one is the cause of a later timeout). */
  onError: (error: unknown) => void;
}

/**
 * Keeps a cluster client's slot map current when a master fails, which node-redis 5 does not do by
 * itself (it re-reads the map only on a `MOVED` reply, and a dead master sends none).
 *
 * While a master's connection is failing (`node-error` / `node-reconnecting`), or after a call timed
 * out (a master that accepts connections but does not answer), it re-reads the slot map at most
 * once per `intervalMs`, asking a master that has just answered a `PING` — never one that might
 * hang. Once every master of the map is connected again (the replica that took over included) and
 * no call timed out since the last re-read, it stops: a healthy cluster costs nothing. Commands
 * queued for a dead master meanwhile still fail at their own timeout; the re-read that drops the
 * dead node from the map fails them at once.
 */
export class SlotMapRefresher {
  readonly #cluster: ClusterClientLike;
  readonly #options: SlotRefreshOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #suspectedAt = 0;
  #lastStartedAt = 0;
  #closed = false;

  constructor(cluster: ClusterClientLike, options: SlotRefreshOptions) {
    this.#cluster = cluster;
    this.#options = options;
    if (!canRediscoverSlots(cluster)) {
      // A node-redis that changed its internals: keep its own behaviour rather than break.
      this.#closed = true;
      return;
    }
    cluster.on("node-error", this.#onNodeTrouble);
    cluster.on("node-reconnecting", this.#onNodeTrouble);
  }

  readonly #onNodeTrouble = () => {
    this.#start();
  };

  /** A call timed out: a master may be frozen or cut off; re-read the map until it is clear. */
  suspect(): void {
    if (this.#closed) return;
    this.#suspectedAt = Date.now();
    this.#start();
  }

  #start(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs);
    this.#timer.unref();
    this.#tick();
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (this.#closed || this.#running) return;
    const failing = this.#cluster.masters.some((node) => node.client && !node.client.isReady);
    const suspected = this.#suspectedAt >= this.#lastStartedAt;
    if (!failing && !suspected) {
      this.#stopTimer();
      return;
    }
    this.#lastStartedAt = Date.now();
    this.#running = this.#refresh()
      .catch(this.#options.onError)
      .finally(() => {
        this.#running = undefined;
      });
  }

  async #refresh(): Promise<void> {
    const candidates = this.#cluster.masters
      .map((node) => node.client)
      .filter((client): client is NodeClient => client?.isReady === true)
      .sort(() => Math.random() - 0.5);
    for (const client of candidates) {
      if (!(await this.#answers(client))) continue;
      if (this.#closed) return;
      await rediscoverSlots(this.#cluster, client);
      return;
    }
    throw new Error("no master of the cluster answered, so its slot map was not re-read");
  }

  /**
   * Whether `client` answers a `PING` within the probe timeout. Raced with a timer of our own:
   * node-redis's command timeout only covers a command that was not written yet, and a frozen
   * node's socket accepts writes.
   */
  async #answers(client: NodeClient): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#options.probeTimeoutMs);
    });
    const ping = client
      .withCommandOptions({ timeout: this.#options.probeTimeoutMs })
      .ping()
      .then(
        () => true,
        () => false,
      );
    try {
      return await Promise.race([ping, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops for good; waits (at most `waitMs`) for a re-read in flight, which reconnects nodes. */
  async close(waitMs: number): Promise<void> {
    if (this.#closed && !this.#running) return;
    this.#closed = true;
    this.#stopTimer();
    this.#cluster.off("node-error", this.#onNodeTrouble);
    this.#cluster.off("node-reconnecting", this.#onNodeTrouble);
    const running = this.#running;
    if (!running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      running,
      new Promise((resolve) => {
        timer = setTimeout(resolve, waitMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

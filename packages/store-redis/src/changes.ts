import { randomBytes } from "node:crypto";
import type { ChangeListener, ChangeWatch, SecretRef, StoreChanges } from "@envkeep/core";

/** The channel a prefix's writes are announced on. */
export function changeChannel(prefix: string): string {
  return `${prefix}:changes`;
}

/** The message announcing a change of `ref` (the scripts publish it with the write). */
export function changeMessage(ref: SecretRef): string {
  return `r${JSON.stringify([ref.workspace, ref.environment, ref.name])}`;
}

/** A heartbeat of watch `id`, number `seq`. */
const heartbeat = (id: string, seq: number) => `h${id}:${seq}`;

/** What a change watch needs of the store's connection. */
export interface ChangeLink {
  /**
   * A new connection subscribed to `channel`, handing each message to `onMessage`, reporting
   * every loss of the connection to `onLost` (messages may have been missed then); resolves to
   * its closer.
   */
  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onLost: () => void,
  ): Promise<() => Promise<void>>;
  /** `PUBLISH channel message` on the store's own connection (the one its writes use). */
  publish(channel: string, message: string): Promise<unknown>;
}

/** Options of {@link redisChanges}. */
export interface RedisChangesOptions {
  prefix: string;
  link: ChangeLink;
  /** The staleness bound a watch vouches for, in ms. */
  lagMs: number;
}

/**
 * The change feed of a Redis store on one server (or a Sentinel-managed primary is not covered:
 * see the README). Every write script publishes the record's location on `<prefix>:changes` in
 * the same atomic step as the write. A watch subscribes to that channel on a connection of its
 * own and, every `lagMs / 4`, publishes a heartbeat of its own on the store's connection: Redis
 * delivers a channel's messages to a subscriber in the order it executed the publishes, so when
 * heartbeat `n`, published at time `t`, arrives, every write that completed before `t` has
 * already been reported. The watch vouches (`current()`) while its latest heartbeat was sent at
 * most `lagMs` ago; a lost connection, or a heartbeat missing from the sequence, reports
 * "anything changed", and until heartbeats flow again it vouches for nothing.
 */
export function redisChanges(options: RedisChangesOptions): StoreChanges {
  const { prefix, link, lagMs } = options;
  const channel = changeChannel(prefix);
  return {
    reportsBackendEdits: false,
    watch: (listener: ChangeListener): ChangeWatch => {
      const id = randomBytes(8).toString("hex");
      const mine = `h${id}:`;
      const sentAt = new Map<number, number>();
      let seq = 0;
      let lastHeard = -1;
      /** Send time of the latest heartbeat heard, in ms since epoch (0: none since the last loss). */
      let watermark = 0;
      let stopped = false;
      let closeSubscription: (() => Promise<void>) | undefined;

      const lost = () => {
        watermark = 0;
        lastHeard = -1;
        sentAt.clear();
        listener(undefined);
      };
      const onMessage = (message: string) => {
        if (message.startsWith("r")) {
          let ref: unknown;
          try {
            ref = JSON.parse(message.slice(1));
          } catch {
            ref = undefined;
          }
          if (Array.isArray(ref) && ref.length === 3 && ref.every((p) => typeof p === "string")) {
            const [workspace, environment, name] = ref as [string, string, string];
            listener({ workspace, environment, name });
          } else listener(undefined);
          return;
        }
        if (!message.startsWith(mine)) return; // another watch's heartbeat
        const n = Number(message.slice(mine.length));
        const sent = sentAt.get(n);
        if (sent === undefined) return; // from before the last loss
        for (const old of sentAt.keys()) if (old <= n) sentAt.delete(old);
        if (lastHeard !== -1 && n !== lastHeard + 1) listener(undefined); // one went missing
        lastHeard = n;
        watermark = sent;
      };

      const subscribing = link.subscribe(channel, onMessage, lost).then(
        (close) => {
          if (stopped) return void close().catch(() => {});
          closeSubscription = close;
        },
        () => lost(),
      );
      const beat = () => {
        if (stopped) return;
        const n = seq++;
        sentAt.set(n, Date.now());
        // Bounded: a heartbeat nobody hears only leaves the watch not vouching.
        if (sentAt.size > 1_000) sentAt.delete(sentAt.keys().next().value as number);
        link.publish(channel, heartbeat(id, n)).catch(() => {});
      };
      const timer = setInterval(beat, Math.max(1, Math.floor(lagMs / 4)));
      timer.unref();
      void subscribing.then(beat);

      return {
        lagMs,
        current: () => !stopped && Date.now() - watermark <= lagMs,
        close: async () => {
          if (stopped) return;
          stopped = true;
          clearInterval(timer);
          await subscribing;
          await closeSubscription?.().catch(() => {});
        },
      };
    },
  };
}

import type { CommandOptions, RawRedis } from "./connection.js";

/** The members of a node-redis Sentinel client (`createSentinel()`) the store uses. */
export interface SentinelClientLike {
  /** The primary the client is connected to, or `undefined` while it has no usable one. */
  getMasterNode(): { host: string; port: number } | undefined;
  sendCommand(isReadonly: boolean, args: string[], options?: CommandOptions): Promise<unknown>;
}

/** Whether `client` is a node-redis Sentinel client (as @keyv/redis tells them apart). */
export function isSentinelClient(client: object): boolean {
  return typeof (client as { getSentinelNode?: unknown }).getSentinelNode === "function";
}

/**
 * The store's raw commands on a Sentinel client, each sent to the primary with the call's timeout
 * and abort signal. node-redis 5's Sentinel client ignores `withCommandOptions()` (its typed
 * commands read the options it was created with), so these go through `sendCommand`, the one
 * method that takes options per command: a command whose call gave up is still never sent later.
 */
export function sentinelCommands(client: SentinelClientLike, options: CommandOptions): RawRedis {
  const send = (args: string[]) => client.sendCommand(false, args, options);
  const script =
    (command: "EVALSHA" | "EVAL") =>
    (body: string, { keys, arguments: args }: { keys: string[]; arguments: string[] }) =>
      send([command, body, String(keys.length), ...keys, ...args]);
  return {
    evalSha: script("EVALSHA"),
    eval: script("EVAL"),
    get: (key) => send(["GET", key]) as Promise<string | null>,
    zCard: (key) => send(["ZCARD", key]) as Promise<number>,
    sAdd: (key, member) => send(["SADD", key, member]) as Promise<number>,
    sMembers: (key) => send(["SMEMBERS", key]) as Promise<string[]>,
    publish: (channel, message) => send(["PUBLISH", channel, message]) as Promise<number>,
  };
}

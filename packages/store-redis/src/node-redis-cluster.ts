/**
 * The one place where the store reaches below node-redis's documented cluster API.
 *
 * node-redis 5 re-reads a cluster's slot map (`CLUSTER SLOTS`) only when a node answers `MOVED`
 * or `ASK`. A master that died never answers, so after its replica has taken over, commands for
 * its slots keep going to the dead address. The re-read itself is
 * `cluster._slots.rediscover(startWith)`: what node-redis calls on a `MOVED` reply, with the node
 * client that sent it. `_slots` and `rediscover` are public in @redis/client's type declarations
 * (`readonly _slots: RedisClusterSlots`, `rediscover(startWith: RedisClientType): Promise<void>`)
 * but not documented, so they may change in any release: `test/node-redis-cluster.test.ts` fails
 * loudly when they do, and the store then degrades to node-redis's own behaviour (no re-read
 * without a `MOVED`) instead of breaking.
 */

/** A node client of a cluster, as `rediscover` needs it (it reads the client's options). */
export type ClusterNodeClient = object;

interface SlotsInternals {
  rediscover(startWith: ClusterNodeClient): Promise<void>;
}

function slotsOf(cluster: unknown): SlotsInternals | undefined {
  const slots = (cluster as { _slots?: Partial<SlotsInternals> } | null)?._slots;
  return typeof slots?.rediscover === "function" ? (slots as SlotsInternals) : undefined;
}

/** Whether this node-redis cluster client can be told to re-read its slot map. */
export function canRediscoverSlots(cluster: unknown): boolean {
  return slotsOf(cluster) !== undefined;
}

/**
 * Re-reads the cluster's slot map, asking the node `startWith` first (then the root nodes), as
 * node-redis does on a `MOVED` reply; concurrent calls share one re-read. Clients of nodes that no
 * longer serve slots are closed, so commands queued for a dead master fail at once.
 */
export async function rediscoverSlots(
  cluster: unknown,
  startWith: ClusterNodeClient,
): Promise<void> {
  const slots = slotsOf(cluster);
  if (!slots) throw new Error("this node-redis cluster client cannot re-read its slot map");
  await slots.rediscover(startWith);
}

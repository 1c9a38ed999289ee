import { createCluster } from "@keyv/redis";
import { describe, expect, it } from "vitest";
import { canRediscoverSlots } from "../src/node-redis-cluster.js";

// The store's cluster failover relies on one undocumented member of node-redis's cluster client,
// `cluster._slots.rediscover(startWith)` (see src/node-redis-cluster.ts). If a node-redis release
// renames or removes it, this fails: the store would still work, but a dead master's slots would
// stay unreachable until a restart, as with node-redis alone. test/cluster.test.ts checks that the
// call really re-reads the slot map.
describe("node-redis cluster internals the store relies on", () => {
  it("cluster._slots.rediscover(startWith) exists", () => {
    const cluster = createCluster({ rootNodes: [{ url: "redis://127.0.0.1:1" }] });
    const slots = (cluster as unknown as { _slots?: { rediscover?: unknown } })._slots;
    expect(
      typeof slots?.rediscover,
      "node-redis no longer has cluster._slots.rediscover(): update src/node-redis-cluster.ts (and the README's high-availability section)",
    ).toBe("function");
    expect(canRediscoverSlots(cluster)).toBe(true);
  });

  it("anything without it is reported as unable to re-read its slot map", () => {
    expect(canRediscoverSlots({})).toBe(false);
    expect(canRediscoverSlots({ _slots: {} })).toBe(false);
    expect(canRediscoverSlots(null)).toBe(false);
  });
});

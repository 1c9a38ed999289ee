import { generateMasterKey, SecretManager } from "@envkeep/core";
import { createClient, createCluster } from "@keyv/redis";
import { afterAll, describe, expect, it } from "vitest";
import { type RedisStore, redisStore } from "../src/index.js";
import {
  redisServerOnPath,
  runPrefix,
  ThrowawayCluster,
  type ThrowawayRedis,
  waitFor,
} from "./support/redis-servers.js";
import { expectConsistent } from "./support/redis-store-tests.js";
import { WriteLoad } from "./support/write-load.js";

// Failover on a real Redis Cluster: 3 masters + 3 replicas on spare loopback ports, started and
// stopped by this file. Two stores write from loops — one that created its cluster client from a
// URL, one handed a `createCluster()` client — while a master dies (SIGKILL), comes back (it
// rejoins as a replica), and while another master freezes (SIGSTOP: connections open, no answers).
// Each time, Redis promotes the replica within about the node timeout; the stores must get their
// writes through again within the node timeout + 5 s, by themselves, and lose nothing they
// acknowledged. (node-redis alone stays stuck: it re-reads the slot map only on a MOVED reply.)
const NODE_TIMEOUT_MS = 1000;
const RECOVERY_BOUND_MS = NODE_TIMEOUT_MS + 5000;
const TIMEOUT_MS = 500;
const PASSWORD = "cluster-ha-pw-51d3";

const skip = redisServerOnPath()
  ? undefined
  : "redis-server is not on the PATH: install Redis (redis-server and redis-cli) to run the cluster failover tests";
if (skip && process.env.CI) throw new Error(`CI is set, so not skipping: ${skip}`);

if (skip !== undefined) {
  describe("redis cluster failover", () => {
    it.skip(skip, () => {});
  });
} else {
  const cluster = await ThrowawayCluster.start(3, {
    replicas: 1,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
    extraArgs: ["--requirepass", PASSWORD, "--masterauth", PASSWORD],
  });
  const prefix = runPrefix("cluster-ha");
  const masterKey = generateMasterKey();
  const ports = cluster.nodes.map((node) => node.port);
  // The store that creates its own cluster client from a URL (two seed nodes are enough).
  const fromUrl = redisStore({
    url: `redis+cluster://:${PASSWORD}@127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`,
    prefix,
    timeoutMs: TIMEOUT_MS,
    maxReconnectDelayMs: 200,
  });
  // The store handed a bare node-redis cluster client, as an application builds it.
  const handed = createCluster({
    rootNodes: cluster.rootNodes,
    defaults: { password: PASSWORD },
  });
  handed.on("error", () => {});
  const fromClient = redisStore({ client: handed, prefix, timeoutMs: TIMEOUT_MS });
  const stores: [string, RedisStore][] = [
    ["url", fromUrl],
    ["client", fromClient],
  ];
  afterAll(async () => {
    try {
      await fromUrl.close();
      await fromClient.close();
      if (handed.isOpen) handed.destroy();
    } finally {
      await cluster.stop();
    }
  });

  const managers = (workspace: string) =>
    stores.map(([label, store]) => ({
      label,
      secrets: new SecretManager({ store, masterKey, workspace, environment: "dev" }),
    }));

  /** 40 environments: their hash tags `{ws/eN}` fall in slots of every master. */
  const environments = Array.from({ length: 40 }, (_, i) => `e${i}`);

  /** The slot of each key, asked of a running node. */
  async function keySlots(keys: string[]): Promise<number[]> {
    const node = cluster.nodes.find((n) => n.running) as ThrowawayRedis;
    const client = createClient({ url: node.url, password: PASSWORD });
    await client.connect();
    try {
      return await Promise.all(keys.map((key) => client.clusterKeySlot(key)));
    } finally {
      client.destroy();
    }
  }

  /** The slot of each environment's keys (hash tag `{workspace/environment}`). */
  async function slotsOf(workspace: string): Promise<Map<string, number>> {
    const slots = await keySlots(environments.map((e) => `{${workspace}/${e}}`));
    return new Map(environments.map((environment, i) => [environment, slots[i] ?? -1]));
  }

  const serves = (ranges: [number, number][], slot: number) =>
    ranges.some(([from, to]) => slot >= from && slot <= to);

  /** The master now serving the most keys, and the environments whose slots it serves. */
  async function busiestMaster(workspace: string) {
    const masters = (await cluster.topology()).filter(
      (node) => node.flags.includes("master") && !node.flags.includes("fail"),
    );
    let busiest = masters[0]!;
    let most = -1;
    for (const master of masters) {
      const keys = Number((await cluster.node(master.port).cli("dbsize")).trim());
      if (keys > most) [busiest, most] = [master, keys];
    }
    const slots = await slotsOf(workspace);
    const served = new Set(
      environments.filter((environment) => {
        return serves(busiest.slots, slots.get(environment) ?? -1);
      }),
    );
    return { port: busiest.port, id: busiest.id, keys: most, environments: served };
  }

  /**
   * Every store operation on one of the failed master's environments, on each store, retried
   * until it works; all must work before `deadline`.
   */
  async function everyOperationWorks(workspace: string, environment: string, deadline: number) {
    for (const { label, secrets } of managers(workspace)) {
      const store = secrets.store as RedisStore;
      const scope = { workspace, environment };
      const name = `${label}-probe-${Date.now().toString(36)}`;
      const steps: [string, () => Promise<unknown>][] = [
        ["create", () => secrets.create(name, { A: "1" }, { environment, ifExists: "skip" })],
        ["get", () => secrets.resolve([secrets.fromName(name, { environment })])],
        ["update", () => secrets.update(name, { B: "2" }, { environment })],
        ["list", () => secrets.list({ environment, maxObjects: 5 })],
        ["count", () => store.count(scope)],
        ["environments", () => store.environments(workspace)],
        ["delete", () => secrets.delete(name, { environment })],
      ];
      for (const [what, step] of steps) {
        for (;;) {
          try {
            await step();
            break;
          } catch (error) {
            if (Date.now() > deadline) {
              throw new Error(`${label} store: ${what} still failing at the deadline: ${error}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }
    }
    expect(Date.now()).toBeLessThanOrEqual(deadline);
  }

  /** A fresh cluster client (its slot map read now) for checking what Redis holds. */
  async function freshAdmin() {
    const admin = createCluster({ rootNodes: cluster.rootNodes, defaults: { password: PASSWORD } });
    admin.on("error", () => {});
    await admin.connect();
    return admin;
  }

  async function expectNothingLost(load: WriteLoad, workspace: string) {
    load.expectBoundedFailures(TIMEOUT_MS + 2000, PASSWORD);
    const admin = await freshAdmin();
    try {
      for (const { label, secrets } of managers(workspace)) {
        expect(await load.expectAllPresent(label, secrets)).toBeGreaterThan(0);
      }
      for (const environment of environments) {
        await expectConsistent(admin, fromUrl, workspace, environment);
      }
    } finally {
      admin.destroy();
    }
  }

  describe("redis cluster failover (3 masters + 3 replicas)", () => {
    let killed: ThrowawayRedis | undefined;

    it("a master killed: its replica takes over and both stores write to its slots again within the node timeout + 5 s", async () => {
      const workspace = "ws-kill";
      const load = new WriteLoad(managers(workspace), environments);
      try {
        await load.until("warm-up writes", () => load.acknowledged.length >= 400, 20_000);
        const victim = await busiestMaster(workspace);
        expect(victim.environments.size).toBeGreaterThan(0);
        killed = cluster.node(victim.port);
        const killedAt = Date.now();
        await killed.halt("SIGKILL");
        const deadAt = Date.now();

        const recovered = () =>
          stores.every(([label]) => load.firstAfter(deadAt, victim.environments, label));
        await load.until("writes to the dead master's slots", recovered, RECOVERY_BOUND_MS + 5000);
        for (const [label] of stores) {
          const first = load.firstAfter(deadAt, victim.environments, label);
          const tookMs = (first?.at ?? Number.POSITIVE_INFINITY) - killedAt;
          console.log(
            `cluster kill: ${label} store wrote to the dead master's slots after ${tookMs} ms`,
          );
          expect(tookMs, `${label} store recovery`).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
        }
        const [someEnvironment] = victim.environments;
        await everyOperationWorks(workspace, someEnvironment!, killedAt + RECOVERY_BOUND_MS);
        // The replica took over for real: the slot's master is another node now.
        const now = await cluster.topology();
        expect(now.find((node) => node.id === victim.id)?.flags).toContain("fail");
      } finally {
        await load.stop();
      }
      expect(load.failures.length).toBeGreaterThan(0);
      await expectNothingLost(load, workspace);
    }, 90_000);

    it("the dead master restarted: it rejoins as a replica, writes go on, nothing acknowledged is lost", async () => {
      expect(killed, "the previous test killed a master").toBeDefined();
      const workspace = "ws-rejoin";
      const load = new WriteLoad(managers(workspace), environments);
      try {
        await load.until("warm-up writes", () => load.acknowledged.length >= 100, 20_000);
        const restartedAt = Date.now();
        await killed!.resume();
        await waitFor("the old master to rejoin as a replica in sync", async () => {
          const role = await killed!.info("replication", "role");
          return (
            role === "slave" && (await killed!.info("replication", "master_link_status")) === "up"
          );
        });
        await load.until(
          "writes after the rejoin",
          () => load.acknowledged.filter((write) => write.at > restartedAt).length >= 200,
          20_000,
        );
      } finally {
        await load.stop();
      }
      await expectNothingLost(load, workspace);
      // The rejoined node holds a copy of its new master's data.
      const topology = await cluster.topology();
      const self = topology.find((node) => node.port === killed!.port);
      const master = topology.find((node) => node.id === self?.masterId);
      expect(master).toBeDefined();
      await waitFor("the replica to catch up", async () => {
        const [mine, theirs] = await Promise.all([
          killed!.cli("dbsize"),
          cluster.node(master!.port).cli("dbsize"),
        ]);
        return mine.trim() === theirs.trim();
      });
    }, 90_000);

    it("waitForReplicas: 1 — WAIT goes to the master of each key written; a frozen replica fails only its master's writes", async () => {
      await cluster.waitForReplicaLinks();
      const topology = await cluster.topology();
      const replica = topology.find((n) => n.flags.includes("slave") && !n.flags.includes("fail"));
      const masters = topology.filter((n) => n.flags.includes("master") && n.slots.length > 0);
      const master = masters.find((n) => n.id === replica?.masterId)!;
      expect(master).toBeDefined();
      const masterOf = (slot: number) => masters.find((n) => serves(n.slots, slot))!.port;
      // A workspace whose environment set (hash tag {workspace}) is not on that master.
      const candidates = Array.from({ length: 20 }, (_, i) => `ws-wait${i}`);
      const setSlots = await keySlots(candidates.map((ws) => `{${ws}}`));
      const index = candidates.findIndex((_, i) => !serves(master.slots, setSlots[i] ?? -1));
      const workspace = candidates[index]!;
      const setMaster = masterOf(setSlots[index]!);
      const slots = await slotsOf(workspace);
      const onMaster = environments.find((e) => serves(master.slots, slots.get(e) ?? -1))!;
      const elsewhere = environments.find((e) => !serves(master.slots, slots.get(e) ?? -1))!;
      const waitCalls = async () =>
        new Map(
          await Promise.all(
            masters.map(async (n) => {
              const stats = await cluster.node(n.port).cli("info", "commandstats");
              return [n.port, Number(/^cmdstat_wait:calls=(\d+)/m.exec(stats)?.[1] ?? 0)] as const;
            }),
          ),
        );
      const store = redisStore({
        url: `redis+cluster://:${PASSWORD}@127.0.0.1:${ports[0]}`,
        prefix,
        timeoutMs: TIMEOUT_MS,
        waitForReplicas: 1,
      });
      const secrets = new SecretManager({ store, masterKey, workspace, environment: "dev" });
      try {
        // Each create: one WAIT on its record's master, one on its environment set's master.
        const before = await waitCalls();
        for (const environment of [onMaster, onMaster, elsewhere, elsewhere]) {
          await secrets.create(`before-${Math.random()}`, { A: "1" }, { environment });
        }
        const after = await waitCalls();
        const expected = new Map(before);
        for (const environment of [onMaster, onMaster, elsewhere, elsewhere]) {
          for (const port of [masterOf(slots.get(environment)!), setMaster]) {
            expected.set(port, (expected.get(port) ?? 0) + 1);
          }
        }
        expect(after).toEqual(expected);

        const frozen = cluster.node(replica!.port);
        frozen.freeze();
        try {
          await expect(
            secrets.create("during", { A: "1" }, { environment: onMaster }),
          ).rejects.toThrow(/confirmed by 0 of 1 replicas/);
          await secrets.create("during", { A: "1" }, { environment: elsewhere });
        } finally {
          frozen.thaw();
        }
        await cluster.waitForReplicaLinks();
        await secrets.create("after", { A: "1" }, { environment: onMaster });
      } finally {
        await store.close();
      }
    }, 60_000);

    it("a master frozen (no answers, no errors): calls time out, the stores re-read the slot map and write to its slots again within the node timeout + 5 s", async () => {
      await cluster.waitForReplicaLinks();
      const workspace = "ws-freeze";
      const load = new WriteLoad(managers(workspace), environments);
      let frozen: ThrowawayRedis | undefined;
      try {
        await load.until("warm-up writes", () => load.acknowledged.length >= 400, 20_000);
        const victim = await busiestMaster(workspace);
        frozen = cluster.node(victim.port);
        frozen.freeze();
        const frozenAt = Date.now();
        await load.until(
          "writes to the frozen master's slots",
          () => stores.every(([label]) => load.firstAfter(frozenAt, victim.environments, label)),
          RECOVERY_BOUND_MS + 5000,
        );
        for (const [label] of stores) {
          const first = load.firstAfter(frozenAt, victim.environments, label);
          const tookMs = (first?.at ?? Number.POSITIVE_INFINITY) - frozenAt;
          console.log(
            `cluster freeze: ${label} store wrote to the frozen master's slots after ${tookMs} ms`,
          );
          expect(tookMs, `${label} store recovery`).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
        }
        await everyOperationWorks(
          workspace,
          [...victim.environments][0]!,
          frozenAt + RECOVERY_BOUND_MS,
        );
      } finally {
        frozen?.thaw();
        await load.stop();
      }
      await expectNothingLost(load, workspace);
    }, 90_000);
  });
}

import { inspect } from "node:util";
import { InvalidError } from "@envkeep/core";
import { describe, expect, it } from "vitest";
import { redisStore } from "../src/index.js";
import { parseRedisUrl, redactUrl } from "../src/redis-url.js";

// The store URL forms, read without any server.
describe("redis store URLs", () => {
  it("redis:// and rediss:// go to node-redis as they are", () => {
    expect(parseRedisUrl("redis://:pw@h:6379/1")).toEqual({
      kind: "client",
      url: "redis://:pw@h:6379/1",
    });
    expect(parseRedisUrl(" rediss://h ")).toEqual({ kind: "client", url: "rediss://h" });
  });

  it("redis+cluster:// lists seed nodes (port 6379 by default), with credentials for every node", () => {
    expect(parseRedisUrl("redis+cluster://u:p%40ss@10.0.0.1:7000,cache-2,[::1]:7002/")).toEqual({
      kind: "cluster",
      tls: false,
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "cache-2", port: 6379 },
        { host: "::1", port: 7002 },
      ],
      credentials: { username: "u", password: "p@ss" },
    });
    expect(parseRedisUrl("rediss+cluster://h:1")).toMatchObject({ kind: "cluster", tls: true });
    expect(parseRedisUrl("redis+cluster://:pw@h")).toMatchObject({
      credentials: { password: "pw" },
    });
  });

  it("redis+sentinel:// names the primary; sentinels (port 26379 by default) may have credentials of their own", () => {
    expect(
      parseRedisUrl(
        "redis+sentinel://:pw@s1,s2:26380/my%20primary/3?sentinelUsername=watch&sentinelPassword=spw",
      ),
    ).toEqual({
      kind: "sentinel",
      tls: false,
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26380 },
      ],
      masterName: "my primary",
      database: 3,
      credentials: { password: "pw" },
      sentinelCredentials: { username: "watch", password: "spw" },
    });
    expect(parseRedisUrl("rediss+sentinel://s1/m")).toMatchObject({
      tls: true,
      database: undefined,
      credentials: {},
      sentinelCredentials: {},
    });
  });

  it("anything else is an InvalidError that never shows a password", () => {
    for (const url of [
      "http://:hunter2@h",
      "redis+cluster://:hunter2@h:99999",
      "redis+cluster://:hunter2@h,,g",
      "redis+cluster://:hunter2@h/2",
      "redis+cluster://:hunter2@h?prefix=x",
      "redis+sentinel://:hunter2@s1",
      "redis+sentinel://:hunter2@s1/m/x",
      "redis+sentinel://:hunter2@s1/m?db=2",
      "redis+sentinel://:hunter2@s1/%E0%A4%A",
      "redis+mesh://:hunter2@h",
    ]) {
      let error: unknown;
      try {
        redisStore({ url });
      } catch (caught) {
        error = caught;
      }
      expect(error, url).toBeInstanceOf(InvalidError);
      expect(inspect(error, { depth: 5 }), url).not.toContain("hunter2");
    }
  });

  it("redactUrl drops passwords (user info and the sentinels' password) and keeps the rest", () => {
    expect(redactUrl("redis://me:hunter2@h:6379/0")).toBe("redis://me@h:6379/0");
    expect(redactUrl("redis+cluster://:hunter2@h1:7000,h2:7001")).toBe(
      "redis+cluster://h1:7000,h2:7001",
    );
    expect(redactUrl("rediss+sentinel://me:hunter2@s1,s2/m/1?sentinelPassword=hunter2")).toBe(
      "rediss+sentinel://me@s1,s2/m/1",
    );
    expect(redactUrl("not a url :hunter2@")).toBe("an unparseable Redis URL");
  });

  it("a store from a cluster or Sentinel URL names its target without the password", async () => {
    const cluster = redisStore({ url: "redis+cluster://:hunter2@127.0.0.1:1", timeoutMs: 200 });
    const sentinel = redisStore({ url: "redis+sentinel://:hunter2@127.0.0.1:1/m", timeoutMs: 200 });
    try {
      for (const store of [cluster, sentinel]) {
        const error = await store.count({ workspace: "w", environment: "e" }).catch((e) => e);
        expect(error.message).toContain("127.0.0.1:1");
        expect(inspect(error, { depth: 5 })).not.toContain("hunter2");
      }
    } finally {
      await cluster.close();
      await sentinel.close();
    }
  });
});

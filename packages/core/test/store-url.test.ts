import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as memoryModule from "../../store-memory/src/index.js";
import { generateMasterKey } from "../src/crypto/master-key.js";
import { InvalidError, StoreError } from "../src/errors.js";
import { SecretManager } from "../src/manager.js";
import { Secret } from "../src/secret.js";
import {
  DEFAULT_STORE_URL,
  openStore,
  parseStoreUrl,
  redactStoreUrl,
  resolveStoreUrl,
  storeUrlHoldsCredentials,
} from "../src/store-url.js";

// @envkeep/core does not depend on any store package, so tests hand it the memory store's source.
const sources: Record<string, unknown> = { "@envkeep/store-memory": memoryModule };
const importModule = async (specifier: string) => {
  if (specifier in sources) return sources[specifier];
  throw Object.assign(new Error(`Cannot find package '${specifier}'`), {
    code: "ERR_MODULE_NOT_FOUND",
  });
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("parseStoreUrl", () => {
  it("memory:", () => {
    expect(parseStoreUrl("memory:")).toMatchObject({ kind: "memory" });
    expect(parseStoreUrl("memory://")).toMatchObject({ kind: "memory" });
    expect(() => parseStoreUrl("memory:foo")).toThrow(InvalidError);
  });

  it("sqlite: paths, sqlite:// paths and options", () => {
    expect(parseStoreUrl("sqlite:./.envkeep/secrets.db")).toMatchObject({
      kind: "sqlite",
      package: "@envkeep/store-sqlite",
      path: "./.envkeep/secrets.db",
    });
    expect(parseStoreUrl("sqlite:/var/lib/x.db")).toMatchObject({ path: "/var/lib/x.db" });
    expect(parseStoreUrl("sqlite:///var/lib/x.db")).toMatchObject({ path: "/var/lib/x.db" });
    expect(parseStoreUrl("sqlite://data/x.db")).toMatchObject({ path: "data/x.db" });
    expect(parseStoreUrl("sqlite:x%20y.db?table=t1&busyTimeoutMs=250")).toMatchObject({
      path: "x y.db",
      table: "t1",
      busyTimeoutMs: 250,
    });
    expect(() => parseStoreUrl("sqlite:")).toThrow(/no database path/);
    expect(() => parseStoreUrl("sqlite:x.db?busyTimeoutMs=soon")).toThrow(/busyTimeoutMs/);
    expect(() => parseStoreUrl("sqlite:x.db?mode=ro")).toThrow(/unknown option "mode"/);
  });

  it("redis:// and rediss://, with ?prefix= taken out of the URL", () => {
    expect(parseStoreUrl("redis://127.0.0.1:6379")).toMatchObject({
      kind: "redis",
      package: "@envkeep/store-redis",
      url: "redis://127.0.0.1:6379",
    });
    const tls = parseStoreUrl("rediss://user:pw@cache.internal:6380/2?prefix=envkeep%3Atest%3A");
    expect(tls).toMatchObject({
      url: "rediss://user:pw@cache.internal:6380/2",
      prefix: "envkeep:test:",
    });
    expect(tls.display).not.toContain("pw");
    expect(parseStoreUrl("redis://h:1?timeoutMs=200&connectTimeoutMs=100")).toMatchObject({
      url: "redis://h:1",
      timeoutMs: 200,
      connectTimeoutMs: 100,
    });
    expect(() => parseStoreUrl("redis://h?timeoutMs=-1")).toThrow(/invalid timeoutMs/);
    expect(() => parseStoreUrl("redis://h?db=1")).toThrow(/unknown option "db"/);
  });

  it("redis+cluster:// and redis+sentinel:// list several hosts; store options are taken out", () => {
    expect(parseStoreUrl("redis://h:1")).toMatchObject({ topology: "server" });
    const cluster = parseStoreUrl(
      "redis+cluster://:pw@10.0.0.1:7000,10.0.0.2,[::1]:7002?prefix=app&timeoutMs=300",
    );
    expect(cluster).toMatchObject({
      kind: "redis",
      package: "@envkeep/store-redis",
      topology: "cluster",
      url: "redis+cluster://:pw@10.0.0.1:7000,10.0.0.2,[::1]:7002",
      prefix: "app",
      timeoutMs: 300,
    });
    expect(cluster.display).not.toContain("pw");
    expect(parseStoreUrl("rediss+cluster://h:1/")).toMatchObject({
      topology: "cluster",
      url: "rediss+cluster://h:1/",
    });
    const sentinel = parseStoreUrl(
      "redis+sentinel://u:pw@s1:26379,s2:26380/mymaster/2?prefix=p&sentinelPassword=spw&connectTimeoutMs=50",
    );
    expect(sentinel).toMatchObject({
      topology: "sentinel",
      url: "redis+sentinel://u:pw@s1:26379,s2:26380/mymaster/2?sentinelPassword=spw",
      prefix: "p",
      connectTimeoutMs: 50,
    });
    expect(sentinel.display).not.toContain("pw");
    expect(parseStoreUrl("REDISS+SENTINEL://s1/m")).toMatchObject({
      topology: "sentinel",
      url: "rediss+sentinel://s1/m",
    });
    for (const [bad, why] of [
      ["redis+sentinel://s1:26379", /name the primary/],
      ["redis+sentinel://s1:26379/m/x", /name the primary/],
      ["redis+cluster://h:7000/3", /only database 0/],
      ["redis+cluster://h:7000?sentinelPassword=x", /unknown option "sentinelPassword"/],
      ["redis+cluster://h:99999", /not a host\[:port\]/],
      ["redis+cluster://h:1,,h:2", /not a host\[:port\]/],
      ["redis+cluster://h:1?waitForReplicas=-1", /invalid waitForReplicas/],
      ["redis://h:1?waitForReplicas=all", /invalid waitForReplicas/],
      ["redis+sentinel://:hunter2@s1/m?db=1", /unknown option "db"/],
      ["redis+mesh://h", /unsupported store URL/],
    ] as const) {
      let caught: unknown;
      try {
        parseStoreUrl(bad);
      } catch (error) {
        caught = error;
      }
      expect(caught, bad).toBeInstanceOf(InvalidError);
      expect((caught as Error).message, bad).toMatch(why);
      expect((caught as Error).message).not.toContain("hunter2");
    }
  });

  it("anything else is an InvalidError listing the supported URLs, without the password", () => {
    for (const bad of ["", "   ", "postgres://u:hunter2@h/db", "/tmp/x.db", "secrets.db"]) {
      let caught: unknown;
      try {
        parseStoreUrl(bad);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidError);
      expect((caught as Error).message).toMatch(/memory:, sqlite:<path>/);
      expect((caught as Error).message).not.toContain("hunter2");
    }
  });

  it("redactStoreUrl hides passwords, lone users (tokens) and credential parameters", () => {
    expect(redactStoreUrl("redis://tok3n@h:6379")).toBe("redis://***@h:6379");
    expect(redactStoreUrl("redis://me:p@ss@h")).toBe("redis://me:***@h");
    expect(redactStoreUrl("redis://h?password=pw&prefix=x&authToken=t")).toBe(
      "redis://h?password=***&prefix=x&authToken=***",
    );
    expect(redactStoreUrl("redis://:hunter2@h:6379/0")).toBe("redis://:***@h:6379/0");
    expect(redactStoreUrl("rediss://me:hunter2@h")).toBe("rediss://me:***@h");
    expect(redactStoreUrl("redis://h:6379")).toBe("redis://h:6379");
    expect(redactStoreUrl("redis+cluster://:hunter2@h1:7000,h2:7001")).toBe(
      "redis+cluster://:***@h1:7000,h2:7001",
    );
    expect(
      redactStoreUrl("rediss+sentinel://me:hunter2@s1,s2/m?sentinelPassword=s3cret&prefix=x"),
    ).toBe("rediss+sentinel://me:***@s1,s2/m?sentinelPassword=***&prefix=x");
    expect(redactStoreUrl("sqlite:./x.db")).toBe("sqlite:./x.db");
  });
});

describe("resolveStoreUrl", () => {
  it("explicit → ENVKEEP_STORE → the embedded SQLite default", () => {
    expect(DEFAULT_STORE_URL).toBe("sqlite:./.envkeep/secrets.db");
    expect(resolveStoreUrl(undefined, {})).toBe(DEFAULT_STORE_URL);
    expect(resolveStoreUrl(undefined, { ENVKEEP_STORE: "" })).toBe(DEFAULT_STORE_URL);
    expect(resolveStoreUrl(undefined, { ENVKEEP_STORE: "memory:" })).toBe("memory:");
    expect(resolveStoreUrl("redis://h", { ENVKEEP_STORE: "memory:" })).toBe("redis://h");
  });
});

describe("storeUrlHoldsCredentials", () => {
  it("a user, a password or a credential-looking parameter: yes", () => {
    for (const url of [
      "redis://:pw@cache:6379/0",
      "rediss://user:pw@cache:6380/2?prefix=app:",
      "redis://token-as-user@cache",
      "redis://cache?password=pw",
      "redis://cache?auth_token=t",
      " redis://:pw@cache ",
      "redis+cluster://:pw@c1:7000,c2:7001",
      "redis+cluster://token@c1",
      "redis+sentinel://s1,s2/m?sentinelPassword=pw",
      "redis+sentinel://s1,s2/m?sentinelUsername=ops",
      "rediss+sentinel://u:pw@s1/m",
    ]) {
      expect([url, storeUrlHoldsCredentials(url)]).toEqual([url, true]);
    }
  });

  it("a URL that can't be parsed: yes, what it holds can't be told", () => {
    for (const url of ["postgres://cache/db", "redis://cache?db=1", "sqlite:", "memory:x", "x"]) {
      expect([url, storeUrlHoldsCredentials(url)]).toEqual([url, true]);
    }
  });

  it("memory:, SQLite paths, Redis without user info, or nothing: no", () => {
    for (const url of [
      "memory:",
      "sqlite:./.envkeep/secrets.db",
      "sqlite:///var/lib/a@b.db?table=t&busyTimeoutMs=10",
      "redis://cache:6379/0?prefix=app:&timeoutMs=100&connectTimeoutMs=50",
      "redis+cluster://c1:7000,c2:7001?prefix=app",
      "redis+sentinel://s1:26379,s2:26379/mymaster/0?timeoutMs=100",
      "",
      "  ",
    ]) {
      expect([url, storeUrlHoldsCredentials(url)]).toEqual([url, false]);
    }
  });
});

describe("openStore", () => {
  it("loads the store package on demand; each call is a new store", async () => {
    const a = await openStore("memory:", { importModule });
    const b = await openStore("memory:", { importModule });
    expect(a.name).toBe("memory");
    expect(a).not.toBe(b);
    await a.close();
    await b.close();
  });

  it("by default resolves the store package as installed for the working directory", async () => {
    // The workspace root depends on every store package, as a host application would.
    const store = await openStore("memory:");
    expect(store.name).toBe("memory");
    await store.close();
  });

  it("a store package that is not installed → InvalidError saying what to install", async () => {
    // A real failed resolution: the same package name with a suffix that no registry holds.
    const real = (specifier: string) => import(/* @vite-ignore */ `${specifier}-not-installed`);
    for (const [url, pkg] of [
      ["sqlite:./x.db", "@envkeep/store-sqlite"],
      ["redis://127.0.0.1:6379", "@envkeep/store-redis"],
    ] as const) {
      await expect(openStore(url, { importModule: real })).rejects.toThrow(
        new InvalidError(`the store URL "${url}" needs the package ${pkg}: install ${pkg}`),
      );
    }
  });

  it("a package without the factory, or a factory that throws, is reported by name", async () => {
    await expect(openStore("memory:", { importModule: async () => ({}) })).rejects.toThrow(
      /@envkeep\/store-memory does not export memoryStore\(\)/,
    );
    const throwing = async () => ({
      memoryStore: () => {
        throw new Error("backend down");
      },
    });
    await expect(openStore("memory:", { importModule: throwing })).rejects.toThrow(StoreError);
  });

  it("hands redisStore the Redis URL (any form) without the store options", async () => {
    const opened: unknown[] = [];
    const fakeRedis = async () => ({
      redisStore: (options: unknown) => {
        opened.push(options);
        return { name: "redis", close: async () => {} };
      },
    });
    for (const url of [
      "redis://:pw@h:6379/1?prefix=p&timeoutMs=100",
      "redis+cluster://:pw@c1:7000,c2:7001?prefix=p&timeoutMs=100&waitForReplicas=1",
      "redis+sentinel://:pw@s1,s2:26380/m?prefix=p&timeoutMs=100&sentinelPassword=spw",
    ]) {
      await openStore(url, { importModule: fakeRedis });
    }
    expect(opened).toEqual([
      { url: "redis://:pw@h:6379/1", prefix: "p", timeoutMs: 100 },
      {
        url: "redis+cluster://:pw@c1:7000,c2:7001",
        prefix: "p",
        timeoutMs: 100,
        waitForReplicas: 1,
      },
      {
        url: "redis+sentinel://:pw@s1,s2:26380/m?sentinelPassword=spw",
        prefix: "p",
        timeoutMs: 100,
      },
    ]);
  });

  it("a SQLite URL opens the store with its path and table; the store, not openStore, makes directories", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "envkeep-store-url-"));
    try {
      const opened: unknown[] = [];
      const fakeSqlite = async () => ({
        sqliteStore: (options: unknown) => {
          opened.push(options);
          return { name: "sqlite", close: async () => {} };
        },
      });
      const file = path.join(dir, "a", "b", "secrets.db");
      await openStore(`sqlite:${file}?table=t`, { importModule: fakeSqlite });
      expect(opened).toEqual([{ path: file, table: "t" }]);
      // The store makes the directories itself (0700, one level at a time; see store-sqlite's
      // tests), never openStore: Node 20's recursive mkdir loops forever under /proc.
      const { existsSync } = await import("node:fs");
      expect(existsSync(path.dirname(file))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SecretManager.open", () => {
  it("opens the store a URL names and closes it with the manager", async () => {
    const secrets = await SecretManager.open({
      store: "memory:",
      importModule,
      masterKey: generateMasterKey(),
      environment: "dev",
    });
    expect(secrets.store.name).toBe("memory");
    await secrets.create("s", { A: "1" });
    expect(await secrets.resolve([secrets.fromName("s")])).toEqual({ A: "1" });
    await secrets.close();
  });

  it("uses ENVKEEP_STORE when no store is given", async () => {
    vi.stubEnv("ENVKEEP_STORE", "memory:");
    vi.stubEnv("ENVKEEP_MASTER_KEY", generateMasterKey());
    const secrets = await SecretManager.open({ importModule });
    expect(secrets.store.name).toBe("memory");
    await secrets.close();
  });

  it("accepts a store object as well", async () => {
    const store = await openStore("memory:", { importModule });
    const secrets = await SecretManager.open({ store, masterKey: generateMasterKey() });
    expect(secrets.store).toBe(store);
    expect(await secrets.resolve([Secret.fromObject({ A: "1" })])).toEqual({ A: "1" });
  });

  it("checks the master key, workspace and environment before opening the store", async () => {
    vi.stubEnv("ENVKEEP_MASTER_KEY", "");
    vi.stubEnv("ENVKEEP_MASTER_KEYS", "");
    const load = vi.fn(importModule);
    await expect(SecretManager.open({ store: "memory:", importModule: load })).rejects.toThrow(
      /no master key/,
    );
    await expect(
      SecretManager.open({
        store: "memory:",
        importModule: load,
        masterKey: generateMasterKey(),
        environment: "en-bad",
      }),
    ).rejects.toThrow(InvalidError);
    await expect(
      SecretManager.open({ store: "nope:", importModule: load, masterKey: generateMasterKey() }),
    ).rejects.toThrow(/unsupported store URL/);
    expect(load).not.toHaveBeenCalled();
  });
});

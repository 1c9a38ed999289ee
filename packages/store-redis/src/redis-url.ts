import { InvalidError } from "@envkeep/core";

/** One host and port of a cluster or Sentinel URL. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** A user and password from a URL's user info, read as node-redis reads a `redis://` URL's. */
export interface RedisCredentials {
  username?: string;
  password?: string;
}

/**
 * What a store URL asks for: one server, a Redis Cluster (seed nodes), or a primary found through
 * Redis Sentinel. Holds credentials: never put one in a message (use {@link redactUrl}).
 */
export type RedisTarget =
  | { kind: "client"; url: string }
  | {
      kind: "cluster";
      tls: boolean;
      nodes: RedisNodeAddress[];
      credentials: RedisCredentials;
    }
  | {
      kind: "sentinel";
      tls: boolean;
      sentinels: RedisNodeAddress[];
      masterName: string;
      database: number | undefined;
      /** For the primary and replicas. */
      credentials: RedisCredentials;
      /** For the sentinels themselves (`?sentinelUsername=…&sentinelPassword=…`). */
      sentinelCredentials: RedisCredentials;
    };

/** The URL forms the store reads, for messages. */
export const URL_FORMS =
  "redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel://";

const MULTI_HOST =
  /^(rediss?)\+(cluster|sentinel):\/\/(?:([^/?#]*)@)?([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i;
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[^\s:/?#[\]@,]+)(?::(\d{1,5}))?$/i;

/** Drops the password (and keeps everything else but the query) of a Redis URL, for messages. */
export function redactUrl(url: string): string {
  const multi = MULTI_HOST.exec(url.trim());
  if (multi) {
    const [, tls, topology, userinfo, hosts, path] = multi;
    const colon = userinfo?.indexOf(":") ?? -1;
    const user = userinfo ? (colon === -1 ? userinfo : userinfo.slice(0, colon)) : "";
    return `${tls}+${topology}://${user ? `${user}@` : ""}${hosts}${path}`.replace(/\/$/, "");
  }
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "an unparseable Redis URL";
  }
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new InvalidError(`redisStore: the ${what} in the url is not valid percent-encoding`);
  }
}

function credentialsOf(userinfo: string | undefined): RedisCredentials {
  if (!userinfo) return {};
  const colon = userinfo.indexOf(":");
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), "user");
  const credentials: RedisCredentials = {};
  if (username) credentials.username = username;
  const password = colon === -1 ? "" : decode(userinfo.slice(colon + 1), "password");
  if (password) credentials.password = password;
  return credentials;
}

function addressesOf(hosts: string, defaultPort: number, shown: string): RedisNodeAddress[] {
  const nodes: RedisNodeAddress[] = [];
  for (const entry of hosts.split(",")) {
    const match = HOST_PORT.exec(entry.trim());
    const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
    if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new InvalidError(
        `redisStore: ${JSON.stringify(entry)} is not a host[:port] in the url ${shown}`,
      );
    }
    nodes.push({ host: match[1].replace(/^\[(.*)\]$/, "$1"), port });
  }
  return nodes;
}

/**
 * Reads a store URL:
 *
 * - `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS): one server;
 * - `redis+cluster://[user:password@]host[:port][,host[:port]…]`, `rediss+cluster://…`: a Redis
 *   Cluster, through any of its nodes (port 6379 by default);
 * - `redis+sentinel://[user:password@]host[:port][,host[:port]…]/<primary name>[/db]`,
 *   `rediss+sentinel://…`: the primary that these sentinels (port 26379 by default) name, with
 *   `?sentinelUsername=…&sentinelPassword=…` when the sentinels want credentials of their own
 *   (the user info is for the primary and replicas).
 *
 * @throws {InvalidError} for anything else; the message never shows a password.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const text = url.trim();
  const shown = redactUrl(text);
  if (/^rediss?:\/\//i.test(text)) return { kind: "client", url: text };
  const multi = MULTI_HOST.exec(text);
  if (!multi) {
    if (/^rediss?\+(cluster|sentinel):/i.test(text)) {
      throw new InvalidError(`redisStore: the url ${shown} is not a valid Redis URL`);
    }
    throw new InvalidError(`redisStore: the url must start with ${URL_FORMS} (got ${shown})`);
  }
  const [, scheme = "", topology = "", userinfo, hosts = "", path = "", query = ""] = multi;
  const tls = scheme.toLowerCase() === "rediss";
  const params = new URLSearchParams(query);
  const allowed =
    topology.toLowerCase() === "sentinel" ? ["sentinelUsername", "sentinelPassword"] : [];
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      throw new InvalidError(
        `redisStore: unknown option ${JSON.stringify(key)} in the url ${shown}${allowed.length ? ` (use ${allowed.join(", ")})` : ""}`,
      );
    }
  }
  const credentials = credentialsOf(userinfo);
  if (topology.toLowerCase() === "cluster") {
    if (!/^\/?0?$/.test(path)) {
      throw new InvalidError(
        `redisStore: a cluster has only database 0, so the url ${shown} has no path`,
      );
    }
    return { kind: "cluster", tls, nodes: addressesOf(hosts, 6379, shown), credentials };
  }
  const [, name, db, ...extra] = path.split("/");
  if (!name || extra.length > 0 || (db !== undefined && !/^\d+$/.test(db))) {
    throw new InvalidError(
      `redisStore: a Sentinel url names its primary, as in redis+sentinel://host:26379/mymaster[/db] (got ${shown})`,
    );
  }
  const sentinelCredentials: RedisCredentials = {};
  const sentinelUsername = params.get("sentinelUsername");
  const sentinelPassword = params.get("sentinelPassword");
  if (sentinelUsername) sentinelCredentials.username = sentinelUsername;
  if (sentinelPassword !== null) sentinelCredentials.password = sentinelPassword;
  return {
    kind: "sentinel",
    tls,
    sentinels: addressesOf(hosts, 26_379, shown),
    masterName: decode(name, "primary name"),
    database: db === undefined ? undefined : Number(db),
    credentials,
    sentinelCredentials,
  };
}

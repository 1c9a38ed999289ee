/**
 * A real Redis for the CLI tests: `REDIS_URL`, else 127.0.0.1:6379 when it answers, else a
 * throw-away `redis-server` on a free port (stopped by the returned `stop`).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createConnection, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

function ping(port: number, host: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

/** A loopback port nothing listens on (free when it was asked for). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  if (await ping(6379, "127.0.0.1")) return { url: "redis://127.0.0.1:6379", stop: async () => {} };
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const deadline = Date.now() + 10_000;
  while (!(await ping(port, "127.0.0.1"))) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error("redis-server did not start");
    await sleep(50);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGTERM");
    },
  };
}

// Every key under a prefix with every string it holds (strings, hashes, sorted sets, sets, lists).
const DUMP_SCRIPT = `
local out = {}
for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do
  table.insert(out, k)
  local t = redis.call('TYPE', k).ok
  local values = {}
  if t == 'string' then values = { redis.call('GET', k) }
  elseif t == 'hash' then values = redis.call('HGETALL', k)
  elseif t == 'zset' then values = redis.call('ZRANGE', k, 0, -1)
  elseif t == 'set' then values = redis.call('SMEMBERS', k)
  elseif t == 'list' then values = redis.call('LRANGE', k, 0, -1) end
  for _, v in ipairs(values) do table.insert(out, v) end
end
return out`;

/** Everything Redis holds under `prefix`, as text. */
export async function dumpRedisPrefix(url: string, prefix: string): Promise<string> {
  const { stdout } = await run("redis-cli", ["-u", url, "--raw", "EVAL", DUMP_SCRIPT, "0", prefix]);
  return stdout;
}

/** Deletes every key under `prefix`. */
export async function clearRedisPrefix(url: string, prefix: string): Promise<void> {
  await run("redis-cli", [
    "-u",
    url,
    "EVAL",
    "for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do redis.call('DEL', k) end return 0",
    "0",
    prefix,
  ]);
}

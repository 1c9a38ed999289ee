import { createHash } from "node:crypto";

/**
 * The atomic parts of the store, as Lua scripts. Each runs as one step on the server: no other
 * client ever sees a record without its index and metadata entries, or the reverse.
 *
 * Every script gets the same three keys of one scope (one hash tag, so one cluster slot):
 * `KEYS[1]` the record, `KEYS[2]` the metadata hash, `KEYS[3]` the index sorted set.
 * Metadata entries are JSON `[secretId, version (string), index member]`.
 *
 * The writing scripts end with two more ARGV, a change channel and a message: when the channel is
 * not empty, a write that changed something publishes the message there in the same atomic step
 * (see `changes.ts`), so no reader can see the write before its announcement is on its way.
 */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha1: createHash("sha1").update(source).digest("hex") };
}

/**
 * ARGV: name, index member, serialized record, metadata, environment, change channel, change
 * message. Returns 1 when stored, 0
 * when taken. On a single server (not a cluster) `KEYS[4]` is the workspace's environment set, so
 * that the environment is recorded in the same step; on a cluster that set lives in another slot
 * and the store adds to it before running this script.
 */
export const CREATE_SCRIPT = script(
  "create",
  `
if KEYS[4] then redis.call('SADD', KEYS[4], ARGV[5]) end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 or redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return 1
`,
);

/**
 * ARGV: name, index member, serialized record, metadata, expected secretId, expected version,
 * change channel, change message.
 * Returns 1 when replaced, 0 when missing or another secretId/version.
 */
export const REPLACE_SCRIPT = script(
  "replace",
  `
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return 0 end
local meta = cjson.decode(current)
if meta[1] ~= ARGV[5] or meta[2] ~= ARGV[6] then return 0 end
if meta[3] ~= ARGV[2] then
  redis.call('ZREM', KEYS[3], meta[3])
  redis.call('ZADD', KEYS[3], 0, ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[7], ARGV[8]) end
return 1
`,
);

/**
 * ARGV: name, change channel, change message. Removes the record, its metadata entry and the index member that entry names,
 * whatever state they are in (a record without metadata, metadata that is not JSON: someone
 * edited the keys). Returns 1 when anything was removed, 0 when there was nothing.
 */
export const DELETE_SCRIPT = script(
  "delete",
  `
local removed = redis.call('DEL', KEYS[1])
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok and type(meta) == 'table' and type(meta[3]) == 'string' then
    redis.call('ZREM', KEYS[3], meta[3])
  end
  redis.call('HDEL', KEYS[2], ARGV[1])
  removed = 1
end
if removed == 1 and ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return removed
`,
);

/**
 * KEYS[1]: the index. ARGV: record key prefix, ZRANGE max bound, count. One atomic read of up to
 * `count` index members and the records they name, so no entry reflects a write the others
 * don't. Returns `[member, status, value, …]`: status `"ok"` with the record's stored text,
 * `"missing"` when the member names no record, `"wrongtype"` when that key is not a string.
 * The record keys share the index's hash tag, so this runs unchanged on a cluster.
 */
export const LIST_SCRIPT = script(
  "list",
  `
local members = redis.call('ZRANGE', KEYS[1], ARGV[2], '-', 'BYLEX', 'REV', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, member in ipairs(members) do
  local sep = string.find(member, ':', 1, true)
  local name = sep and string.sub(member, sep + 1) or member
  local value = redis.pcall('GET', ARGV[1] .. name)
  out[#out + 1] = member
  if type(value) == 'table' and value.err then
    out[#out + 1] = 'wrongtype'
    out[#out + 1] = ''
  elseif not value then
    out[#out + 1] = 'missing'
    out[#out + 1] = ''
  else
    out[#out + 1] = 'ok'
    out[#out + 1] = value
  end
end
return out
`,
);

/** The metadata entry of a record, as the scripts read it. */
export function metaEntry(secretId: string, version: number, member: string): string {
  return JSON.stringify([secretId, String(version), member]);
}

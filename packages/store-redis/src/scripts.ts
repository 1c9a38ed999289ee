import { createHash } from "node:crypto";

/**
 * The atomic parts of the store, as Lua scripts. Each runs as one step on the server: no other
 * client ever sees a record without its index and metadata entries, or the reverse.
 *
 * Every script gets the same four keys of one scope (one hash tag, so one cluster slot):
 * `KEYS[1]` the record, `KEYS[2]` the metadata hash, `KEYS[3]` the index sorted set, `KEYS[4]`
 * the secret's history hash (version → stored form of that old version).
 * Metadata entries are JSON `[secretId, version (string), index member]`.
 *
 * A script that fails half-way keeps the writes it made (Redis does not roll scripts back), so
 * every check comes before the first write, and a history key of the wrong type is dropped
 * before it is written to.
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
 * when taken; a new secret starts with no history. On a single server (not a cluster) `KEYS[5]`
 * is the workspace's environment set, so that the environment is recorded in the same step; on a
 * cluster that set lives in another slot and the store adds to it before running this script.
 */
export const CREATE_SCRIPT = script(
  "create",
  `
if KEYS[5] then redis.call('SADD', KEYS[5], ARGV[5]) end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 or redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
redis.call('DEL', KEYS[4])
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return 1
`,
);

/**
 * ARGV: name, index member, serialized record, metadata, expected secretId, expected version,
 * versions to keep (`""`: leave the history alone), the replaced version's serialized form,
 * change channel, change message.
 * Returns 1 when replaced, 0 when missing or another secretId/version (nothing changed). With a
 * keep, the replaced version goes into the history under the expected version (when keep > 0)
 * and versions `<= expected - keep` are dropped, in the same step.
 */
export const REPLACE_SCRIPT = script(
  "replace",
  `
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return 0 end
local ok, meta = pcall(cjson.decode, current)
if not ok or type(meta) ~= 'table' or meta[1] ~= ARGV[5] or meta[2] ~= ARGV[6] then return 0 end
local keep = tonumber(ARGV[7])
if keep and redis.call('TYPE', KEYS[4]).ok ~= 'hash' then redis.call('DEL', KEYS[4]) end
if meta[3] ~= ARGV[2] then
  if type(meta[3]) == 'string' then redis.call('ZREM', KEYS[3], meta[3]) end
  redis.call('ZADD', KEYS[3], 0, ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
if keep then
  local replaced = tonumber(ARGV[6])
  if keep > 0 then
    redis.call('HSET', KEYS[4], ARGV[6], ARGV[8])
    -- the usual case: exactly the one version the new entry pushes out
    redis.call('HDEL', KEYS[4], string.format('%d', replaced - keep))
  end
  if redis.call('HLEN', KEYS[4]) > keep then
    for _, field in ipairs(redis.call('HKEYS', KEYS[4])) do
      local version = tonumber(field)
      if not version or version <= replaced - keep then redis.call('HDEL', KEYS[4], field) end
    end
  end
end
if ARGV[9] ~= '' then redis.call('PUBLISH', ARGV[9], ARGV[10]) end
return 1
`,
);

/**
 * KEYS[1]: a secret's history. ARGV: a version, or \`""\` for all. Returns \`[version, text, …]\`
 * in any order; nothing when the key is missing or not a hash.
 */
export const HISTORY_SCRIPT = script(
  "history",
  `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return {} end
if ARGV[1] ~= '' then
  local text = redis.call('HGET', KEYS[1], ARGV[1])
  if not text then return {} end
  return { ARGV[1], text }
end
return redis.call('HGETALL', KEYS[1])
`,
);

/**
 * KEYS[1]: a secret's history. ARGV: version, expected sealed form, new serialized form. Returns
 * 1 when that version's entry held the expected sealed form and was replaced, else 0.
 */
export const REPLACE_OLD_VERSION_SCRIPT = script(
  "replaceOldVersion",
  `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
local text = redis.call('HGET', KEYS[1], ARGV[1])
if not text then return 0 end
local ok, stored = pcall(cjson.decode, text)
if not ok or type(stored) ~= 'table' or type(stored.value) ~= 'table' or stored.value.sealed ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`,
);

/**
 * ARGV: name, change channel, change message. Removes the record, its history, its metadata entry and the index member that entry names,
 * whatever state they are in (a record without metadata, metadata that is not JSON: someone
 * edited the keys). Returns 1 when anything was removed, 0 when there was nothing.
 */
export const DELETE_SCRIPT = script(
  "delete",
  `
local removed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[4])
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

import { keyvRecordCodec, type RawBackend } from "@envkeep/store-test-suite";
import type { RedisClientLike, RedisStore } from "../../src/index.js";
import { historyKey, indexMember, recordKey, scopeKeys } from "../../src/keys.js";
import { metaEntry } from "../../src/scripts.js";

interface RawCommands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
  hGet(key: string, field: string): Promise<string | null>;
  hSet(key: string, field: string, value: string): Promise<number>;
  zAdd(key: string, member: { score: number; value: string }): Promise<number>;
  zRem(key: string, member: string): Promise<number>;
}

/**
 * Raw access to a Redis store's keys, as someone with Redis access but no master key has: the
 * record string, and the metadata hash and index members a record there needs to be listed
 * (written consistently where the record parses, so the store itself is fooled as far as it can be).
 */
export function redisRawBackend(client: RedisClientLike): RawBackend {
  const redis = client as unknown as RawCommands;
  return {
    readText: async (store, ref) =>
      (await redis.get(recordKey((store as RedisStore).prefix, ref))) ?? undefined,
    writeText: async (store, ref, text) => {
      const prefix = (store as RedisStore).prefix;
      const keys = scopeKeys(prefix, ref);
      await redis.set(recordKey(prefix, ref), text);
      const record = keyvRecordCodec.decode(text);
      const createdAt = Number.isSafeInteger(record?.createdAt) ? (record?.createdAt as number) : 0;
      const member = indexMember(createdAt, ref.name);
      const previous = await redis.hGet(keys.meta, ref.name);
      if (previous) {
        try {
          await redis.zRem(keys.index, JSON.parse(previous)[2]);
        } catch {}
      }
      await redis.hSet(
        keys.meta,
        ref.name,
        metaEntry(String(record?.secretId), Number(record?.version), member),
      );
      await redis.zAdd(keys.index, { score: 0, value: member });
    },
    readHistoryText: async (store, ref, version) =>
      (await redis.hGet(historyKey((store as RedisStore).prefix, ref), String(version))) ??
      undefined,
    writeHistoryText: async (store, ref, version, text) => {
      await redis.hSet(historyKey((store as RedisStore).prefix, ref), String(version), text);
    },
    ...keyvRecordCodec,
  };
}

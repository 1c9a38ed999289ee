/**
 * The memory store remembers what each stored text parses to. These tests attack that memo: an
 * edit of the backing map (even one of the same length) is read as edited, and no caller can
 * change what the store holds through an entry it was given.
 */
import { isUnreadable, type StoredRecord } from "@envkeep/core";
import { describe, expect, it } from "vitest";
import { memoryKey, memoryStore } from "../src/index.js";

const ref = { workspace: "w", environment: "e", name: "db" };
const record: StoredRecord = {
  ...ref,
  secretId: "sec_1",
  keys: ["A", "B"],
  createdAt: 1,
  updatedAt: 1,
  version: 1,
  sealed: "sealed-text",
};

function storeWith(value: StoredRecord) {
  const backing = new Map<string, string>();
  const store = memoryStore({ backing, records: [value] });
  return { store, backing, key: memoryKey(ref) };
}

describe("memory store: remembered parses", () => {
  it("reads an edit of the backing map, even one of the same length", async () => {
    const { store, backing, key } = storeWith(record);
    expect((await store.get(ref)) as StoredRecord).toMatchObject({ sealed: "sealed-text" });
    const text = backing.get(key) as string;
    const edited = text.replace("sealed-text", "sealed-TEXT");
    expect(edited.length).toBe(text.length);
    backing.set(key, edited);
    expect((await store.get(ref)) as StoredRecord).toMatchObject({ sealed: "sealed-TEXT" });
    backing.set(key, "{not json");
    const broken = await store.get(ref);
    expect(broken && isUnreadable(broken)).toBe(true);
    backing.delete(key);
    expect(await store.get(ref)).toBeUndefined();
    backing.set(key, text);
    expect((await store.get(ref)) as StoredRecord).toMatchObject({ sealed: "sealed-text" });
  });

  it("an entry it gave out cannot change what it holds", async () => {
    const { store } = storeWith(record);
    const first = (await store.get(ref)) as StoredRecord & { keys: string[] };
    first.sealed = "changed by the caller";
    expect(() => first.keys.push("C")).toThrow(TypeError);
    const again = (await store.get(ref)) as StoredRecord;
    expect(again.sealed).toBe("sealed-text");
    expect(again.keys).toEqual(["A", "B"]);
    expect(again).not.toBe(first);
  });

  it("snapshot() gives copies the caller may change", async () => {
    const { store } = storeWith(record);
    await store.get(ref);
    const [copy] = store.snapshot() as (StoredRecord & { keys: string[] })[];
    copy?.keys.push("C");
    expect(((await store.get(ref)) as StoredRecord).keys).toEqual(["A", "B"]);
  });
});

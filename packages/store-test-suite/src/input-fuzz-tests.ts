import {
  AlreadyExistsError,
  InvalidError,
  NotFoundError,
  type SecretManager,
  SecretsError,
} from "@envkeep/core";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { type StoreSuiteContext, uniqueName } from "./context.js";
import type { DefineTest } from "./define.js";
import { fuzzRuns, within } from "./fuzz-runs.js";

/** Names: mostly a few valid ones (so that operations meet), plus near-valid and anything. */
const nameLike = fc.oneof(
  { weight: 6, arbitrary: fc.constant("s1") },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z0-9._-]{1,70}$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "en-x",
      "EN-x",
      "ap-abcdefghijklmnopqrstuv",
      ".",
      "-",
      "x/y",
      "a b",
      "",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
);
/** Keys: a few valid identifiers, JavaScript's own names, near-valid ones and anything. */
const keyLike = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("A", "B", "__proto__", "constructor", "toString") },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/) },
  { weight: 1, arbitrary: fc.constantFrom("hasOwnProperty", "valueOf", "1A", "A-B", "") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
);
/** Values: anything, including lone surrogates, NUL and non-strings. */
const valueLike = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(1, null, undefined, true, {}, [], "x".repeat(32_769)),
  },
);
/** Entries built with JSON.parse, so `__proto__` is an own key as in input from a file. */
function ownEntries(pairs: [string, unknown][]): Record<string, unknown> {
  const entries: Record<string, unknown> = JSON.parse("{}");
  for (const [key, value] of pairs) {
    Object.defineProperty(entries, key, {
      value,
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return entries;
}
const stringValue = fc.string({ unit: "binary", maxLength: 40 });
/** Mostly well-formed entries (so that writes succeed and meet), sometimes hostile ones. */
const entriesLike = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.array(fc.tuple(keyLike, stringValue), { maxLength: 4 }).map(ownEntries),
  },
  {
    weight: 1,
    arbitrary: fc.array(fc.tuple(keyLike, valueLike), { maxLength: 6 }).map(ownEntries),
  },
);
/** Mostly well-formed changes (a string sets, null removes), sometimes hostile ones. */
const changesLike = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .array(fc.tuple(keyLike, fc.option(stringValue, { nil: null, freq: 3 })), { maxLength: 4 })
      .map(ownEntries),
  },
  {
    weight: 1,
    arbitrary: fc.array(fc.tuple(keyLike, valueLike), { maxLength: 6 }).map(ownEntries),
  },
);
/** Environments: mostly two valid ones, sometimes anything a name can be. */
const environmentLike = fc.oneof(
  { weight: 6, arbitrary: fc.constant("dev") },
  { weight: 1, arbitrary: nameLike },
);

type Operation =
  | { op: "create"; name: string; environment: string; entries: Record<string, unknown> }
  | { op: "update"; name: string; environment: string; entries: Record<string, unknown> }
  | { op: "read"; name: string; environment: string; required: string[] }
  | { op: "delete"; name: string; environment: string }
  | { op: "list"; environment: string; maxObjects: unknown; createdBefore: unknown };

/** Writes weigh triple, so that reads, updates and deletes mostly find something. */
const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("create" as const),
      name: nameLike,
      environment: environmentLike,
      entries: entriesLike,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("update" as const),
      name: nameLike,
      environment: environmentLike,
      entries: changesLike,
    }),
  },
  fc.record({
    op: fc.constant("read" as const),
    name: nameLike,
    environment: environmentLike,
    required: fc.array(keyLike, { maxLength: 2 }),
  }),
  fc.record({ op: fc.constant("delete" as const), name: nameLike, environment: environmentLike }),
  fc.record({
    op: fc.constant("list" as const),
    environment: environmentLike,
    maxObjects: fc.constantFrom<unknown>(undefined, 0, 1, 5, -1, 1.5, 1e20, Number.NaN, "3", null),
    createdBefore: fc.constantFrom<unknown>(
      undefined,
      new Date(),
      "2026-01-01",
      "not a date",
      5,
      new Date(Number.NaN),
    ),
  }),
);

/** What the store holds for a workspace: every environment's (name, secretId, version). */
async function snapshot(secrets: SecretManager): Promise<string> {
  const environments = (await secrets.store.environments(secrets.workspace)).sort();
  const parts: unknown[] = [];
  for (const environment of environments) {
    const infos = await secrets.list({ environment });
    parts.push([environment, infos.map((info) => [info.name, info.secretId, info.version])]);
  }
  return JSON.stringify(parts);
}

const stringsIn = (entries: Record<string, unknown>) =>
  Object.values(entries).filter((value): value is string => typeof value === "string");

/**
 * A fuzzer of names, keys, values and options: every call either succeeds (and what was stored
 * reads back exactly) or fails with a typed envkeep error that holds no value, in bounded time,
 * with nothing stored changed.
 */
export function defineInputFuzzTests(ctx: StoreSuiteContext, test: DefineTest): void {
  describe("input fuzzer", () => {
    test("random names, keys, values and options: typed errors, nothing changed on failure, exact round trips", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(operation, { minLength: 4, maxLength: 16 }),
          async (operations) => {
            const secrets = ctx.manager({ workspace: uniqueName("in") });
            for (const operation of operations) {
              const before = await snapshot(secrets);
              let failure: unknown;
              try {
                await within(10_000, operation.op, () => perform(secrets, operation));
              } catch (error) {
                failure = error;
              }
              if (failure === undefined) continue;
              if (!(failure instanceof SecretsError)) throw failure;
              expect(
                [InvalidError, NotFoundError, AlreadyExistsError].some((t) => failure instanceof t),
                String(failure),
              ).toBe(true);
              if ("entries" in operation) {
                // Messages name secrets, environments and keys; never a value (unless the same
                // text was also given as one of those names).
                const names = [
                  operation.name,
                  operation.environment,
                  ...Object.keys(operation.entries),
                ];
                for (const value of stringsIn(operation.entries)) {
                  if (value.length < 6 || names.some((name) => name.includes(value))) continue;
                  expect(failure.message).not.toContain(value);
                }
              }
              expect(await snapshot(secrets), `${operation.op} failed but changed the store`).toBe(
                before,
              );
            }
          },
        ),
        { numRuns: fuzzRuns(80) },
      );
    }, 300_000);
  });
}

async function perform(secrets: SecretManager, operation: Operation): Promise<void> {
  switch (operation.op) {
    case "create": {
      const { name, environment, entries } = operation;
      await secrets.create(name, entries as Record<string, string>, { environment });
      const read = await secrets.resolve([secrets.fromName(name, { environment })]);
      expect(Object.entries(read).sort()).toEqual(Object.entries(entries).sort());
      return;
    }
    case "update": {
      const { name, environment, entries } = operation;
      const before = await secrets.resolve([secrets.fromName(name, { environment })]);
      await secrets.update(name, entries as Record<string, string | null>, { environment });
      const expected = new Map(Object.entries(before));
      for (const [key, value] of Object.entries(entries)) {
        if (value === null) expected.delete(key);
        else if (value !== undefined) expected.set(key, value as string);
      }
      const read = await secrets.resolve([secrets.fromName(name, { environment })]);
      expect(Object.entries(read).sort()).toEqual([...expected].sort());
      return;
    }
    case "read": {
      const { name, environment, required } = operation;
      await secrets.resolve([secrets.fromName(name, { environment, requiredKeys: required })]);
      return;
    }
    case "delete":
      await secrets.delete(operation.name, { environment: operation.environment });
      return;
    case "list":
      await secrets.list({
        environment: operation.environment,
        maxObjects: operation.maxObjects as number,
        createdBefore: operation.createdBefore as string,
      });
  }
}

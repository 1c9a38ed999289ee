import {
  AlreadyExistsError,
  ConflictError,
  generateMasterKey,
  type IfExists,
  NotFoundError,
  type SecretInfo,
  type SecretManager,
} from "@envkeep/core";
import fc from "fast-check";
import { describe, expect, vi } from "vitest";
import { errorOf } from "./backend-tests.js";
import { type StoreSuiteContext, uniqueName } from "./context.js";
import type { DefineTest } from "./define.js";
import { fuzzRuns } from "./fuzz-runs.js";

/**
 * A model-based test of the whole contract: random sequences of create, update, delete, list,
 * info, resolve and rotate over a few names, environments and workspaces run against the real
 * store (through SecretManager) and against a plain in-memory model; every result must agree.
 */

interface ModelSecret {
  values: Record<string, string>;
  version: number;
  secretId: string;
  createdAt: number;
}

/** The model: place key → secret. */
type Model = Map<string, ModelSecret>;

/**
 * The clock every manager reads (Date.now is stubbed during a run): creates advance it by 0, 1
 * or 2 ms, so that list order is tested on both distinct and equal creation times.
 */
const clock = { now: 1_800_000_000_000 };

interface Real {
  /** One manager per workspace, holding both master keys. */
  managers: SecretManager[];
  /** One manager per workspace with the keys the other way round, for rotation. */
  rotators: SecretManager[];
}

const NAMES = ["a", "b", "c"] as const;
const ENVIRONMENTS = ["dev", "prod"] as const;
const WORKSPACES = [0, 1] as const;

const placeKey = (w: number, environment: string, name: string) =>
  JSON.stringify([w, environment, name]);

const keyName = fc.constantFrom("A", "B", "__proto__", "constructor", "toString");
const value = fc.string({ maxLength: 12 });
const entries = fc.dictionary(keyName, value, { maxKeys: 3 });
const changes = fc.dictionary(keyName, fc.option(value, { nil: undefined, freq: 4 }), {
  maxKeys: 3,
});
const place = fc.record({
  w: fc.constantFrom(...WORKSPACES),
  environment: fc.constantFrom(...ENVIRONMENTS),
  name: fc.constantFrom(...NAMES),
});

/** JSON.parse gives `__proto__` as an own key, as input from a file or a request would. */
function own<T>(object: Record<string, T>): Record<string, T> {
  return JSON.parse(JSON.stringify(object)) as Record<string, T>;
}

function sameInfo(info: SecretInfo, secret: ModelSecret) {
  expect(info.version).toBe(secret.version);
  expect(info.secretId).toBe(secret.secretId);
  expect(info.keys).toEqual(Object.keys(secret.values).sort());
  expect(info.createdAt.getTime()).toBe(secret.createdAt);
}

class Create implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly at: { w: number; environment: string; name: string },
    readonly values: Record<string, string>,
    readonly ifExists: IfExists,
    readonly tick: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    clock.now += this.tick;
    const { w, environment, name } = this.at;
    const key = placeKey(w, environment, name);
    const existing = model.get(key);
    const secrets = real.managers[w]!;
    const call = () =>
      secrets.create(name, own(this.values), { environment, ifExists: this.ifExists });
    if (existing && this.ifExists === "fail") {
      expect(await errorOf(call)).toBeInstanceOf(AlreadyExistsError);
      return;
    }
    const info = await call();
    if (!existing) {
      expect(info.version).toBe(1);
      model.set(key, {
        values: own(this.values),
        version: 1,
        secretId: info.secretId,
        createdAt: info.createdAt.getTime(),
      });
    } else if (this.ifExists === "skip") {
      sameInfo(info, existing);
    } else {
      existing.values = own(this.values);
      existing.version += 1;
      sameInfo(info, existing);
    }
  }
  toString = () =>
    `create(${JSON.stringify(this.at)}, ${JSON.stringify(this.values)}, ${this.ifExists})`;
}

class Update implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly at: { w: number; environment: string; name: string },
    readonly changes: Record<string, string | undefined | null>,
    readonly removes: string[],
    readonly ifVersion: "none" | "current" | "stale",
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const { w, environment, name } = this.at;
    const existing = model.get(placeKey(w, environment, name));
    const all: Record<string, string | null | undefined> = own(this.changes);
    for (const key of this.removes)
      Object.defineProperty(all, key, {
        value: null,
        enumerable: true,
        configurable: true,
        writable: true,
      });
    const ifVersion =
      this.ifVersion === "none" || !existing
        ? undefined
        : existing.version + (this.ifVersion === "stale" ? 1 : 0);
    const call = () =>
      real.managers[w]!.update(name, all, { environment, ...(ifVersion ? { ifVersion } : {}) });
    if (!existing) {
      expect(await errorOf(call)).toBeInstanceOf(NotFoundError);
      return;
    }
    if (this.ifVersion === "stale") {
      expect(await errorOf(call)).toBeInstanceOf(ConflictError);
      return;
    }
    const next = new Map(Object.entries(existing.values));
    for (const [key, change] of Object.entries(all)) {
      if (change === null) next.delete(key);
      else if (change !== undefined) next.set(key, change);
    }
    const nextValues = Object.fromEntries(next);
    const changed =
      JSON.stringify(Object.entries(nextValues).sort()) !==
      JSON.stringify(Object.entries(existing.values).sort());
    const info = await call();
    if (changed) {
      existing.values = nextValues;
      existing.version += 1;
    }
    sameInfo(info, existing);
  }
  toString = () =>
    `update(${JSON.stringify(this.at)}, ${JSON.stringify(this.changes)}, remove ${this.removes}, ${this.ifVersion})`;
}

class Delete implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly at: { w: number; environment: string; name: string },
    readonly allowMissing: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const { w, environment, name } = this.at;
    const key = placeKey(w, environment, name);
    const call = () =>
      real.managers[w]!.delete(name, { environment, allowMissing: this.allowMissing });
    if (!model.has(key) && !this.allowMissing) {
      expect(await errorOf(call)).toBeInstanceOf(NotFoundError);
      return;
    }
    await call();
    model.delete(key);
  }
  toString = () => `delete(${JSON.stringify(this.at)}, allowMissing=${this.allowMissing})`;
}

class Read implements fc.AsyncCommand<Model, Real> {
  constructor(readonly at: { w: number; environment: string; name: string }) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const { w, environment, name } = this.at;
    const existing = model.get(placeKey(w, environment, name));
    const secrets = real.managers[w]!;
    if (!existing) {
      expect(await errorOf(() => secrets.info(name, { environment }))).toBeInstanceOf(
        NotFoundError,
      );
      const read = () => secrets.resolve([secrets.fromName(name, { environment })]);
      expect(await errorOf(read)).toBeInstanceOf(NotFoundError);
      return;
    }
    sameInfo(await secrets.info(name, { environment }), existing);
    const resolved = await secrets.resolve([secrets.fromName(name, { environment })]);
    expect(Object.entries(resolved).sort()).toEqual(Object.entries(existing.values).sort());
  }
  toString = () => `read(${JSON.stringify(this.at)})`;
}

class List implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly w: number,
    readonly environment: string,
    readonly maxObjects: number | undefined,
    readonly beforeIndex: number | undefined,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const inScope = [...model.entries()]
      .map(([key, secret]) => ({ place: JSON.parse(key) as [number, string, string], secret }))
      .filter(({ place }) => place[0] === this.w && place[1] === this.environment)
      .sort(
        (x, y) =>
          y.secret.createdAt - x.secret.createdAt ||
          (x.place[2] < y.place[2] ? 1 : x.place[2] > y.place[2] ? -1 : 0),
      );
    const before =
      this.beforeIndex === undefined || inScope.length === 0
        ? undefined
        : inScope[this.beforeIndex % inScope.length]!.secret.createdAt;
    let expected = inScope.filter(
      ({ secret }) => before === undefined || secret.createdAt < before,
    );
    if (this.maxObjects !== undefined) expected = expected.slice(0, this.maxObjects);
    const damaged: unknown[] = [];
    const listed = await real.managers[this.w]!.list({
      environment: this.environment,
      ...(this.maxObjects === undefined ? {} : { maxObjects: this.maxObjects }),
      ...(before === undefined ? {} : { createdBefore: new Date(before) }),
      onDamaged: (d) => damaged.push(d),
    });
    expect(damaged).toEqual([]);
    expect(listed.map((info) => info.name)).toEqual(expected.map(({ place }) => place[2]));
    for (const [i, info] of listed.entries()) sameInfo(info, expected[i]!.secret);
  }
  toString = () =>
    `list(${this.w}, ${this.environment}, max=${this.maxObjects}, before#${this.beforeIndex})`;
}

class Rotate implements fc.AsyncCommand<Model, Real> {
  constructor(readonly w: number) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const report = await real.rotators[this.w]!.rotate({ pageSize: 2 });
    const held = [...model.keys()].filter((key) => JSON.parse(key)[0] === this.w).length;
    expect(report.failed).toEqual([]);
    expect(report.total).toBe(held);
    expect(report.rewrapped + report.alreadyCurrent).toBe(held);
    // Rotating keeps versions: rotation changes no contents.
    [real.managers, real.rotators] = [real.rotators, real.managers];
  }
  toString = () => `rotate(${this.w})`;
}

const create = fc
  .tuple(place, entries, fc.constantFrom<IfExists>("fail", "skip", "overwrite"), fc.nat({ max: 2 }))
  .map(([at, values, ifExists, tick]) => new Create(at, values, ifExists, tick));

/** Creates weigh double, so that lists and updates mostly find something to work on. */
const commands = [
  create,
  create,
  fc
    .tuple(
      place,
      changes,
      fc.subarray(["A", "B", "__proto__", "Z"]),
      fc.constantFrom("none", "current", "stale") as fc.Arbitrary<"none" | "current" | "stale">,
    )
    .map(([at, c, removes, ifVersion]) => new Update(at, c, removes, ifVersion)),
  fc.tuple(place, fc.boolean()).map(([at, allowMissing]) => new Delete(at, allowMissing)),
  place.map((at) => new Read(at)),
  fc
    .tuple(
      fc.constantFrom(...WORKSPACES),
      fc.constantFrom(...ENVIRONMENTS),
      fc.option(fc.nat({ max: 4 }), { nil: undefined }),
      fc.option(fc.nat(), { nil: undefined }),
    )
    .map(([w, environment, max, before]) => new List(w, environment, max, before)),
  fc.constantFrom(...WORKSPACES).map((w) => new Rotate(w)),
];

export function defineModelTests(ctx: StoreSuiteContext, test: DefineTest): void {
  describe("model-based", () => {
    test("random sequences of every operation agree with a plain in-memory model", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.commands(commands, { maxCommands: 40, size: "medium" }),
          async (sequence) => {
            const one = generateMasterKey();
            const two = generateMasterKey();
            const workspaces = WORKSPACES.map(() => uniqueName("model"));
            const manager = (workspace: string, keyring: string[]) =>
              ctx.manager({ workspace, masterKey: undefined, keyring });
            const real: Real = {
              managers: workspaces.map((workspace) => manager(workspace, [one, two])),
              rotators: workspaces.map((workspace) => manager(workspace, [two, one])),
            };
            const now = vi.spyOn(Date, "now").mockImplementation(() => clock.now);
            try {
              await fc.asyncModelRun(() => ({ model: new Map(), real }), sequence);
            } finally {
              now.mockRestore();
            }
          },
        ),
        { numRuns: fuzzRuns(100) },
      );
    }, 300_000);
  });
}

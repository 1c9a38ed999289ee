import {
  generateMasterKey,
  IntegrityError,
  NotFoundError,
  type SecretManager,
  type SecretRef,
  SecretsError,
} from "@envkeep/core";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { type RawBackend, type StoreSuiteContext, uniqueName } from "./context.js";
import type { DefineTest } from "./define.js";
import { fuzzRuns, within } from "./fuzz-runs.js";

/** Every store call of the fuzzer must settle well within this. */
const OPERATION_MS = 10_000;

/** The seeded secrets (index 0-3) and two empty places (4-5) copies can land on. */
const PLACES = [
  { workspace: 0, environment: "dev", name: "a" },
  { workspace: 0, environment: "dev", name: "b" },
  { workspace: 0, environment: "prod", name: "a" },
  { workspace: 1, environment: "dev", name: "a" },
  { workspace: 0, environment: "dev", name: "fresh" },
  { workspace: 1, environment: "prod", name: "fresh" },
] as const;
const SEEDED = 4;
const FIELDS = [
  "secretId",
  "version",
  "createdAt",
  "updatedAt",
  "createdBy",
  "updatedBy",
  "keys",
  "sealed",
  "workspace",
  "environment",
  "name",
] as const;

type Place = number;
type FieldValue = { json: unknown } | { sameFieldOf: Place } | { delete: true };
type Tamper =
  | { kind: "flip"; place: Place; at: number; char: string }
  | { kind: "truncate"; place: Place; keep: number }
  | { kind: "field"; place: Place; field: (typeof FIELDS)[number]; value: FieldValue }
  | { kind: "copy"; from: Place; to: Place }
  | { kind: "oldSealed"; place: Place }
  | { kind: "oldMetadata"; place: Place }
  | { kind: "swapSealed"; a: Place; b: Place }
  | { kind: "garbage"; place: Place; text: string };

const place = fc.nat({ max: PLACES.length - 1 });
const seeded = fc.nat({ max: SEEDED - 1 });
const fieldValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.record({ json: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({
    json: fc.constantFrom<unknown>(
      7,
      "7",
      0,
      -1,
      1.5,
      2 ** 53,
      "st-AAAAAAAAAAAAAAAAAAAAAA",
      [],
      {},
      null,
    ),
  }),
  fc.record({ sameFieldOf: place }),
  fc.constant({ delete: true as const }),
);
const tamper: fc.Arbitrary<Tamper> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    place,
    at: fc.nat(),
    char: fc.constantFrom("A", "0", ".", '"', "{", "\u0000", "é"),
  }),
  fc.record({ kind: fc.constant("truncate" as const), place, keep: fc.nat() }),
  fc.record({
    kind: fc.constant("field" as const),
    place,
    field: fc.constantFrom(...FIELDS),
    value: fieldValue,
  }),
  fc.record({ kind: fc.constant("copy" as const), from: place, to: place }),
  fc.record({ kind: fc.constant("oldSealed" as const), place: seeded }),
  fc.record({ kind: fc.constant("oldMetadata" as const), place: seeded }),
  fc.record({ kind: fc.constant("swapSealed" as const), a: place, b: place }),
  fc.record({ kind: fc.constant("garbage" as const), place, text: fc.string({ maxLength: 40 }) }),
);

/** What one run knows: where each place is, everything each place ever held, old texts. */
interface Run {
  refs: SecretRef[];
  managers: SecretManager[];
  /** Values each place ever held (a whole older record put back is an undetectable rollback). */
  history: Record<string, string>[][];
  /** secretId@version pairs each place ever had. */
  versions: Set<string>[];
  /** Stored text of each seeded place at version 1. */
  oldTexts: (string | undefined)[];
  touched: Set<Place>;
}

async function seed(ctx: StoreSuiteContext): Promise<Run> {
  const workspaces = [uniqueName("fz"), uniqueName("fz")];
  const managers = workspaces.map((workspace) => ctx.manager({ workspace, actor: "fuzzer" }));
  const refs = PLACES.map((p) => ({
    workspace: workspaces[p.workspace]!,
    environment: p.environment,
    name: p.name,
  }));
  const run: Run = {
    refs,
    managers,
    history: PLACES.map(() => []),
    versions: PLACES.map(() => new Set()),
    oldTexts: [],
    touched: new Set(),
  };
  for (let i = 0; i < SEEDED; i++) {
    const { environment, name, workspace } = refs[i]!;
    const secrets = managers[PLACES[i]!.workspace]!;
    const first = { V: `${workspace}/${environment}/${name}@1`, [`ONLY_${i}`]: "x" };
    const created = await secrets.create(name, first, { environment });
    run.oldTexts[i] = await ctx.options.backend!.readText(ctx.store(), refs[i]!);
    const updated = await secrets.update(
      name,
      { V: `${workspace}/${environment}/${name}@2` },
      {
        environment,
      },
    );
    run.history[i]!.push(first, { ...first, V: `${workspace}/${environment}/${name}@2` });
    run.versions[i]!.add(`${created.secretId}@1`).add(`${updated.secretId}@2`);
  }
  return run;
}

async function applyTamper(ctx: StoreSuiteContext, backend: RawBackend, run: Run, t: Tamper) {
  const store = ctx.store();
  const text = (p: Place) => backend.readText(store, run.refs[p]!);
  const record = async (p: Place) => {
    const stored = await text(p);
    return stored === undefined ? undefined : backend.decode(stored);
  };
  const write = async (p: Place, written: string) => {
    run.touched.add(p);
    await backend.writeText(store, run.refs[p]!, written);
  };
  switch (t.kind) {
    case "flip": {
      const stored = await text(t.place);
      if (!stored) return;
      const at = t.at % stored.length;
      await write(t.place, stored.slice(0, at) + t.char + stored.slice(at + 1));
      return;
    }
    case "truncate": {
      const stored = await text(t.place);
      if (stored !== undefined) await write(t.place, stored.slice(0, t.keep % (stored.length + 1)));
      return;
    }
    case "field": {
      const target = await record(t.place);
      if (!target) return;
      if ("delete" in t.value) delete target[t.field];
      else if ("json" in t.value) target[t.field] = t.value.json;
      else target[t.field] = (await record(t.value.sameFieldOf))?.[t.field];
      await write(t.place, backend.encode(target));
      return;
    }
    case "copy": {
      const stored = await text(t.from);
      if (stored !== undefined && t.from !== t.to) await write(t.to, stored);
      return;
    }
    case "oldSealed":
    case "oldMetadata": {
      const current = await record(t.place);
      const oldText = run.oldTexts[t.place];
      const old = oldText === undefined ? undefined : backend.decode(oldText);
      if (!current || !old) return;
      const mixed =
        t.kind === "oldSealed"
          ? { ...current, sealed: old.sealed }
          : { ...old, sealed: current.sealed };
      await write(t.place, backend.encode(mixed));
      return;
    }
    case "swapSealed": {
      const [a, b] = [await record(t.a), await record(t.b)];
      if (!a || !b || t.a === t.b) return;
      await write(t.a, backend.encode({ ...a, sealed: b.sealed }));
      await write(t.b, backend.encode({ ...b, sealed: a.sealed }));
      return;
    }
    case "garbage":
      await write(t.place, t.text);
  }
}

/** A read's outcome: the value, or the typed error it must be (anything else fails the run). */
async function outcome<T>(what: string, work: () => Promise<T>): Promise<T | SecretsError> {
  try {
    return await within(OPERATION_MS, what, work);
  } catch (error) {
    if (!(error instanceof IntegrityError || error instanceof NotFoundError)) {
      throw new Error(`${what}: expected values or an IntegrityError, got ${String(error)}`, {
        cause: error,
      });
    }
    return error;
  }
}

async function checkReads(ctx: StoreSuiteContext, backend: RawBackend, run: Run) {
  for (const [p, ref] of run.refs.entries()) {
    const secrets = run.managers[PLACES[p]!.workspace]!;
    const label = `${ref.environment}/${ref.name} (place ${p})`;
    const stored = await backend.readText(ctx.store(), ref);
    const values = await outcome(`resolve ${label}`, () =>
      secrets.resolve([secrets.fromName(ref.name, { environment: ref.environment })]),
    );
    if (values instanceof SecretsError) {
      if (values instanceof NotFoundError) expect(stored, `${label}: NotFound`).toBeUndefined();
      expect(values.message, label).toContain(`"${ref.name}"`);
      expect(run.touched.has(p) || stored === undefined, `${label} failed untouched`).toBe(true);
    } else {
      // Never another secret's values: only what this very place once held.
      expect(run.history[p], label).toContainEqual(values);
      if (!run.touched.has(p)) expect(values, label).toEqual(run.history[p]!.at(-1));
    }
    const info = await outcome(`info ${label}`, () =>
      secrets.info(ref.name, { environment: ref.environment }),
    );
    if (!(info instanceof SecretsError)) {
      expect(run.versions[p], label).toContain(`${info.secretId}@${info.version}`);
      expect(info).toMatchObject({
        workspace: ref.workspace,
        environment: ref.environment,
        name: ref.name,
      });
    }
  }
  for (const [w, secrets] of run.managers.entries()) {
    for (const environment of ["dev", "prod"]) {
      const damaged: unknown[] = [];
      const shown = await within(OPERATION_MS, "list", () =>
        secrets.list({ environment, onDamaged: (d) => damaged.push(d.error) }),
      );
      for (const error of damaged) expect(error).toBeInstanceOf(IntegrityError);
      const names = shown.map((info) => info.name);
      expect(new Set(names).size, "a name listed twice").toBe(names.length);
      for (const info of shown) {
        const p = run.refs.findIndex(
          (ref, i) =>
            PLACES[i]!.workspace === w && ref.environment === environment && ref.name === info.name,
        );
        expect(p, `listed ${info.name} in ${environment}`).toBeGreaterThanOrEqual(0);
        expect(info).toMatchObject({ environment, workspace: run.refs[p]!.workspace });
        expect(run.versions[p]).toContain(`${info.secretId}@${info.version}`);
      }
      for (const [p, ref] of run.refs.entries()) {
        if (p < SEEDED && !run.touched.has(p) && PLACES[p]!.workspace === w) {
          if (ref.environment === environment) expect(names).toContain(ref.name);
        }
      }
    }
  }
}

async function checkWritesAndRotation(ctx: StoreSuiteContext, run: Run) {
  const newKey = generateMasterKey();
  for (const [w, secrets] of run.managers.entries()) {
    const rotating = ctx.manager({
      workspace: secrets.workspace,
      masterKey: undefined,
      keyring: [newKey, ctx.masterKey],
    });
    const report = await within(OPERATION_MS, "rotate", () => rotating.rotate({ pageSize: 2 }));
    for (const failure of report.failed) expect(failure.code).toBe("INTEGRITY");
    run.managers[w] = rotating;
  }
  for (const [p, ref] of run.refs.entries()) {
    const secrets = run.managers[PLACES[p]!.workspace]!;
    const environment = ref.environment;
    const label = `${environment}/${ref.name} (place ${p})`;
    const updated = await outcome(`update ${label}`, () =>
      secrets.update(ref.name, { FUZZ: "1" }, { environment }),
    );
    if (!run.touched.has(p) && p < SEEDED) expect(updated).not.toBeInstanceOf(SecretsError);
    await within(OPERATION_MS, `delete ${label}`, () =>
      secrets.delete(ref.name, { environment, allowMissing: true }),
    );
    await expect(secrets.info(ref.name, { environment })).rejects.toBeInstanceOf(NotFoundError);
    await within(OPERATION_MS, `create ${label}`, () =>
      secrets.create(ref.name, { AGAIN: label }, { environment }),
    );
    expect(await secrets.resolve([secrets.fromName(ref.name, { environment })])).toEqual({
      AGAIN: label,
    });
  }
}

/**
 * A tamper fuzzer: random byte and field edits, moves, copies and swaps of stored records, and
 * older ciphertext under newer metadata (and the reverse), made directly in the backend. After
 * them, every read is either values that very place held or an IntegrityError naming it — never
 * another secret's values, never a raw error, never a hang — list shows nothing out of place or
 * twice, rotation reports and goes on, and every place can be deleted and created again.
 */
export function defineTamperFuzzTests(ctx: StoreSuiteContext, test: DefineTest): void {
  describe("tamper fuzzer", () => {
    test("random edits in the backend: reads are the right values or an IntegrityError, and recover", async () => {
      const backend = ctx.options.backend!;
      await fc.assert(
        fc.asyncProperty(fc.array(tamper, { minLength: 1, maxLength: 5 }), async (tampers) => {
          const run = await seed(ctx);
          for (const t of tampers) await applyTamper(ctx, backend, run, t);
          await checkReads(ctx, backend, run);
          await checkWritesAndRotation(ctx, run);
        }),
        { numRuns: fuzzRuns(15) },
      );
    }, 300_000);
  });
}

/**
 * validators.generated.ts is ajv's standalone code for schemas.ts, made at build time: it must be
 * exactly what a fresh generation from today's schemas gives (run `pnpm build`, or
 * `node scripts/generate-validators.mjs` in packages/core, after changing a schema).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { GENERATED_FILE, generateValidators, VALIDATORS } from "../scripts/generate-validators.mjs";
import * as schemas from "../src/validation/schemas.js";
import * as generated from "../src/validation/validators.generated.js";

test("validators.generated.ts is a fresh generation from schemas.ts", () => {
  const committed = readFileSync(path.join(import.meta.dirname, "..", GENERATED_FILE), "utf8");
  expect(committed).toBe(generateValidators(schemas));
});

test("it exports one validator per schema, and nothing else", () => {
  expect(Object.keys(generated).sort()).toEqual(Object.keys(VALIDATORS).sort());
  for (const check of Object.values(generated)) expect(typeof check).toBe("function");
});

/**
 * `RULE_SCHEMAS` is what documents (the HTTP API's OpenAPI document) embed to state core's rules:
 * compiled by any JSON Schema 2020-12 validator, each must accept exactly what core accepts.
 */
import { fc, test } from "@fast-check/vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import { expect } from "vitest";
import { RULE_SCHEMAS } from "../src/index.js";
import {
  assertEnvironmentName,
  assertKey,
  assertSecretName,
  snapshotEntries,
} from "../src/validation/validate.js";
import { fuzzRuns } from "./support/fuzz-runs.js";

const ajv = new Ajv2020({ strict: true });
const schemaAccepts = {
  secretName: ajv.compile(RULE_SCHEMAS.secretName),
  environmentName: ajv.compile(RULE_SCHEMAS.environmentName),
  key: ajv.compile(RULE_SCHEMAS.key),
  value: ajv.compile(RULE_SCHEMAS.value),
};
const coreAccepts = (check: (value: unknown) => void) => (value: unknown) => {
  try {
    check(value);
    return true;
  } catch {
    return false;
  }
};

// Names near the rules' edges: reserved prefixes, lengths around the limits, odd characters.
const nameLike = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.stringMatching(/^[a-zA-Z0-9._-]{0,70}$/),
  fc.stringMatching(/^(ap-|en-|EN-|eN-)[a-zA-Z0-9]{20,24}$/),
  fc.constantFrom("", ".", "..", "-a", "_a", "a".repeat(64), "a".repeat(65), "ü", "a\n"),
);

test.prop([nameLike], { numRuns: fuzzRuns(500) })("secret names: schema = core", (name) => {
  expect(schemaAccepts.secretName(name)).toBe(coreAccepts(assertSecretName)(name));
});

test.prop([nameLike], { numRuns: fuzzRuns(500) })("environment names: schema = core", (name) => {
  expect(schemaAccepts.environmentName(name)).toBe(coreAccepts(assertEnvironmentName)(name));
});

test.prop([fc.oneof(nameLike, fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/))], {
  numRuns: fuzzRuns(500),
})("keys: schema = core", (key) => {
  expect(schemaAccepts.key(key)).toBe(coreAccepts(assertKey)(key));
});

test.prop(
  [fc.oneof(fc.string(), fc.constantFrom("x".repeat(32_768), "x".repeat(32_769)), fc.anything())],
  { numRuns: fuzzRuns(300) },
)("values: schema = core", (value) => {
  const core = coreAccepts((v) => snapshotEntries({ K: v }, "test"))(value);
  expect(schemaAccepts.value(value)).toBe(core);
});

import { describe, expect, it } from "vitest";
import { resolveEnvironment, resolveWorkspace } from "../src/environment.js";
import { InvalidError } from "../src/errors.js";
import { applyChanges, mergeLayers } from "../src/merge.js";
import {
  assertEnvironmentName,
  assertKey,
  assertSecretName,
  normalizeChanges,
  normalizeListOptions,
} from "../src/validation/validate.js";

describe("name rules", () => {
  it("secret names", () => {
    for (const ok of [
      "a",
      "my-secret",
      "v1.2_x",
      "x".repeat(64),
      `ap-${"a".repeat(21)}`,
      `ap-${"a".repeat(23)}`,
    ]) {
      expect(() => assertSecretName(ok), ok).not.toThrow();
    }
    for (const bad of [
      "",
      " ",
      "a/b",
      "a b",
      "x".repeat(65),
      `ap-${"A1".repeat(11)}`,
      "ü",
      7,
      null,
    ]) {
      expect(() => assertSecretName(bad), String(bad)).toThrow(InvalidError);
    }
  });

  it("environment names", () => {
    for (const ok of ["main", "d", "prod-eu.1", "Dev_2", "enx", "e-n"])
      expect(() => assertEnvironmentName(ok)).not.toThrow();
    for (const bad of ["", "-x", ".x", "_x", "en-prod", "EN-prod", "En-x", "a b", "x".repeat(65)]) {
      expect(() => assertEnvironmentName(bad), bad).toThrow(InvalidError);
    }
  });

  it("keys", () => {
    for (const ok of ["A", "_", "a_1", "PATH", "K".repeat(16_384)])
      expect(() => assertKey(ok)).not.toThrow();
    for (const bad of ["", "1A", "A-B", "A.B", "A B", "Ä", "K".repeat(16_385)]) {
      expect(() => assertKey(bad), bad.slice(0, 10)).toThrow(InvalidError);
    }
  });
});

describe("option rules", () => {
  it("list options", () => {
    expect(normalizeListOptions({})).toEqual({});
    expect(normalizeListOptions({ maxObjects: 0 })).toEqual({ maxObjects: 0 });
    expect(normalizeListOptions({ createdBefore: "2025-01-01" })).toEqual({
      createdBefore: Date.UTC(2025, 0, 1),
    });
    expect(normalizeListOptions({ createdBefore: "2025-01-01T10:00:00+01:00" })).toEqual({
      createdBefore: Date.UTC(2025, 0, 1, 9),
    });
    for (const bad of [
      { maxObjects: -1 },
      { maxObjects: "3" },
      { maxObjects: Number.NaN },
      { createdBefore: "soon" },
    ]) {
      expect(() => normalizeListOptions(bad), JSON.stringify(bad)).toThrow(InvalidError);
    }
  });

  it("change sets drop undefined and check the rest", () => {
    expect(normalizeChanges({ A: "1", B: null, C: undefined }, "u")).toEqual(
      new Map([
        ["A", "1"],
        ["B", null],
      ]),
    );
    expect(() => normalizeChanges({ A: 1 }, "u")).toThrow(/value of key "A"/);
    expect(() => normalizeChanges({ "A-": "1" }, "u")).toThrow(/key in u "A-"/);
  });
});

describe("environment selection", () => {
  it("explicit → manager → ENVKEEP_ENVIRONMENT → main", () => {
    expect(resolveEnvironment("a", "b", { ENVKEEP_ENVIRONMENT: "c" })).toBe("a");
    expect(resolveEnvironment(undefined, "b", { ENVKEEP_ENVIRONMENT: "c" })).toBe("b");
    expect(resolveEnvironment(undefined, undefined, { ENVKEEP_ENVIRONMENT: "c" })).toBe("c");
    expect(resolveEnvironment(undefined, undefined, { ENVKEEP_ENVIRONMENT: "" })).toBe("main");
    expect(() => resolveEnvironment(undefined, undefined, { ENVKEEP_ENVIRONMENT: "en-x" })).toThrow(
      InvalidError,
    );
    expect(resolveWorkspace(undefined, {})).toBe("default");
    expect(resolveWorkspace(undefined, { ENVKEEP_WORKSPACE: "acme" })).toBe("acme");
  });
});

describe("merging", () => {
  it("applyChanges reports no change as undefined", () => {
    expect(
      applyChanges(
        { A: "1" },
        new Map([
          ["A", "1"],
          ["B", null],
        ]),
      ),
    ).toBeUndefined();
    expect(
      applyChanges(
        { A: "1" },
        new Map([
          ["B", "2"],
          ["A", null],
        ]),
      ),
    ).toEqual({ B: "2" });
  });

  it("mergeLayers: later wins, __proto__ stays an own key", () => {
    const evil = JSON.parse('{"__proto__": "x", "B": "2"}');
    const merged = mergeLayers([{ A: "1", B: "1" }, evil]);
    expect(merged).toEqual(JSON.parse('{"A":"1","B":"2","__proto__":"x"}'));
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

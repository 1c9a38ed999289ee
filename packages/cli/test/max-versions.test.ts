/**
 * `--max-versions` / `ENVKEEP_MAX_VERSIONS` as the CLI reads them (in-process), and the bound
 * kept equal to core's.
 */
import { generateMasterKey, SecretManager } from "@envkeep/core";
import { memoryStore } from "@envkeep/store-memory";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../src/io.js";
import { MAX_VERSIONS_LIMIT, resolveMaxVersions } from "../src/max-versions.js";

const saved = process.env.ENVKEEP_MAX_VERSIONS;
afterEach(() => {
  if (saved === undefined) delete process.env.ENVKEEP_MAX_VERSIONS;
  else process.env.ENVKEEP_MAX_VERSIONS = saved;
});

describe("resolveMaxVersions", () => {
  it("takes a whole number from 0 to the limit; the option wins over the variable", () => {
    delete process.env.ENVKEEP_MAX_VERSIONS;
    expect(resolveMaxVersions(undefined)).toBeUndefined();
    expect(resolveMaxVersions("0")).toBe(0);
    expect(resolveMaxVersions(" 2 ")).toBe(2);
    expect(resolveMaxVersions("1000")).toBe(1000);
    process.env.ENVKEEP_MAX_VERSIONS = "7";
    expect(resolveMaxVersions(undefined)).toBe(7);
    expect(resolveMaxVersions("3")).toBe(3);
    process.env.ENVKEEP_MAX_VERSIONS = "  ";
    expect(resolveMaxVersions(undefined)).toBeUndefined();
  });

  it("refuses anything else as a usage error that does not echo it", () => {
    delete process.env.ENVKEEP_MAX_VERSIONS;
    for (const text of ["-1", "1001", "1e3", "0x10", "2.0", "", "ten", "99999"]) {
      expect(() => resolveMaxVersions(text), text).toThrow(UsageError);
      try {
        resolveMaxVersions(text);
      } catch (error) {
        expect((error as Error).message).toMatch(/^--max-versions takes a whole number/);
      }
    }
    process.env.ENVKEEP_MAX_VERSIONS = "sk-secret";
    expect(() => resolveMaxVersions(undefined)).toThrow(
      /^ENVKEEP_MAX_VERSIONS must be a whole number from 0 to 1000/,
    );
  });

  it("the limit is core's: core takes it and refuses one more", async () => {
    const options = { store: memoryStore(), masterKey: generateMasterKey() };
    const manager = new SecretManager({ ...options, maxVersions: MAX_VERSIONS_LIMIT });
    await manager.close();
    expect(() => new SecretManager({ ...options, maxVersions: MAX_VERSIONS_LIMIT + 1 })).toThrow(
      /maxVersions/,
    );
  });
});

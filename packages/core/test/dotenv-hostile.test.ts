/**
 * The hostile `.env` inputs of issue 10, each run in a worker with a 128 MB heap and a time limit
 * (see support/isolated.ts): before the fix they looped forever, exhausted the heap, took a
 * minute, or threw a raw TypeError. Times are measured around the parse alone.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_DOTENV_BYTES } from "../src/dotenv/parse-dotenv.js";
import { type IsolatedOutcome, isolatedFunction } from "./support/isolated.js";

const sourceRoot = path.resolve(import.meta.dirname, "../src");
let parse: Awaited<ReturnType<typeof isolatedFunction>>;

beforeAll(async () => {
  parse = await isolatedFunction(
    path.join(sourceRoot, "dotenv/parse-dotenv.ts"),
    sourceRoot,
    "parseDotenv",
  );
});
afterAll(async () => {
  await parse?.dispose();
});

/** Parses `text` against `env` in the worker; a hang or heap blow-up is a failed expectation. */
function parseIsolated(text: string, env: Record<string, string> = {}): Promise<IsolatedOutcome> {
  return parse.call([text, { env, source: "hostile.env" }], { timeoutMs: 10_000, maxHeapMb: 128 });
}

// Generous next to the measured times (tens of ms): only a super-linear pass comes near it.
const FAST_MS = 2_000;

describe("hostile .env text", () => {
  it("${constructor} and friends are unknown names, not Object.prototype's (no endless loop)", async () => {
    const outcome = await parseIsolated(
      "A=${constructor}\nB=$toString\nC=${__proto__:-d}\nD=${hasOwnProperty}x\nE=${valueOf:+y}",
    );
    expect(outcome).toMatchObject({
      status: "returned",
      value: { A: "", B: "", C: "d", D: "x", E: "" },
    });
  });

  it("a reference to a value that looks like a reference is not expanded again (no loop)", async () => {
    // Re-scanning substituted text (dotenv-expand does) would turn ${B} into ${B} forever.
    const outcome = await parseIsolated("B=\\${B}\nA=${B}\nC=${P}", { P: "${P}$P" });
    expect(outcome).toMatchObject({
      status: "returned",
      value: { B: "${B}", A: "${B}", C: "${P}$P" },
    });
  });

  it("a 1 KB file that doubles a value 60 times is an InvalidError, not a heap blow-up", async () => {
    const lines = ["K0=xxxxxxxxxxxxxxxx"];
    for (let i = 1; i < 60; i++) lines.push(`K${i}=\${K${i - 1}}\${K${i - 1}}`);
    const outcome = await parseIsolated(lines.join("\n"));
    expect(outcome).toMatchObject({
      status: "threw",
      error: {
        name: "InvalidError",
        message:
          'hostile.env: line 13: the value of "K12" is longer than 32768 characters (after expansion)',
      },
    });
  });

  it("a thousand references to a 30,000-character value stop at the total limit", async () => {
    const text = `A=${"x".repeat(30_000)}\n${Array.from({ length: 1000 }, (_, i) => `B${i}=$A`).join("\n")}`;
    const outcome = await parseIsolated(text);
    expect(outcome).toMatchObject({
      status: "threw",
      error: { name: "InvalidError", message: expect.stringMatching(/line 35: .*1048576/) },
    });
  });

  it("20,000 lines with references parse in linear time", async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `K${i}=\${K${i % 7}}-$HOME-${i}`);
    const outcome = await parseIsolated(lines.join("\n"), { HOME: "/home/u" });
    expect(outcome).toMatchObject({ status: "returned" });
    if (outcome.status !== "returned") return;
    expect(Object.keys(outcome.value as object)).toHaveLength(20_000);
    expect(outcome.ms).toBeLessThan(FAST_MS);
  });

  it("1 MiB of blank lines before an unreadable line: linear, and the line is named", async () => {
    const outcome = await parseIsolated(`${"\n".repeat(MAX_DOTENV_BYTES - 5)}oops`);
    expect(outcome).toMatchObject({
      status: "threw",
      error: {
        name: "InvalidError",
        message: `hostile.env: line ${MAX_DOTENV_BYTES - 4} is not KEY=VALUE, a # comment or blank`,
      },
    });
    if (outcome.status === "threw") expect(outcome.ms).toBeLessThan(FAST_MS);
  });

  it("200,000 nested unclosed ${A:-… stay linear and end at the value limit", async () => {
    const outcome = await parseIsolated(`A=${"${Z:-".repeat(200_000)}`);
    expect(outcome).toMatchObject({ status: "threw", error: { name: "InvalidError" } });
    if (outcome.status === "threw") expect(outcome.ms).toBeLessThan(FAST_MS);
  });

  it("keys named like Object.prototype's members are ordinary keys", async () => {
    const outcome = await parseIsolated(
      "__proto__=p\nconstructor=c\ntoString=${constructor}${__proto__}\nhasOwnProperty=h",
    );
    expect(outcome).toMatchObject({ status: "returned" });
    if (outcome.status !== "returned") return;
    const value = outcome.value as Record<string, string>;
    expect(Object.getOwnPropertyDescriptor(value, "__proto__")?.value).toBe("p");
    expect(value.constructor).toBe("c");
    expect(value.toString).toBe("cp");
    expect(value.hasOwnProperty).toBe("h");
  });

  it("text over 1 MiB is refused before it is parsed", async () => {
    const outcome = await parseIsolated(`A=${"x".repeat(MAX_DOTENV_BYTES)}`);
    expect(outcome).toMatchObject({
      status: "threw",
      error: {
        name: "InvalidError",
        message: `hostile.env is larger than ${MAX_DOTENV_BYTES} bytes`,
      },
    });
  });
});

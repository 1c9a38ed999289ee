/** The one error line: escaped, passwords hidden, bounded in length and in time, whatever the input. */
import { InvalidError, NotFoundError, StoreError } from "@envkeep/core";
import { describe, expect, it } from "vitest";
import { describeError } from "../src/main.js";
import { runMain } from "./support/in-process.js";
import { unsafeCharacters } from "./support/unsafe.js";

describe("describeError", () => {
  it("escapes what a message quotes, keeping it one line", () => {
    const { message, exitCode } = describeError(
      new NotFoundError('secret "x" not found in environment "e\u202e\n\x1b[2J"'),
    );
    expect(message).toBe('secret "x" not found in environment "e\\u202E\\n\\x1B[2J"');
    expect(unsafeCharacters(message)).toEqual([]);
    expect(exitCode).toBe(1);
  });

  it("hides passwords of URLs anywhere in a message", () => {
    const error = new StoreError("redis", "cannot reach redis://admin:hunter2@db:6379", {
      cause: new Error("connect ECONNREFUSED rediss://u:pw2@h"),
    });
    const { message } = describeError(error);
    expect(message).not.toMatch(/hunter2|pw2/);
    expect(message).toContain("redis://admin:***@db:6379");
  });

  it("cuts a long message to 1000 characters, in linear time", () => {
    // 100 000 letters take milliseconds when linear, tens of seconds when quadratic.
    for (const text of [
      "x".repeat(100_000),
      `a://b:${"c".repeat(100_000)}`,
      "\n".repeat(500_000),
    ]) {
      const started = performance.now();
      const { message } = describeError(new InvalidError(text));
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(message.length).toBeLessThanOrEqual(1_001);
    }
  });

  it("two KEY=- with megabyte keys: one short line", async () => {
    const long = "K".repeat(1_100_000);
    const result = await runMain(["secret", "create", "n", `${long}=-`, "B=-"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `envkeep: only one KEY=- may read standard input (got ${"K".repeat(80)}…, B)\n`,
    );
  });
});

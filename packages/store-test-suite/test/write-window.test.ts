import { describe, expect, it } from "vitest";
import { overlapping, raceUntilOverlapping } from "../src/write-window.js";

const window = (first: number, last: number) => ({ first, last });

describe("overlapping", () => {
  it("is true only when one instant lies inside every window", () => {
    expect(overlapping([window(0, 10), window(5, 15)])).toBe(true);
    expect(overlapping([window(5, 15), window(0, 10)])).toBe(true);
    expect(overlapping([window(0, 100), window(40, 60)])).toBe(true);
    expect(overlapping([window(0, 10), window(10, 20)])).toBe(false); // only touching
    expect(overlapping([window(0, 10), window(11, 20)])).toBe(false);
    // Pairwise overlaps are not enough: no instant is inside all three.
    expect(overlapping([window(0, 10), window(8, 20), window(12, 30)])).toBe(false);
  });

  it("is false for fewer than two windows: nothing raced", () => {
    expect(overlapping([])).toBe(false);
    expect(overlapping([window(0, 10)])).toBe(false);
  });
});

describe("raceUntilOverlapping", () => {
  it("runs the race again until it overlaps, and resolves with that run", async () => {
    const runs = [
      { windows: [window(0, 10), window(20, 30)], run: 0 },
      { windows: [window(0, 10), window(5, 30)], run: 1 },
      { windows: [window(0, 10), window(5, 30)], run: 2 },
    ];
    const attempts: number[] = [];
    const result = await raceUntilOverlapping(async (attempt) => {
      attempts.push(attempt);
      return runs[attempt]!;
    });
    expect(result.run).toBe(1);
    expect(attempts).toEqual([0, 1]);
  });

  it("fails after the last attempt, saying when each worker wrote", async () => {
    let calls = 0;
    const race = raceUntilOverlapping(async () => {
      calls += 1;
      return { windows: [window(1_000, 1_010), window(1_020, 1_030.25)] };
    }, 2);
    await expect(race).rejects.toThrow(
      "the workers never wrote at the same time in 2 attempts: 0.0–10.0 ms, 20.0–30.3 ms; 0.0–10.0 ms, 20.0–30.3 ms",
    );
    expect(calls).toBe(2);
  });
});

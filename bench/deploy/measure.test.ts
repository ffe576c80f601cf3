import { describe, expect, it } from "vitest";
import { failedRequests, median, rounded, swapSeconds } from "./measure.ts";

describe("swapSeconds", () => {
  it("is the time from each assignment to its version's first answer", () => {
    const firstSeen = new Map([
      ["v1.0.0", 100],
      ["v1.1.0", 5_250],
      ["v1.2.0", 9_000],
    ]);
    expect(
      swapSeconds(
        [
          { version: "v1.1.0", assignedAt: 3_000 },
          { version: "v1.2.0", assignedAt: 8_500 },
        ],
        firstSeen,
      ),
    ).toEqual([2.25, 0.5]);
  });

  it("fails when a version never answered, naming the change", () => {
    expect(() =>
      swapSeconds([{ version: "v1.1.0", assignedAt: 1 }], new Map([["v1.0.0", 0]])),
    ).toThrow("change 1: no answer carried v1.1.0");
  });

  it("fails when a version answered before its assignment (it was not new)", () => {
    expect(() =>
      swapSeconds(
        [
          { version: "v1.1.0", assignedAt: 1_000 },
          { version: "v1.0.0", assignedAt: 4_000 },
        ],
        new Map([
          ["v1.0.0", 0],
          ["v1.1.0", 2_000],
        ]),
      ),
    ).toThrow(/change 2: v1\.0\.0 was served 4\.000 s before it was assigned/);
  });
});

describe("median", () => {
  it("takes the middle value, or the mean of the middle two", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe("failedRequests", () => {
  it("adds non-2xx answers, errors, and requests left unanswered beyond those in flight", () => {
    const counts = { requests: { sent: 110, total: 100 }, non2xx: 3, errors: 2 };
    // 10 unanswered, 4 of them still in flight on the 4 connections when the load stopped.
    expect(failedRequests(counts, 4)).toBe(3 + 2 + 6);
    expect(failedRequests({ ...counts, requests: { sent: 102, total: 100 } }, 4)).toBe(5);
  });
});

describe("rounded", () => {
  it("rounds finite numbers and turns the rest into null", () => {
    expect(rounded(1.23456)).toBe(1.23);
    expect(rounded(154.26, 1)).toBe(154.3);
    expect(rounded(Number.NaN)).toBeNull();
    expect(rounded(null)).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import {
  failedRequests,
  logEntries,
  median,
  parseEngineTime,
  rounded,
  swapSeconds,
} from "./measure.ts";

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

describe("parseEngineTime", () => {
  it("reads podman's and docker's container times, to the sub-millisecond", () => {
    const expected = Date.parse("2026-11-30T10:12:37.862Z") + 0.837439;
    expect(parseEngineTime("2026-11-30 10:12:37.862837439 +0000 UTC\n")).toBeCloseTo(expected, 3);
    expect(parseEngineTime("2026-11-30T10:12:37.862837439Z")).toBeCloseTo(expected, 3);
    expect(parseEngineTime("2026-11-30T12:12:37.862837439+02:00")).toBeCloseTo(expected, 3);
  });

  it("names what it cannot read", () => {
    expect(() => parseEngineTime("0001-01-01")).toThrow('"0001-01-01" is not a time');
  });
});

describe("logEntries", () => {
  it("reads the service's JSON lines and skips the engine's", () => {
    const logs = [
      'time="2026-11-30T10:01:46Z" level=error msg="unable to get systemd connection"',
      '{"time":"2026-11-30T10:02:12.404Z","level":"info","msg":"model loaded","version":"v1.1.0"}',
      "{not json",
      '{"time":"2026-11-30T10:02:12.594Z","level":"info","msg":"listening"}',
    ].join("\n");
    const entries = logEntries(logs);
    expect(entries.map((entry) => entry.msg)).toEqual(["model loaded", "listening"]);
    expect(entries[0].at).toBe(Date.parse("2026-11-30T10:02:12.404Z"));
    expect(entries[0].fields.version).toBe("v1.1.0");
  });
});

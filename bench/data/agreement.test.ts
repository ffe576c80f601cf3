import { describe, expect, it } from "vitest";
import { countDisagreements, type EngineCounts } from "./agreement.ts";

// 2,000,000 rows read, 1,000 quarantined; a 20% test share is about 399,800 ± 2,828 (5 sigma).
const ours: EngineCounts = {
  read: 2_000_000,
  kept: 1_999_000,
  quarantined: 1_000,
  median: 435,
  train: 1_599_150,
  test: 399_850,
};

describe("countDisagreements", () => {
  it("accepts engines that kept the same rows and split them within the tolerance", () => {
    const polars = { ...ours, train: 1_600_900, test: 398_100 };
    const spark = { ...ours, train: 1_597_000, test: 402_000 };
    expect(countDisagreements({ ours, polars, spark }, 0.2)).toEqual([]);
  });

  it("names the engine and both counts when the rows kept differ", () => {
    const pandas = { ...ours, kept: 1_999_001, quarantined: 999, train: 1_599_151 };
    expect(countDisagreements({ ours, pandas }, 0.2)).toEqual([
      "pandas: kept 1999001 rows, but ours kept 1999000",
      "pandas: quarantined 999 rows, but ours quarantined 1000",
    ]);
  });

  it("rejects a split far from the test fraction", () => {
    const duckdb = { ...ours, train: 1_589_000, test: 410_000 };
    const [problem] = countDisagreements({ ours, duckdb }, 0.2);
    expect(problem).toMatch(
      /^duckdb: 410000 test rows of 1999000; expected about 399800 \(± 2828\)/,
    );
  });

  it("rejects counts that do not add up, and a different median", () => {
    const spark = { ...ours, train: 1_599_000, median: 434.5 };
    expect(countDisagreements({ ours, spark }, 0.2)).toEqual([
      "spark: train 1599000 + test 399850 is not the 1999000 rows kept",
      "spark: imputed total_bedrooms with 434.5, but ours with 435",
    ]);
  });
});

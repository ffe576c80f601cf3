import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { pinnedPackages } from "./python.ts";

describe("pinnedPackages", () => {
  it("pins every peer the benchmarks import, each to one version", async () => {
    const requirements = await readFile(new URL("../requirements.txt", import.meta.url), "utf8");
    expect(pinnedPackages(requirements)).toEqual(
      expect.arrayContaining([
        "pandas",
        "pyarrow",
        "scikit-learn",
        "fastapi",
        "uvicorn",
        "polars",
        "duckdb",
        "pyspark",
        "xgboost-cpu",
        "lightgbm",
      ]),
    );
  });

  it("rejects a requirement that is not pinned, naming it", () => {
    expect(() => pinnedPackages("# peers\npolars==2.1.0\npandas>=2\n")).toThrow(
      /"pandas>=2" is not pinned as name==version/,
    );
  });
});

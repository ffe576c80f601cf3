import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/housing.ts";
import { loadParams, resolveParams } from "./params.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe("params", () => {
  it("reads the committed params file", async () => {
    const params = await loadParams("params.json");
    expect(params.train.engine).toBe("forest");
    expect(params.train.nEstimators).toBeGreaterThan(0);
    expect(params.evaluate.tolerance).toBe(0.02);
  });

  it("applies overrides by alias and by dotted path; empty ones are ignored", () => {
    const params = resolveParams(
      { train: { nEstimators: 100 } },
      {
        trees: "7",
        "max-depth": "null",
        "max-features": "sqrt",
        "evaluate.rmseThreshold": "60000",
        tolerance: "",
      },
    );
    expect(params.train.nEstimators).toBe(7);
    expect(params.train.maxDepth).toBeNull();
    expect(params.train.maxFeatures).toBe("sqrt");
    expect(params.evaluate).toEqual({ rmseThreshold: 60000, tolerance: 0.02 });
  });

  it.each([
    [
      { trees: "-3" },
      /params\.json: train\.nEstimators: -3 is not allowed; expected an integer >= 1/,
    ],
    [
      { "max-features": "2" },
      /train\.maxFeatures: 2 is not allowed; expected a fraction in \(0, 1\] or "sqrt"/,
    ],
    [
      { engine: "xgboost" },
      /train\.engine: "xgboost" is not allowed; expected one of forest, ml-random-forest/,
    ],
    [{ threshold: "abc" }, /evaluate\.rmseThreshold: "abc" is not allowed; expected a number > 0/],
    [{ tolerance: "5" }, /evaluate\.tolerance: 5 is not allowed; expected a share in \[0, 1\]/],
    [
      { "test-fraction": "1.5" },
      /features\.testFraction: 1\.5 is not allowed; expected a number in \(0, 0\.99\]/,
    ],
    [{ wat: "1" }, /wat: unknown param; expected section\.name/],
  ])(
    "rejects %o with a message naming the param, the value and what is allowed",
    (override, message) => {
      expect(() =>
        resolveParams({ train: {}, evaluate: {}, features: {}, ingest: {} }, override),
      ).toThrow(message);
    },
  );

  it("names the file when it is missing or not JSON", async () => {
    await expect(loadParams(join(dir, "none.json"))).rejects.toThrow(
      /none\.json: not found; expected the pipeline's params file/,
    );
    await writeFile(join(dir, "bad.json"), "{ nope");
    await expect(loadParams(join(dir, "bad.json"))).rejects.toThrow(/bad\.json: .*JSON/);
  });
});

import { describe, expect, it } from "vitest";
import { DEFAULT_FOREST_PARAMS, featuresPerSplit, validateForestParams } from "./params.ts";

describe("validateForestParams", () => {
  it("fills defaults and keeps valid values", () => {
    expect(validateForestParams({})).toEqual(DEFAULT_FOREST_PARAMS);
    expect(
      validateForestParams({
        nEstimators: 3,
        maxDepth: 12,
        maxFeatures: "sqrt",
        maxBins: 1024,
        seed: 0,
      }),
    ).toEqual({
      ...DEFAULT_FOREST_PARAMS,
      nEstimators: 3,
      maxDepth: 12,
      maxFeatures: "sqrt",
      maxBins: 1024,
      seed: 0,
    });
  });

  it.each([
    [{ nEstimators: -3 }, "nEstimators: -3 is not allowed; expected an integer >= 1"],
    [{ nEstimators: 2.5 }, "nEstimators: 2.5 is not allowed; expected an integer >= 1"],
    [{ nEstimators: "100" }, 'nEstimators: "100" is not allowed; expected an integer >= 1'],
    [{ maxDepth: 0 }, "maxDepth: 0 is not allowed; expected an integer >= 1"],
    [{ minSamplesSplit: 1 }, "minSamplesSplit: 1 is not allowed; expected an integer >= 2"],
    [{ minSamplesLeaf: 0 }, "minSamplesLeaf: 0 is not allowed; expected an integer >= 1"],
    [{ maxFeatures: 0 }, 'maxFeatures: 0 is not allowed; expected a fraction in (0, 1] or "sqrt"'],
    [
      { maxFeatures: 1.5 },
      'maxFeatures: 1.5 is not allowed; expected a fraction in (0, 1] or "sqrt"',
    ],
    [
      { maxFeatures: "log2" },
      'maxFeatures: "log2" is not allowed; expected a fraction in (0, 1] or "sqrt"',
    ],
    [{ maxBins: 1 }, "maxBins: 1 is not allowed; expected an integer in 2..65536"],
    [{ maxBins: 70000 }, "maxBins: 70000 is not allowed; expected an integer in 2..65536"],
    [{ seed: -1 }, "seed: -1 is not allowed; expected an integer in 0..4294967295"],
    [{ maxDepth: undefined }, "maxDepth: undefined is not allowed; expected an integer >= 1"],
  ])("rejects %j", (input, message) => {
    expect(() => validateForestParams(input)).toThrow(message);
  });

  it("rejects unknown params, listing the known ones", () => {
    expect(() => validateForestParams({ n_estimators: 10 })).toThrow(
      "n_estimators: unknown forest param; expected one of nEstimators, maxDepth, minSamplesSplit, minSamplesLeaf, maxFeatures, maxBins, seed",
    );
  });
});

describe("featuresPerSplit", () => {
  it("counts like sklearn", () => {
    expect(featuresPerSplit({ ...DEFAULT_FOREST_PARAMS, maxFeatures: 1 }, 16)).toBe(16);
    expect(featuresPerSplit({ ...DEFAULT_FOREST_PARAMS, maxFeatures: "sqrt" }, 16)).toBe(4);
    expect(featuresPerSplit({ ...DEFAULT_FOREST_PARAMS, maxFeatures: 0.33 }, 16)).toBe(5);
    expect(featuresPerSplit({ ...DEFAULT_FOREST_PARAMS, maxFeatures: 0.01 }, 16)).toBe(1);
  });
});

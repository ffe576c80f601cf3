import { RandomForestRegression } from "ml-random-forest";
import { describe, expect, it } from "vitest";
import type { Dataset, Forest } from "./forest.ts";
import { loadMlRandomForest, trainWithMlRandomForest } from "./ml-random-forest.ts";
import { serializeForest } from "./model-file.ts";
import { DEFAULT_FOREST_PARAMS } from "./params.ts";

function rampData(nRows: number): Dataset {
  const x = new Float64Array(nRows * 2);
  const y = new Float64Array(nRows);
  for (let i = 0; i < nRows; i++) {
    x[i * 2] = (i % 50) / 50;
    x[i * 2 + 1] = (i * 7919) % 13;
    y[i] = 10 * x[i * 2] + 0.1 * x[i * 2 + 1];
  }
  return { x, y, nRows, nFeatures: 2, featureNames: ["a", "b"] };
}

describe("trainWithMlRandomForest", () => {
  const data = rampData(200);
  const params = { ...DEFAULT_FOREST_PARAMS, nEstimators: 10, seed: 4 };

  it("learns a ramp behind the same predict interface", () => {
    const model = trainWithMlRandomForest(data, params);
    expect(model.engine).toBe("ml-random-forest");
    expect(model.nFeatures).toBe(2);
    const predictions = model.predict(data.x, data.nRows);
    const mean = data.y.reduce((sum, v) => sum + v, 0) / data.nRows;
    const variance = data.y.reduce((sum, v) => sum + (v - mean) ** 2, 0) / data.nRows;
    const squared = predictions.reduce((sum, p, i) => sum + (p - data.y[i]) ** 2, 0);
    // ml-cart never makes a split whose children are both pure, so it does not fit the data
    // exactly; it must still explain most of the variance.
    expect(squared / data.nRows).toBeLessThan(0.05 * variance);
    for (let i = 0; i < 10; i++) {
      expect(model.predictOne(data.x.subarray(i * 2, i * 2 + 2))).toBe(predictions[i]);
    }
  });

  it("saves through its own JSON export, not the binary model format", () => {
    const model = trainWithMlRandomForest(data, params);
    const json = JSON.parse(JSON.stringify(model.toJSON()));
    const restored = loadMlRandomForest(json, data.featureNames);
    expect(restored.params).toBeNull();
    expect(restored.featureNames).toEqual(data.featureNames);
    expect(Array.from(restored.predict(data.x, data.nRows))).toEqual(
      Array.from(model.predict(data.x, data.nRows)),
    );
    expect(RandomForestRegression.load(json).predict([[0.1, 3]])).toEqual([
      model.predictOne([0.1, 3]),
    ]);
    expect(() => serializeForest(model as unknown as Forest)).toThrow(
      /only forests trained by trainForest/,
    );
  });
});

// The ml-random-forest package as an alternative engine behind the same predict interface.
// Its CART search is quadratic in the rows of a node, so it only suits small data; its models
// cannot be stored in our binary model format and are saved with their own toJSON() instead.

import { RandomForestRegression } from "ml-random-forest";
import type { Dataset, ForestPredictor } from "./forest.ts";
import { type ForestParams, featuresPerSplit, validateForestParams } from "./params.ts";

/** An ml-random-forest model with the stage's predict interface. */
export interface MlRandomForestModel extends ForestPredictor {
  readonly engine: "ml-random-forest";
  /** The params it was trained with; null when loaded from a file. */
  readonly params: ForestParams | null;
  /** The package's own JSON export; RandomForestRegression.load(json) restores it. */
  toJSON(): unknown;
}

/**
 * Trains ml-random-forest with the closest equivalent params. Differences: it samples
 * `maxFeatures` once per tree rather than per split, ignores minSamplesLeaf and maxBins, and
 * its seed drives its own generator (so trees differ from trainForest's).
 */
export function trainWithMlRandomForest(data: Dataset, params: ForestParams): MlRandomForestModel {
  const checked = validateForestParams({ ...params });
  const { nRows, nFeatures } = data;
  const rows: number[][] = [];
  for (let i = 0; i < nRows; i++)
    rows.push(Array.from(data.x.subarray(i * nFeatures, (i + 1) * nFeatures)));
  const model = new RandomForestRegression({
    nEstimators: checked.nEstimators,
    // An integer is a feature count for ml-random-forest (1.0 would mean one feature).
    maxFeatures: featuresPerSplit(checked, nFeatures),
    replacement: false,
    useSampleBagging: true,
    noOOB: true,
    seed: checked.seed | 0,
    treeOptions: {
      maxDepth: checked.maxDepth ?? Number.POSITIVE_INFINITY,
      // ml-cart makes a leaf of any node with at most minNumSamples rows.
      minNumSamples: checked.minSamplesSplit - 1,
    },
  });
  model.train(rows, Array.from(data.y));
  return wrap(model, [...data.featureNames], checked);
}

/** Restores a model saved with toJSON(), for the feature names it was trained on. */
export function loadMlRandomForest(json: unknown, featureNames: string[]): MlRandomForestModel {
  const model = RandomForestRegression.load(
    json as Parameters<typeof RandomForestRegression.load>[0],
  );
  return wrap(model, [...featureNames], null);
}

function wrap(
  model: RandomForestRegression,
  featureNames: string[],
  params: ForestParams | null,
): MlRandomForestModel {
  const nFeatures = featureNames.length;
  return {
    engine: "ml-random-forest",
    params,
    nFeatures,
    featureNames,
    predictOne(row: ArrayLike<number>): number {
      if (row.length < nFeatures) {
        throw new Error(`predictOne: the row has ${row.length} values; expected ${nFeatures}`);
      }
      return model.predict([Array.from({ length: nFeatures }, (_, f) => row[f])])[0];
    },
    predict(x: Float64Array, count: number): Float64Array {
      if (x.length < count * nFeatures) {
        throw new Error(
          `predict: the matrix has ${x.length} values; expected ${count} rows * ${nFeatures} features`,
        );
      }
      const batch: number[][] = [];
      for (let i = 0; i < count; i++)
        batch.push(Array.from(x.subarray(i * nFeatures, (i + 1) * nFeatures)));
      return Float64Array.from(model.predict(batch));
    },
    toJSON: () => model.toJSON(),
  };
}

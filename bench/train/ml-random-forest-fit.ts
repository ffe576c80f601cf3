// Child process of `npm run bench -- train`: fits ml-random-forest on ROWS random training rows
// of the split files and prints one JSON line (fit seconds, test RMSE). The parent kills it at
// its time limit: ml-random-forest's split search is quadratic in a node's rows.
// Usage: node bench/train/ml-random-forest-fit.ts DIR ROWS TREES SEED
import { trainWithMlRandomForest } from "../../lib/forest/ml-random-forest.ts";
import { DEFAULT_FOREST_PARAMS } from "../../lib/forest/params.ts";
import { readSplitFiles, rmse } from "./split-files.ts";

const [dir, rows, trees, seed] = process.argv.slice(2);
const { train, test } = await readSplitFiles(dir);
const nRows = Math.min(Number(rows), train.nRows);
// A seeded random subsample: the split keeps the CSV's order, which is grouped by region.
const order = Int32Array.from({ length: train.nRows }, (_, i) => i);
let state = Number(seed) >>> 0;
for (let i = order.length - 1; i > 0; i--) {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  const j = Math.floor((state / 4294967296) * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
const F = train.nFeatures;
const subsample = { ...train, x: new Float64Array(nRows * F), y: new Float64Array(nRows), nRows };
for (let i = 0; i < nRows; i++) {
  subsample.x.set(train.x.subarray(order[i] * F, (order[i] + 1) * F), i * F);
  subsample.y[i] = train.y[order[i]];
}
const params = { ...DEFAULT_FOREST_PARAMS, nEstimators: Number(trees), seed: Number(seed) };
const started = performance.now();
const model = trainWithMlRandomForest(subsample, params);
const fitSeconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    rows: nRows,
    fit_s: fitSeconds,
    rmse: rmse(model.predict(test.x, test.nRows), test.y),
  }),
);

// Child process of `npm run bench -- train`: fits our forest on the split files and prints one
// JSON line (fit seconds, test RMSE, model file size, one-row predict time, peak RSS).
// Usage: node bench/train/forest-fit.ts DIR TREES SEED REPEAT [WORKERS]
import { availableParallelism } from "node:os";
import { type Forest, oobRmse } from "../../lib/forest/forest.ts";
import { serializeForest } from "../../lib/forest/model-file.ts";
import { DEFAULT_FOREST_PARAMS } from "../../lib/forest/params.ts";
import { trainForest } from "../../lib/forest/train.ts";
import { readSplitFiles, rmse } from "./split-files.ts";

const [dir, trees, seed, repeat, workers] = process.argv.slice(2);
const { train, test } = await readSplitFiles(dir);
const params = { ...DEFAULT_FOREST_PARAMS, nEstimators: Number(trees), seed: Number(seed) };
const workerCount = workers ? Number(workers) : availableParallelism();

// The best of `repeat` fits, as for sklearn: the machine may be shared with other work.
let fitSeconds = Number.POSITIVE_INFINITY;
let forest: Forest | undefined;
for (let run = 0; run < Number(repeat); run++) {
  const started = performance.now();
  forest = await trainForest(train, params, { workers: workerCount });
  fitSeconds = Math.min(fitSeconds, (performance.now() - started) / 1000);
}
if (!forest) throw new Error(`forest-fit: repeat must be at least 1, not ${repeat}`);

const testRmse = rmse(forest.predict(test.x, test.nRows), test.y);
const modelBytes = serializeForest(forest).byteLength;

// One-row predictions on test rows in a shuffled order, after a warm-up, as a server sees them.
const rows = Array.from({ length: test.nRows }, (_, i) =>
  test.x.subarray(i * test.nFeatures, (i + 1) * test.nFeatures),
);
let sink = 0;
for (let i = 0; i < 5000; i++) sink += forest.predictOne(rows[i % rows.length]);
const calls = 20_000;
const predictStarted = performance.now();
for (let i = 0; i < calls; i++) sink += forest.predictOne(rows[(i * 7919) % rows.length]);
const predictOneUs = ((performance.now() - predictStarted) * 1000) / calls;

console.log(
  JSON.stringify({
    fit_s: fitSeconds,
    rmse: testRmse,
    oob_rmse: oobRmse(forest, train),
    model_bytes: modelBytes,
    nodes: forest.nodeCount,
    predict_one_us: predictOneUs,
    workers: workerCount,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    checksum: Number.isFinite(sink),
  }),
);

// Child process of `npm run bench -- train`: fits our forest on the split files and prints one
// JSON line (fit seconds, test RMSE, model file size, one-row predict time, peak RSS).
// Usage: node bench/train/forest-fit.ts DIR --trees N --seed S --repeat N --workers N
//        [--predict-calls N --predict-warmup N]
import { parseArgs } from "node:util";
import { type Forest, oobRmse } from "../../lib/forest/forest.ts";
import { serializeForest } from "../../lib/forest/model-file.ts";
import { DEFAULT_FOREST_PARAMS } from "../../lib/forest/params.ts";
import { trainForest } from "../../lib/forest/train.ts";
import { readSplitFiles, rmse } from "./split-files.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    trees: { type: "string", default: "100" },
    seed: { type: "string", default: "42" },
    repeat: { type: "string", default: "1" },
    workers: { type: "string" },
    "predict-calls": { type: "string", default: "0" },
    "predict-warmup": { type: "string", default: "0" },
  },
});
const { train, test } = await readSplitFiles(positionals[0]);
const params = {
  ...DEFAULT_FOREST_PARAMS,
  nEstimators: Number(values.trees),
  seed: Number(values.seed),
};
const workers = values.workers ? Number(values.workers) : undefined;

// The best of `repeat` fits, as for the peers: the machine may be shared with other work.
let fitSeconds = Number.POSITIVE_INFINITY;
let forest: Forest | undefined;
for (let run = 0; run < Number(values.repeat); run++) {
  const started = performance.now();
  forest = await trainForest(train, params, workers === undefined ? {} : { workers });
  fitSeconds = Math.min(fitSeconds, (performance.now() - started) / 1000);
}
if (!forest) throw new Error(`forest-fit: --repeat must be at least 1, not ${values.repeat}`);

// One-row predictions through the public per-row call, on test rows in the same order, with
// the same warm-up and count as the peers (bench/train/peer_fit.py).
const calls = Number(values["predict-calls"]);
const warmup = Number(values["predict-warmup"]);
const rows = Array.from({ length: test.nRows }, (_, i) =>
  test.x.subarray(i * test.nFeatures, (i + 1) * test.nFeatures),
);
let sink = 0;
for (let i = 0; i < warmup; i++) sink += forest.predictOne(rows[(i * 7919) % rows.length]);
const predictStarted = performance.now();
for (let i = 0; i < calls; i++) sink += forest.predictOne(rows[(i * 7919) % rows.length]);
const predictOneUs = calls > 0 ? ((performance.now() - predictStarted) * 1000) / calls : null;

console.log(
  JSON.stringify({
    fit_s: fitSeconds,
    rmse: rmse(forest.predict(test.x, test.nRows), test.y),
    oob_rmse: oobRmse(forest, train),
    model_bytes: serializeForest(forest).byteLength,
    nodes: forest.nodeCount,
    predict_one_us: predictOneUs,
    workers: workers ?? null,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    checksum: Number.isFinite(sink),
  }),
);

// Training: bins the data once, shares it with worker threads and grows trees in parallel.
// Each tree depends only on (data, params, seed, tree index), so the model is the same for any
// number of workers and any split of the trees into shards.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { binColumns, computeBinEdges, rowsByBin } from "./binning.ts";
import type { Dataset } from "./forest.ts";
import { datasetSha256, type Forest, forestFromWalks, type WalkTree } from "./forest.ts";
import { type ForestParams, validateForestParams } from "./params.ts";

export interface TrainOptions {
  /** Worker threads (default: all cores). */
  workers?: number;
  /** Grow only trees start..end-1 of the forest: a shard for mergeForests. */
  treeRange?: [number, number];
  /** Called after each tree with (trees done, trees to grow). */
  onProgress?: (done: number, total: number) => void;
}

/** The first message a worker receives: the shared training data. */
export interface WorkerSetup {
  kind: "setup";
  /** Column-major bins, 1 or 2 bytes each. */
  colBins: SharedArrayBuffer;
  binBytes: 1 | 2;
  /** Per feature, the rows ordered by bin: Uint16 when nRows <= 65,536, else Int32. */
  order: SharedArrayBuffer;
  y: SharedArrayBuffer;
  nRows: number;
  nFeatures: number;
  edges: Float32Array[];
  params: ForestParams;
}
export interface GrowRequest {
  kind: "grow";
  tree: number;
}
export type ToWorker = WorkerSetup | GrowRequest;
/** A grown tree as a worker sends it back: walk records (see treeWalk) and importances. */
export interface GrowResult extends WalkTree {
  tree: number;
}

/** Throws naming the row and feature of the first value a forest cannot train on. */
export function validateDataset(data: Dataset): void {
  const { x, y, nRows, nFeatures, featureNames } = data;
  if (!Number.isInteger(nRows) || nRows < 1) {
    throw new Error(`dataset: nRows ${nRows} is not allowed; expected an integer >= 1`);
  }
  if (!Number.isInteger(nFeatures) || nFeatures < 1 || nFeatures > 32_767) {
    throw new Error(
      `dataset: nFeatures ${nFeatures} is not allowed; expected an integer in 1..32767`,
    );
  }
  if (featureNames.length !== nFeatures) {
    throw new Error(
      `dataset: ${featureNames.length} feature names for ${nFeatures} features; expected one name per feature`,
    );
  }
  if (x.length !== nRows * nFeatures) {
    throw new Error(
      `dataset: x has ${x.length} values; expected nRows * nFeatures = ${nRows * nFeatures}`,
    );
  }
  if (y.length !== nRows)
    throw new Error(`dataset: y has ${y.length} values; expected nRows = ${nRows}`);
  for (let i = 0; i < nRows; i++) {
    if (!Number.isFinite(y[i]))
      throw new Error(`dataset: row ${i}, target: ${y[i]} is not a finite number`);
    for (let f = 0; f < nFeatures; f++) {
      const value = x[i * nFeatures + f];
      if (!Number.isFinite(value)) {
        throw new Error(
          `dataset: row ${i}, feature ${featureNames[f]}: ${value} is not a finite number; impute missing values before training`,
        );
      }
    }
  }
}

function resolveTreeRange(
  range: [number, number] | undefined,
  nEstimators: number,
): [number, number] {
  if (range === undefined) return [0, nEstimators];
  const [start, end] = range;
  if (
    !Number.isInteger(start) ||
    !Number.isInteger(end) ||
    start < 0 ||
    end <= start ||
    end > nEstimators
  ) {
    throw new Error(
      `treeRange: [${start}, ${end}] is not allowed; expected integers 0 <= start < end <= nEstimators (${nEstimators})`,
    );
  }
  return [start, end];
}

/** Trains a random-forest regressor (or the shard options.treeRange of it) on worker threads. */
export async function trainForest(
  data: Dataset,
  params: ForestParams,
  options: TrainOptions = {},
): Promise<Forest> {
  const checked = validateForestParams({ ...params });
  validateDataset(data);
  const [start, end] = resolveTreeRange(options.treeRange, checked.nEstimators);
  const requested = options.workers ?? availableParallelism();
  if (!Number.isInteger(requested) || requested < 1) {
    throw new Error(`workers: ${requested} is not allowed; expected an integer >= 1`);
  }
  const { nRows, nFeatures } = data;
  const total = end - start;
  const workerCount = Math.min(requested, total);
  // Workers start up (a thread, an isolate, module loading) while this thread bins the data.
  const workers = Array.from(
    { length: workerCount },
    () => new Worker(new URL("./worker.ts", import.meta.url)),
  );
  const trees: WalkTree[] = new Array(total);
  try {
    const setup = binForWorkers(data, checked);
    let nextTree = start;
    let done = 0;
    const grown = new Promise<void>((resolve, reject) => {
      const feed = (worker: Worker) => {
        if (nextTree < end)
          worker.postMessage({ kind: "grow", tree: nextTree++ } satisfies ToWorker);
      };
      for (const worker of workers) {
        worker.on("message", (result: GrowResult) => {
          trees[result.tree - start] = { walk: result.walk, importance: result.importance };
          done++;
          try {
            options.onProgress?.(done, total);
          } catch (error) {
            reject(error);
            return;
          }
          if (done === total) resolve();
          else feed(worker);
        });
        worker.on("error", reject);
        worker.on("exit", (code) => {
          if (done < total) {
            reject(
              new Error(`forest worker exited with code ${code} after ${done} of ${total} trees`),
            );
          }
        });
        worker.postMessage(setup);
        // Two requests in flight per worker, so it never waits for the main thread between trees.
        feed(worker);
        feed(worker);
      }
    });
    // The fingerprint is computed while the workers grow trees.
    const trainingDataSha256 = datasetSha256(data);
    await grown;
    return forestFromWalks(
      {
        params: checked,
        nFeatures,
        featureNames: [...data.featureNames],
        trainingRows: nRows,
        trainingDataSha256,
        treeStart: start,
      },
      trees,
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** Bins the data into shared memory: column-major bins and each feature's rows ordered by bin. */
function binForWorkers(data: Dataset, params: ForestParams): WorkerSetup {
  const { nRows, nFeatures } = data;
  const edges = computeBinEdges(data.x, nRows, nFeatures, params.maxBins);
  const binBytes = edges.every((e) => e.length + 1 <= 256) ? 1 : 2;
  const colBins = new SharedArrayBuffer(nRows * nFeatures * binBytes);
  const bins = binBytes === 1 ? new Uint8Array(colBins) : new Uint16Array(colBins);
  binColumns(data.x, nRows, nFeatures, edges, bins);
  // Row indices take 2 bytes when they can: each tree starts by reading all of them.
  const narrowRows = nRows <= 65_536;
  const order = new SharedArrayBuffer(nRows * nFeatures * (narrowRows ? 2 : 4));
  rowsByBin(
    bins,
    nRows,
    nFeatures,
    edges,
    narrowRows ? new Uint16Array(order) : new Int32Array(order),
  );
  const y = new SharedArrayBuffer(nRows * 8);
  new Float64Array(y).set(data.y);
  return { kind: "setup", colBins, binBytes, order, y, nRows, nFeatures, edges, params };
}

// Training: shares the data with worker threads, which bin it and grow trees in parallel.
// Each tree depends only on (data, params, seed, tree index), so the model is the same for any
// number of workers and any split of the trees into shards.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Dataset } from "./forest.ts";
import { datasetSha256, type Forest, forestFromWalks, type WalkTree } from "./forest.ts";
import { type ForestParams, validateForestParams } from "./params.ts";
import { binSharedFeatures, createSharedTraining, type SharedTraining } from "./shared-training.ts";

export interface TrainOptions {
  /** Worker threads (default: all cores). */
  workers?: number;
  /** Grow only trees start..end-1 of the forest: a shard for mergeForests. */
  treeRange?: [number, number];
  /** Called after each tree with (trees done, trees to grow). */
  onProgress?: (done: number, total: number) => void;
}

/** Messages to a worker: first its share of the features to bin, then trees to grow. */
export type ToWorker = { kind: "bin"; shared: SharedTraining } | { kind: "grow"; tree: number };
/** Messages from a worker: its features are binned, or a tree as walk records (see treeWalk). */
export type FromWorker = { kind: "binned" } | ({ kind: "tree"; tree: number } & WalkTree);

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
  const [start, end] = resolveTreeRange(options.treeRange, checked.nEstimators);
  const requested = options.workers ?? availableParallelism();
  if (!Number.isInteger(requested) || requested < 1) {
    throw new Error(`workers: ${requested} is not allowed; expected an integer >= 1`);
  }
  const { nRows, nFeatures } = data;
  const total = end - start;
  const workerCount = Math.min(requested, total);
  // Workers start up (a thread, an isolate, module loading) while this thread checks the data;
  // then each bins a share of the features.
  const workers = Array.from(
    { length: workerCount },
    () => new Worker(new URL("./worker.ts", import.meta.url)),
  );
  const trees: WalkTree[] = new Array(total);
  try {
    validateDataset(data);
    const shared = createSharedTraining(data, checked);
    let nextTree = start;
    let binned = 0;
    let done = 0;
    const grown = new Promise<void>((resolve, reject) => {
      const feed = (worker: Worker) => {
        if (nextTree < end)
          worker.postMessage({ kind: "grow", tree: nextTree++ } satisfies ToWorker);
      };
      for (const worker of workers) {
        worker.on("message", (message: FromWorker) => {
          if (message.kind === "binned") {
            // Trees need every feature binned: start them once every worker has run out of features.
            if (++binned < workers.length) return;
            // Two requests in flight per worker, so it never waits for the main thread between trees.
            for (const each of workers) {
              feed(each);
              feed(each);
            }
            return;
          }
          trees[message.tree - start] = { walk: message.walk, importance: message.importance };
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
        worker.postMessage({ kind: "bin", shared } satisfies ToWorker);
      }
    });
    // This thread bins features too while the workers are still starting up; they take the
    // features it has not reached yet.
    binSharedFeatures(shared);
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

// Training: shares the data with worker threads; this thread and the workers bin it and grow trees
// in parallel.
// Each tree depends only on (data, params, seed, tree index), so the model is the same for any
// number of workers and any split of the trees into shards.

import module from "node:module";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Dataset } from "./forest.ts";
import { datasetSha256, type Forest, WalkAssembler, type WalkTree } from "./forest.ts";
import { type ForestParams, validateForestParams } from "./params.ts";
import {
  allFeaturesBinned,
  binSharedFeatures,
  createSharedTraining,
  growWalkTree,
  sharedGrower,
  takeTree,
} from "./shared-training.ts";

export interface TrainOptions {
  /** Threads that grow trees, this one included (default: all cores); the others are worker threads. */
  workers?: number;
  /** Grow only trees start..end-1 of the forest: a shard for mergeForests. */
  treeRange?: [number, number];
  /** Called after each tree with (trees done, trees to grow). */
  onProgress?: (done: number, total: number) => void;
}

/** What a worker sends back: one grown tree as walk records (see treeWalk). */
export type FromWorker = { tree: number } & WalkTree;

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

/**
 * The environment of worker threads: Node's compile cache on, unless the user chose otherwise.
 * Each worker is a fresh isolate that would otherwise strip the types of its TypeScript modules
 * again, which costs more than the rest of its start-up; with the cache, that happens once per
 * machine and source version. (Node keys the cache by its version and the files' contents.)
 */
function workerEnv(): NodeJS.ProcessEnv {
  if (process.env.NODE_COMPILE_CACHE !== undefined) return process.env;
  return {
    ...process.env,
    NODE_COMPILE_CACHE: module.getCompileCacheDir() ?? join(tmpdir(), "node-compile-cache"),
  };
}

/** Trains a random-forest regressor (or the shard options.treeRange of it) on this thread and worker threads. */
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
  // Worker threads start up (a thread, an isolate, module loading) while this thread checks and
  // bins the data, and then grows trees itself.
  const workers = Array.from(
    { length: Math.min(requested, total) - 1 },
    () => new Worker(new URL("./worker.ts", import.meta.url), { env: workerEnv() }),
  );
  const trees = new WalkAssembler(total, nFeatures);
  let done = 0;
  let failure: unknown;
  // Settles when every tree is in, or with the first failure of any thread or of onProgress.
  let resolve = () => {};
  let reject: (error: unknown) => void = () => {};
  const finished = new Promise<void>((onDone, onFailure) => {
    resolve = onDone;
    reject = onFailure;
  });
  // The rejection is awaited below; without this, an early failure would count as unhandled.
  finished.catch(() => {});
  const fail = (error: unknown) => {
    failure ??= error;
    reject(failure);
  };
  // Set once trainForest settles: from then on, trees still coming in are dropped.
  let closed = false;
  const addTree = (tree: number, grown: WalkTree) => {
    if (closed) return;
    trees.add(tree - start, grown);
    done++;
    try {
      options.onProgress?.(done, total);
    } catch (error) {
      fail(error);
      return;
    }
    if (done === total) resolve();
  };
  try {
    for (const worker of workers) {
      worker.on("message", (message: FromWorker) =>
        addTree(message.tree, { walk: message.walk, importance: message.importance }),
      );
      worker.on("error", fail);
      worker.on("exit", (code) => {
        if (code !== 0 && done < total) {
          fail(new Error(`forest worker exited with code ${code} after ${done} of ${total} trees`));
        }
      });
    }
    validateDataset(data);
    const shared = createSharedTraining(data, checked, [start, end]);
    for (const worker of workers) worker.postMessage(shared);
    binSharedFeatures(shared);
    await Promise.race([allFeaturesBinned(shared), finished]);
    const grower = sharedGrower(shared);
    for (let tree = takeTree(shared); tree >= 0; tree = takeTree(shared)) {
      addTree(tree, growWalkTree(grower, tree));
      if (failure !== undefined) throw failure;
      // Lets the workers' trees (and their progress calls) in between this thread's trees.
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The fingerprint is computed while the workers grow their last trees.
    const trainingDataSha256 = datasetSha256(data);
    await finished;
    return trees.forest({
      params: checked,
      nFeatures,
      featureNames: [...data.featureNames],
      trainingRows: nRows,
      trainingDataSha256,
      treeStart: start,
    });
  } finally {
    // Not awaited: once every tree is in, a worker has nothing left to do, and tearing its
    // isolate down (several milliseconds) need not delay the forest. After a failure, whatever a
    // worker still sends is dropped, so onProgress is never called once trainForest has settled.
    closed = true;
    for (const worker of workers) void worker.terminate();
  }
}

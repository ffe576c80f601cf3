// The shared memory of one training: the raw data goes in, every thread bins its share of the
// features into it in parallel, then every thread grows trees on all of it, taking tree indices
// from a shared counter until none are left.

import { Binner } from "./binning.ts";
import type { Dataset } from "./forest.ts";
import { type BinnedData, TreeGrower } from "./grow.ts";
import type { ForestParams } from "./params.ts";
import { treeWalk, type WalkTree } from "./walk.ts";

export interface SharedTraining {
  params: ForestParams;
  nRows: number;
  nFeatures: number;
  /** The trees to grow: treeStart..treeEnd-1. */
  treeStart: number;
  treeEnd: number;
  /** Row-major features (Float64) and the target (Float64), copied from the dataset. */
  x: SharedArrayBuffer;
  y: SharedArrayBuffer;
  /**
   * Row-major bins, as growing reads them (all features of a row together): Uint8 when
   * maxBins <= 256, else Uint16. Each binning thread writes whole features; threads binning at the
   * same time share cache lines, but binning is short and the calling thread mostly does it alone.
   */
  bins: SharedArrayBuffer;
  /** Per feature, up to maxBins - 1 float32 bin edges. */
  edges: SharedArrayBuffer;
  /**
   * Int32: the number of edges of each feature, then the number of features binned so far, the
   * next feature to bin and the next tree to grow (threads take one at a time until none are left).
   */
  counts: SharedArrayBuffer;
}

function binsView(shared: SharedTraining): Uint8Array | Uint16Array {
  return shared.params.maxBins <= 256 ? new Uint8Array(shared.bins) : new Uint16Array(shared.bins);
}

/** Allocates the shared memory of a training of trees [treeStart, treeEnd) and copies the dataset into it. */
export function createSharedTraining(
  data: Dataset,
  params: ForestParams,
  [treeStart, treeEnd]: [number, number] = [0, params.nEstimators],
): SharedTraining {
  const { nRows, nFeatures } = data;
  const x = new SharedArrayBuffer(nRows * nFeatures * 8);
  new Float64Array(x).set(data.x.subarray(0, nRows * nFeatures));
  const y = new SharedArrayBuffer(nRows * 8);
  new Float64Array(y).set(data.y.subarray(0, nRows));
  const counts = new SharedArrayBuffer((nFeatures + 3) * 4);
  new Int32Array(counts)[nFeatures + 2] = treeStart;
  return {
    params,
    nRows,
    nFeatures,
    treeStart,
    treeEnd,
    x,
    y,
    bins: new SharedArrayBuffer(nRows * nFeatures * (params.maxBins <= 256 ? 1 : 2)),
    edges: new SharedArrayBuffer(nFeatures * (params.maxBins - 1) * 4),
    counts,
  };
}

/** Bins features into the shared memory, taking them one at a time until none are left. */
export function binSharedFeatures(shared: SharedTraining): void {
  const { nRows, nFeatures, params } = shared;
  const x = new Float64Array(shared.x);
  const bins = binsView(shared);
  const allEdges = new Float32Array(shared.edges);
  const counts = new Int32Array(shared.counts);
  // Made on the first feature taken: a thread that comes late may find none left.
  let binner: Binner | undefined;
  for (
    let f = Atomics.add(counts, nFeatures + 1, 1);
    f < nFeatures;
    f = Atomics.add(counts, nFeatures + 1, 1)
  ) {
    binner ??= new Binner(nRows, params.maxBins);
    const edges = binner.bin(x, nFeatures, f, bins);
    allEdges.set(edges, f * (params.maxBins - 1));
    counts[f] = edges.length;
    // A sequentially consistent add publishes the writes above to whoever reads the count with
    // Atomics.load (binnedData), and wakes the threads waiting for the last feature.
    Atomics.add(counts, nFeatures, 1);
    Atomics.notify(counts, nFeatures);
  }
}

/**
 * Resolves once every feature is binned: binSharedFeatures has run out of features to take, but
 * other threads may still be binning theirs. Asynchronous, so that the caller's thread still hears
 * of a failing worker.
 */
export async function allFeaturesBinned(shared: SharedTraining): Promise<void> {
  const counts = new Int32Array(shared.counts);
  for (;;) {
    const binned = Atomics.load(counts, shared.nFeatures);
    if (binned === shared.nFeatures) return;
    await waitAsync(counts, shared.nFeatures, binned).value;
  }
}

/** Atomics.waitAsync (in Node since 16; TypeScript's es2023 lib does not declare it). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number): { value: Promise<string> | string };
  }
).waitAsync;

/** Blocks this (worker) thread until every feature is binned. */
export function waitForAllFeaturesBinned(shared: SharedTraining): void {
  const counts = new Int32Array(shared.counts);
  for (;;) {
    const binned = Atomics.load(counts, shared.nFeatures);
    if (binned === shared.nFeatures) return;
    Atomics.wait(counts, shared.nFeatures, binned);
  }
}

/** The binned data, once every feature has been binned: views of the shared memory. */
export function binnedData(shared: SharedTraining): BinnedData {
  const { nRows, nFeatures, params } = shared;
  const counts = new Int32Array(shared.counts);
  const binned = Atomics.load(counts, nFeatures);
  if (binned !== nFeatures) {
    throw new Error(
      `forest training: ${binned} of ${nFeatures} features are binned; expected all of them`,
    );
  }
  const allEdges = new Float32Array(shared.edges);
  return {
    rowBins: binsView(shared),
    y: new Float64Array(shared.y),
    nRows,
    nFeatures,
    edges: Array.from({ length: nFeatures }, (_, f) =>
      allEdges.subarray(f * (params.maxBins - 1), f * (params.maxBins - 1) + counts[f]),
    ),
  };
}

/** The next tree for this thread to grow, or -1 when every tree is taken. */
export function takeTree(shared: SharedTraining): number {
  const tree = Atomics.add(new Int32Array(shared.counts), shared.nFeatures + 2, 1);
  return tree < shared.treeEnd ? tree : -1;
}

/** One thread's tree grower, with treeWalk's scratch space. */
export interface SharedGrower {
  grower: TreeGrower;
  walkScratch: Int32Array;
}

/** A grower on the shared data, once every feature has been binned. */
export function sharedGrower(shared: SharedTraining): SharedGrower {
  return {
    grower: new TreeGrower(binnedData(shared), shared.params),
    // A tree has at most 2 * nRows - 1 nodes.
    walkScratch: new Int32Array(4 * shared.nRows),
  };
}

/** Grows tree `tree` and turns it into the forest's walk records (see treeWalk). */
export function growWalkTree({ grower, walkScratch }: SharedGrower, tree: number): WalkTree {
  const grown = grower.grow(tree);
  return {
    walk: treeWalk(grown.feature, grown.value, grown.right, grower.nFeatures, walkScratch),
    importance: grown.importance,
  };
}

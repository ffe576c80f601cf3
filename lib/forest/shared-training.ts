// The shared memory of one training: the raw data goes in, the workers bin their share of the
// features into it in parallel, then every worker grows trees on all of it.

import { binFeature } from "./binning.ts";
import type { Dataset } from "./forest.ts";
import type { BinnedData } from "./grow.ts";
import type { ForestParams } from "./params.ts";

export interface SharedTraining {
  params: ForestParams;
  nRows: number;
  nFeatures: number;
  /** Row-major features (Float64) and the target (Float64), copied from the dataset. */
  x: SharedArrayBuffer;
  y: SharedArrayBuffer;
  /** Column-major bins (each binning thread writes whole features): Uint8 when maxBins <= 256, else Uint16. */
  bins: SharedArrayBuffer;
  /** Per feature, up to maxBins - 1 float32 bin edges. */
  edges: SharedArrayBuffer;
  /**
   * Int32: the number of edges of each feature, then the number of features binned so far, then
   * the next feature to bin (workers take features one at a time until none are left).
   */
  counts: SharedArrayBuffer;
}

function binsView(shared: SharedTraining): Uint8Array | Uint16Array {
  return shared.params.maxBins <= 256 ? new Uint8Array(shared.bins) : new Uint16Array(shared.bins);
}

/** Allocates the shared memory of a training and copies the dataset into it. */
export function createSharedTraining(data: Dataset, params: ForestParams): SharedTraining {
  const { nRows, nFeatures } = data;
  const x = new SharedArrayBuffer(nRows * nFeatures * 8);
  new Float64Array(x).set(data.x.subarray(0, nRows * nFeatures));
  const y = new SharedArrayBuffer(nRows * 8);
  new Float64Array(y).set(data.y.subarray(0, nRows));
  return {
    params,
    nRows,
    nFeatures,
    x,
    y,
    bins: new SharedArrayBuffer(nRows * nFeatures * (params.maxBins <= 256 ? 1 : 2)),
    edges: new SharedArrayBuffer(nFeatures * (params.maxBins - 1) * 4),
    counts: new SharedArrayBuffer((nFeatures + 2) * 4),
  };
}

/** Bins features into the shared memory, taking them one at a time until none are left. */
export function binSharedFeatures(shared: SharedTraining): void {
  const { nRows, nFeatures, params } = shared;
  const x = new Float64Array(shared.x);
  const bins = binsView(shared);
  const allEdges = new Float32Array(shared.edges);
  const counts = new Int32Array(shared.counts);
  for (
    let f = Atomics.add(counts, nFeatures + 1, 1);
    f < nFeatures;
    f = Atomics.add(counts, nFeatures + 1, 1)
  ) {
    const edges = binFeature(x, nRows, nFeatures, f, params.maxBins, bins);
    allEdges.set(edges, f * (params.maxBins - 1));
    counts[f] = edges.length;
    // A sequentially consistent add publishes the writes above to whoever reads the count with
    // Atomics.load (binnedData).
    Atomics.add(counts, nFeatures, 1);
  }
}

/**
 * The binned data, once every feature has been binned: a private row-major copy of the bins, since
 * growing reads all features of a row together.
 */
export function binnedData(shared: SharedTraining): BinnedData {
  const { nRows, nFeatures, params } = shared;
  const counts = new Int32Array(shared.counts);
  const binned = Atomics.load(counts, nFeatures);
  if (binned !== nFeatures) {
    throw new Error(
      `forest worker: ${binned} of ${nFeatures} features are binned; expected all of them`,
    );
  }
  const columns = binsView(shared);
  const rowBins =
    params.maxBins <= 256 ? new Uint8Array(nRows * nFeatures) : new Uint16Array(nRows * nFeatures);
  for (let f = 0; f < nFeatures; f++) {
    const base = f * nRows;
    for (let row = 0; row < nRows; row++) rowBins[row * nFeatures + f] = columns[base + row];
  }
  const allEdges = new Float32Array(shared.edges);
  return {
    rowBins,
    y: new Float64Array(shared.y),
    nRows,
    nFeatures,
    edges: Array.from({ length: nFeatures }, (_, f) =>
      allEdges.subarray(f * (params.maxBins - 1), f * (params.maxBins - 1) + counts[f]),
    ),
  };
}

// Growing one regression tree on pre-binned data: the hot loop of training. The grower itself is
// WebAssembly (lib/forest/assembly/grow.ts, which describes the algorithm; see wasm.ts); this
// class hands it the data and reads back its trees. Each TreeGrower has an instance of its own:
// the grower allocates its arrays once, and growing a tree allocates nothing new but a histogram
// now and then.

import type { ForestParams } from "./params.ts";
import { featuresPerSplit } from "./params.ts";
import { bootstrapCounts, TreeRng } from "./rng.ts";
import { addresses, type ForestWasm, instantiate } from "./wasm.ts";

/** The read-only training data one grower sees. */
export interface BinnedData {
  /** Row-major bin indices: rowBins[row * nFeatures + f]. */
  rowBins: Uint8Array | Uint16Array;
  y: Float64Array;
  nRows: number;
  nFeatures: number;
  /** Per feature, the float32 upper edges of its bins (nBins - 1 of them). */
  edges: Float32Array[];
}

/**
 * One grown tree in preorder: the left child of node i is i + 1. feature and value are views
 * into the grower's arrays, valid until its next grow.
 */
export interface GrownTree {
  /** Split feature, or -1 for a leaf. */
  feature: Int16Array;
  /** Split threshold (go left iff value <= threshold), or the leaf's mean target. */
  value: Float32Array;
  /** Weighted impurity decrease per feature, summed over the tree's splits. */
  importance: Float64Array;
  /** The right child of each split node (leaves: unspecified), so that no one has to search for it. */
  right: Int32Array;
}

/** Nodes with at most this many rows are grown from node-local arrays: the grower's constant. */
export function localRows(): number {
  return instantiate().LOCAL_ROWS.value;
}

/** Where the grower's arrays are in its memory, in the order publish (lib/forest/assembly/grow.ts) gives them. */
const ADDRESSES = [
  "rowBins",
  "y",
  "edges",
  "edgeCounts",
  "bootstrap",
  "outFeature",
  "outValue",
  "outRight",
  "importance",
] as const;
type Addresses = Record<(typeof ADDRESSES)[number], number>;

export class TreeGrower {
  readonly nFeatures: number;
  private readonly nRows: number;
  private readonly seed: number;
  private readonly wasm: ForestWasm;
  private readonly at: Addresses;

  constructor(data: BinnedData, params: ForestParams) {
    const { nRows, nFeatures } = data;
    this.nRows = nRows;
    this.nFeatures = nFeatures;
    this.seed = params.seed;
    const wasm = instantiate();
    this.wasm = wasm;
    const at = wasm.create(
      nRows,
      nFeatures,
      params.maxBins,
      featuresPerSplit(params, nFeatures),
      params.maxDepth ?? 2 ** 31 - 1,
      params.minSamplesLeaf,
      params.minSamplesSplit,
    );
    const { buffer } = wasm.memory;
    const published = addresses(wasm, at, ADDRESSES.length);
    this.at = Object.fromEntries(ADDRESSES.map((name, i) => [name, published[i]])) as Addresses;
    const { rowBins, y, edges, edgeCounts } = this.at;
    const BinArray = params.maxBins <= 256 ? Uint8Array : Uint16Array;
    new BinArray(buffer, rowBins, nRows * nFeatures).set(data.rowBins);
    new Float64Array(buffer, y, nRows).set(data.y.subarray(0, nRows));
    const edgeStride = params.maxBins - 1;
    const allEdges = new Float32Array(buffer, edges, nFeatures * edgeStride);
    const counts = new Int32Array(buffer, edgeCounts, nFeatures);
    for (let f = 0; f < nFeatures; f++) {
      allEdges.set(data.edges[f], f * edgeStride);
      counts[f] = data.edges[f].length;
    }
    wasm.init();
  }

  /** Grows tree `treeIndex` of the forest: its bootstrap and every split come from (seed, treeIndex). */
  grow(treeIndex: number): GrownTree {
    const { wasm, at, nRows, nFeatures } = this;
    const rng = new TreeRng(this.seed, treeIndex);
    bootstrapCounts(rng, nRows, new Int32Array(wasm.memory.buffer, at.bootstrap, nRows));
    const [a, b, c, d] = rng.state();
    const nodes = wasm.grow(a, b, c, d);
    // Views made after growing: a new histogram may have grown the memory (and a new buffer).
    const { buffer } = wasm.memory;
    return {
      feature: new Int16Array(buffer, at.outFeature, nodes),
      value: new Float32Array(buffer, at.outValue, nodes),
      importance: new Float64Array(buffer, at.importance, nFeatures).slice(),
      right: new Int32Array(buffer, at.outRight, nodes),
    };
  }
}

// The trained forest: flat typed-array trees in preorder, prediction, importances, shard merging
// and out-of-bag error.

import { createHash } from "node:crypto";
import type { ForestParams } from "./params.ts";
import { bootstrapCounts, TreeRng } from "./rng.ts";

/** A training or test matrix: row-major features plus the target. */
export interface Dataset {
  /** Row-major, nRows * nFeatures. */
  x: Float64Array;
  y: Float64Array;
  nRows: number;
  nFeatures: number;
  featureNames: string[];
}

/** What every regression model of this stage answers, whichever engine trained it. */
export interface ForestPredictor {
  readonly nFeatures: number;
  readonly featureNames: string[];
  /** The prediction for one feature vector (at least nFeatures long). */
  predictOne(row: ArrayLike<number>): number;
  /** Predictions for nRows rows of a row-major matrix. */
  predict(x: Float64Array, nRows: number): Float64Array;
}

/** Everything about a forest except its trees. */
export interface ForestInfo {
  params: ForestParams;
  nFeatures: number;
  featureNames: string[];
  /** Rows of the training data; out-of-bag error needs the same data again. */
  trainingRows: number;
  /** Fingerprint of the training data (see datasetSha256). */
  trainingDataSha256: string;
  /** Index of the first tree held: a shard holds trees treeStart..treeStart+nTrees-1. */
  treeStart: number;
}

/** Trees as grown or as stored: concatenated preorder nodes plus per-tree offsets. */
export interface ForestTrees {
  /** nTrees + 1 offsets into the node arrays. */
  treeOffsets: Int32Array;
  /** Split feature per node, -1 for a leaf. */
  nodeFeature: Int16Array;
  /** Threshold per split node (left iff value <= threshold), mean target per leaf. */
  nodeValue: Float32Array;
  /** Raw weighted impurity decrease, nTrees * nFeatures. */
  treeImportances: Float64Array;
}

/** The fingerprint of a dataset's shape, features and target. */
export function datasetSha256(data: Dataset): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify([data.nRows, data.nFeatures, data.featureNames]));
  hash.update(new Uint8Array(data.x.buffer, data.x.byteOffset, data.nRows * data.nFeatures * 8));
  hash.update(new Uint8Array(data.y.buffer, data.y.byteOffset, data.nRows * 8));
  return hash.digest("hex");
}

/**
 * Right-child index of every split node (absolute), from preorder structure; throws when the
 * nodes of a tree do not form exactly one complete binary tree.
 */
function rightChildren(treeOffsets: Int32Array, nodeFeature: Int16Array): Int32Array {
  const right = new Int32Array(nodeFeature.length).fill(-1);
  const pending = new Int32Array(nodeFeature.length + 1);
  for (let t = 0; t + 1 < treeOffsets.length; t++) {
    const begin = treeOffsets[t];
    const end = treeOffsets[t + 1];
    let top = 0;
    let node = begin;
    let complete = false;
    // Walk the preorder sequence; a leaf ends a left branch and the next node is the right child
    // of the most recent split still waiting for one.
    for (; node < end && !complete; node++) {
      if (nodeFeature[node] >= 0) pending[top++] = node;
      else if (top === 0) complete = true;
      else right[pending[--top]] = node + 1;
    }
    if (!complete || node !== end) {
      throw new Error(
        `tree ${t}: its ${end - begin} nodes do not form one complete binary tree in preorder`,
      );
    }
  }
  return right;
}

export class Forest implements ForestPredictor {
  readonly params: ForestParams;
  readonly nFeatures: number;
  readonly featureNames: string[];
  readonly trainingRows: number;
  readonly trainingDataSha256: string;
  readonly treeStart: number;
  readonly nTrees: number;
  readonly treeOffsets: Int32Array;
  readonly nodeFeature: Int16Array;
  readonly nodeValue: Float32Array;
  /** Absolute right-child index per split node; the left child is always the next node. */
  readonly nodeRight: Int32Array;
  readonly treeImportances: Float64Array;
  private readonly scratch: Float64Array;

  constructor(info: ForestInfo, trees: ForestTrees) {
    this.params = info.params;
    this.nFeatures = info.nFeatures;
    this.featureNames = info.featureNames;
    this.trainingRows = info.trainingRows;
    this.trainingDataSha256 = info.trainingDataSha256;
    this.treeStart = info.treeStart;
    this.nTrees = trees.treeOffsets.length - 1;
    this.treeOffsets = trees.treeOffsets;
    this.nodeFeature = trees.nodeFeature;
    this.nodeValue = trees.nodeValue;
    this.treeImportances = trees.treeImportances;
    for (let node = 0; node < this.nodeFeature.length; node++) {
      if (this.nodeFeature[node] >= this.nFeatures || this.nodeFeature[node] < -1) {
        throw new Error(
          `node ${node}: split feature ${this.nodeFeature[node]} is out of range; the forest has ${this.nFeatures} features`,
        );
      }
    }
    this.nodeRight = rightChildren(this.treeOffsets, this.nodeFeature);
    this.scratch = new Float64Array(this.nFeatures);
  }

  /** Tree indices held, as [start, end). */
  get treeRange(): [number, number] {
    return [this.treeStart, this.treeStart + this.nTrees];
  }

  get nodeCount(): number {
    return this.nodeFeature.length;
  }

  predictOne(row: ArrayLike<number>): number {
    if (row.length < this.nFeatures) {
      throw new Error(`predictOne: the row has ${row.length} values; expected ${this.nFeatures}`);
    }
    // A private Float64Array keeps the tree walk monomorphic whatever array type the caller passes.
    const x = this.scratch;
    for (let f = 0; f < this.nFeatures; f++) x[f] = row[f];
    return this.predictAt(x, 0);
  }

  predict(x: Float64Array, nRows: number): Float64Array {
    if (x.length < nRows * this.nFeatures) {
      throw new Error(
        `predict: the matrix has ${x.length} values; expected ${nRows} rows * ${this.nFeatures} features`,
      );
    }
    const out = new Float64Array(nRows);
    for (let i = 0; i < nRows; i++) out[i] = this.predictAt(x, i * this.nFeatures);
    return out;
  }

  /** The mean of the trees' leaf values for the row starting at x[base]. */
  private predictAt(x: Float64Array, base: number): number {
    const { treeOffsets, nodeFeature, nodeValue, nodeRight, nTrees } = this;
    let sum = 0;
    for (let t = 0; t < nTrees; t++) {
      let node = treeOffsets[t];
      let f = nodeFeature[node];
      while (f >= 0) {
        node = x[base + f] <= nodeValue[node] ? node + 1 : nodeRight[node];
        f = nodeFeature[node];
      }
      sum += nodeValue[node];
    }
    return sum / nTrees;
  }

  /** The leaf value of tree t (0-based within this forest) for the row starting at x[base]. */
  predictTree(t: number, x: Float64Array, base: number): number {
    const { nodeFeature, nodeValue, nodeRight } = this;
    let node = this.treeOffsets[t];
    let f = nodeFeature[node];
    while (f >= 0) {
      node = x[base + f] <= nodeValue[node] ? node + 1 : nodeRight[node];
      f = nodeFeature[node];
    }
    return nodeValue[node];
  }

  /** Impurity-based importances like sklearn: per-tree normalized, averaged, normalized again. */
  featureImportances(): Float64Array {
    const { nFeatures } = this;
    const total = new Float64Array(nFeatures);
    let trees = 0;
    for (let t = 0; t < this.nTrees; t++) {
      let sum = 0;
      for (let f = 0; f < nFeatures; f++) sum += this.treeImportances[t * nFeatures + f];
      // sklearn leaves single-leaf trees out of the average.
      if (this.treeOffsets[t + 1] - this.treeOffsets[t] <= 1) continue;
      trees++;
      if (sum <= 0) continue;
      for (let f = 0; f < nFeatures; f++) total[f] += this.treeImportances[t * nFeatures + f] / sum;
    }
    let sum = 0;
    for (let f = 0; f < nFeatures; f++) sum += total[f];
    if (trees > 0 && sum > 0) for (let f = 0; f < nFeatures; f++) total[f] /= sum;
    return total;
  }
}

/** Builds a forest from per-tree arrays, in the order given. */
export function forestFromTrees(
  info: ForestInfo,
  trees: { feature: Int16Array; value: Float32Array; importance: Float64Array }[],
): Forest {
  const treeOffsets = new Int32Array(trees.length + 1);
  for (let t = 0; t < trees.length; t++) {
    treeOffsets[t + 1] = treeOffsets[t] + trees[t].feature.length;
  }
  const total = treeOffsets[trees.length];
  const nodeFeature = new Int16Array(total);
  const nodeValue = new Float32Array(total);
  const treeImportances = new Float64Array(trees.length * info.nFeatures);
  trees.forEach((tree, t) => {
    nodeFeature.set(tree.feature, treeOffsets[t]);
    nodeValue.set(tree.value, treeOffsets[t]);
    treeImportances.set(tree.importance, t * info.nFeatures);
  });
  return new Forest(info, { treeOffsets, nodeFeature, nodeValue, treeImportances });
}

function treesOf(
  forest: Forest,
): { feature: Int16Array; value: Float32Array; importance: Float64Array }[] {
  const { treeOffsets, nFeatures } = forest;
  return Array.from({ length: forest.nTrees }, (_, t) => ({
    feature: forest.nodeFeature.subarray(treeOffsets[t], treeOffsets[t + 1]),
    value: forest.nodeValue.subarray(treeOffsets[t], treeOffsets[t + 1]),
    importance: forest.treeImportances.subarray(t * nFeatures, (t + 1) * nFeatures),
  }));
}

/** Concatenates shards (trained with the same data, params and seed) in tree order; they must be contiguous. */
export function mergeForests(shards: Forest[]): Forest {
  if (shards.length === 0) throw new Error("mergeForests: no shard given; expected at least one");
  const sorted = [...shards].sort((a, b) => a.treeStart - b.treeStart);
  const first = sorted[0];
  const paramsJson = JSON.stringify(first.params);
  let next = first.treeStart;
  for (const shard of sorted) {
    const [start, end] = shard.treeRange;
    const what = `shard with trees ${start}..${end - 1}`;
    if (JSON.stringify(shard.params) !== paramsJson) {
      throw new Error(
        `mergeForests: ${what} has params ${JSON.stringify(shard.params)}; expected ${paramsJson} like the others`,
      );
    }
    if (shard.trainingDataSha256 !== first.trainingDataSha256) {
      throw new Error(
        `mergeForests: ${what} was trained on data with sha256 ${shard.trainingDataSha256}; expected ${first.trainingDataSha256} like the others`,
      );
    }
    if (JSON.stringify(shard.featureNames) !== JSON.stringify(first.featureNames)) {
      throw new Error(
        `mergeForests: ${what} has features ${shard.featureNames.join(", ")}; expected ${first.featureNames.join(", ")}`,
      );
    }
    if (start !== next) {
      throw new Error(
        start > next
          ? `mergeForests: trees ${next}..${start - 1} are missing; train a shard with treeRange [${next}, ${start}]`
          : `mergeForests: ${what} overlaps trees already given (up to ${next - 1}); give each tree once`,
      );
    }
    next = end;
  }
  return forestFromTrees(
    {
      params: first.params,
      nFeatures: first.nFeatures,
      featureNames: first.featureNames,
      trainingRows: first.trainingRows,
      trainingDataSha256: first.trainingDataSha256,
      treeStart: first.treeStart,
    },
    sorted.flatMap(treesOf),
  );
}

/** Out-of-bag RMSE over the training data: each row is predicted by the trees whose bootstrap left it out. */
export function oobRmse(forest: Forest, data: Dataset): number {
  if (data.nRows !== forest.trainingRows || datasetSha256(data) !== forest.trainingDataSha256) {
    throw new Error(
      `oobRmse: the data given (${data.nRows} rows, sha256 ${datasetSha256(data)}) is not the forest's training data (${forest.trainingRows} rows, sha256 ${forest.trainingDataSha256}); pass the exact training data`,
    );
  }
  const sums = new Float64Array(data.nRows);
  const counts = new Int32Array(data.nRows);
  for (let t = 0; t < forest.nTrees; t++) {
    const drawn = bootstrapCounts(
      new TreeRng(forest.params.seed, forest.treeStart + t),
      data.nRows,
    );
    for (let i = 0; i < data.nRows; i++) {
      if (drawn[i] !== 0) continue;
      sums[i] += forest.predictTree(t, data.x, i * data.nFeatures);
      counts[i]++;
    }
  }
  let squared = 0;
  let rows = 0;
  for (let i = 0; i < data.nRows; i++) {
    if (counts[i] === 0) continue;
    const error = sums[i] / counts[i] - data.y[i];
    squared += error * error;
    rows++;
  }
  if (rows === 0) {
    throw new Error(
      `oobRmse: no row was left out of any of the ${forest.nTrees} bootstraps; use more trees`,
    );
  }
  return Math.sqrt(squared / rows);
}

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
  readonly treeImportances: Float64Array;
  /**
   * The trees as prediction walks them: 3 words per node (split feature, right child's word
   * index, float32 threshold or leaf value), so a node is one cache line rather than three.
   * A leaf reads feature nFeatures, which the walk's row copy holds as NaN, and its right child
   * is itself: a walk that reached a leaf stays there, so trees can be walked in lockstep.
   */
  private readonly walkInt: Int32Array;
  private readonly walkFloat: Float32Array;
  /** The row being predicted, plus the NaN that leaves compare. */
  private readonly row: Float64Array;

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
    const right = rightChildren(this.treeOffsets, this.nodeFeature);
    const walk = new ArrayBuffer(this.nodeFeature.length * 12);
    this.walkInt = new Int32Array(walk);
    this.walkFloat = new Float32Array(walk);
    for (let node = 0; node < this.nodeFeature.length; node++) {
      const leaf = this.nodeFeature[node] < 0;
      this.walkInt[3 * node] = leaf ? this.nFeatures : this.nodeFeature[node];
      this.walkInt[3 * node + 1] = leaf ? 3 * node : 3 * right[node];
      this.walkFloat[3 * node + 2] = this.nodeValue[node];
    }
    this.row = new Float64Array(this.nFeatures + 1);
    this.row[this.nFeatures] = Number.NaN;
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
    const x = this.row;
    for (let f = 0; f < this.nFeatures; f++) x[f] = row[f];
    return this.predictRow();
  }

  predict(x: Float64Array, nRows: number): Float64Array {
    if (x.length < nRows * this.nFeatures) {
      throw new Error(
        `predict: the matrix has ${x.length} values; expected ${nRows} rows * ${this.nFeatures} features`,
      );
    }
    const out = new Float64Array(nRows);
    const row = this.row;
    for (let i = 0; i < nRows; i++) {
      for (let f = 0; f < this.nFeatures; f++) row[f] = x[i * this.nFeatures + f];
      out[i] = this.predictRow();
    }
    return out;
  }

  /**
   * The mean of the trees' leaf values for this.row. Trees are walked four at a time in lockstep:
   * their nodes are cache misses, and four independent walks keep four misses in flight.
   */
  private predictRow(): number {
    const { treeOffsets, walkInt, walkFloat, nTrees, nFeatures } = this;
    const x = this.row;
    let sum = 0;
    let t = 0;
    for (; t + 8 <= nTrees; t += 8) {
      let a = 3 * treeOffsets[t + 0];
      let b = 3 * treeOffsets[t + 1];
      let c = 3 * treeOffsets[t + 2];
      let d = 3 * treeOffsets[t + 3];
      let e = 3 * treeOffsets[t + 4];
      let f = 3 * treeOffsets[t + 5];
      let g = 3 * treeOffsets[t + 6];
      let h = 3 * treeOffsets[t + 7];
      let fa = walkInt[a];
      let fb = walkInt[b];
      let fc = walkInt[c];
      let fd = walkInt[d];
      let fe = walkInt[e];
      let ff = walkInt[f];
      let fg = walkInt[g];
      let fh = walkInt[h];
      while (
        fa !== nFeatures ||
        fb !== nFeatures ||
        fc !== nFeatures ||
        fd !== nFeatures ||
        fe !== nFeatures ||
        ff !== nFeatures ||
        fg !== nFeatures ||
        fh !== nFeatures
      ) {
        a = x[fa] <= walkFloat[a + 2] ? a + 3 : walkInt[a + 1];
        b = x[fb] <= walkFloat[b + 2] ? b + 3 : walkInt[b + 1];
        c = x[fc] <= walkFloat[c + 2] ? c + 3 : walkInt[c + 1];
        d = x[fd] <= walkFloat[d + 2] ? d + 3 : walkInt[d + 1];
        e = x[fe] <= walkFloat[e + 2] ? e + 3 : walkInt[e + 1];
        f = x[ff] <= walkFloat[f + 2] ? f + 3 : walkInt[f + 1];
        g = x[fg] <= walkFloat[g + 2] ? g + 3 : walkInt[g + 1];
        h = x[fh] <= walkFloat[h + 2] ? h + 3 : walkInt[h + 1];
        fa = walkInt[a];
        fb = walkInt[b];
        fc = walkInt[c];
        fd = walkInt[d];
        fe = walkInt[e];
        ff = walkInt[f];
        fg = walkInt[g];
        fh = walkInt[h];
      }
      sum += walkFloat[a + 2];
      sum += walkFloat[b + 2];
      sum += walkFloat[c + 2];
      sum += walkFloat[d + 2];
      sum += walkFloat[e + 2];
      sum += walkFloat[f + 2];
      sum += walkFloat[g + 2];
      sum += walkFloat[h + 2];
    }
    for (; t < nTrees; t++) {
      let a = 3 * treeOffsets[t];
      let fa = walkInt[a];
      while (fa !== nFeatures) {
        a = x[fa] <= walkFloat[a + 2] ? a + 3 : walkInt[a + 1];
        fa = walkInt[a];
      }
      sum += walkFloat[a + 2];
    }
    return sum / nTrees;
  }

  /** The leaf value of tree t (0-based within this forest) for the row starting at x[base]. */
  predictTree(t: number, x: Float64Array, base: number): number {
    const { walkInt, walkFloat, nFeatures } = this;
    let at = 3 * this.treeOffsets[t];
    let f = walkInt[at];
    while (f !== nFeatures) {
      at = x[base + f] <= walkFloat[at + 2] ? at + 3 : walkInt[at + 1];
      f = walkInt[at];
    }
    return walkFloat[at + 2];
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

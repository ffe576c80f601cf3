// The trained forest: flat typed-array trees in preorder, prediction, importances, shard merging
// and out-of-bag error. Prediction walks the trees in WebAssembly (lib/forest/assembly/predict.ts);
// the walk here serves out-of-bag scoring.

import { createHash } from "node:crypto";
import type { ForestParams } from "./params.ts";
import { bootstrapCounts, TreeRng } from "./rng.ts";
import {
  fillWalk,
  keyBits,
  keysPerRow,
  leafRecord,
  storedFromWalk,
  type WalkTree,
  writeWalkKeys,
} from "./walk.ts";
import { addresses, type ForestWasm, instantiate } from "./wasm.ts";

export type { WalkTree } from "./walk.ts";

/** From this many rows on, predict walks tree by tree rather than row by row. */
const BATCH_BY_TREE_ROWS = 32;

/** Rows predicted per call of the WebAssembly walks; larger batches go in blocks of this many. */
const BLOCK_ROWS = 1024;

/**
 * From this many rows on, each tree's records are read through once before the rows walk it (see
 * predictBlock in lib/forest/assembly/predict.ts): with fewer, the walks touch too little of the
 * tree for that to pay. Measured on the 100-tree bench model: 1,000 rows took 5.5 ms with the
 * read-through and 13.4 without; 128 rows 0.92 against 1.06; 64 rows 0.64 against 0.56.
 */
const TOUCH_ROWS = 128;

/** A forest's walk records in a WebAssembly instance, with its views of the rows to predict. */
interface Walker {
  wasm: ForestWasm;
  /** The row predictRow reads. */
  row: Float64Array;
  /** Up to BLOCK_ROWS rows for predictBlock, row-major. */
  rows: Float64Array;
  /** predictBlock's predictions. */
  out: Float64Array;
}

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
  /** The prediction for one feature vector (at least nFeatures long; a NaN goes right at every split). */
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

/** A trained forest, or a shard of one (trees treeStart..treeStart+nTrees-1). */
export class Forest implements ForestPredictor {
  readonly params: ForestParams;
  readonly nFeatures: number;
  readonly featureNames: string[];
  readonly trainingRows: number;
  readonly trainingDataSha256: string;
  readonly treeStart: number;
  readonly nTrees: number;
  /** nTrees + 1 offsets into the nodes. */
  readonly treeOffsets: Int32Array;
  /** Raw weighted impurity decrease, nTrees * nFeatures. */
  readonly treeImportances: Float64Array;
  /**
   * The nodes as prediction walks them, 8 bytes each: an int holding in its low keyBits bits the
   * byte offset of the row's key that the node compares, and above them the distance (in bytes)
   * to its far child; then a float32. A row walks by its keys (writeWalkKeys): for each feature
   * the least float32 at or above its value, then those keys negated, then a NaN. The near child
   * is the next node: the one with the larger subtree (see fillWalk). A walk goes to it when the
   * key is at most the float, else to the far child. When the near child is the left one, the
   * node compares the feature's key with the threshold (value <= threshold exactly when
   * key <= threshold); when it is the right one, the negated key with minus the next float32
   * above the threshold (value > threshold exactly when -key <= that). So every step is the same
   * compare, with no direction to decode. A leaf's int is exactly leafRecord: it compares the NaN
   * key, which is never at most anything, and its far child is itself (distance 0): a walk that
   * reached a leaf stays there, so trees can be walked in lockstep. Its float is the leaf value.
   * Distances are relative, so trees can be moved. One extra leaf of value 0 follows the last
   * tree: it fills the lockstep groups. Once the forest first predicts, the records live in the
   * memory of its WebAssembly walker (see walker()).
   */
  private walkInt: Int32Array;
  private walkFloat: Float32Array;
  private readonly bits: number;
  private readonly mask: number;
  /** One row's walk keys, for predictTree. */
  private readonly keys: Float32Array;
  private prepared: Walker | undefined;

  /** Use forestFromStored or forestFromWalks: this trusts that `walk` holds valid records. */
  constructor(
    info: ForestInfo,
    walk: ArrayBuffer,
    treeOffsets: Int32Array,
    treeImportances: Float64Array,
  ) {
    this.params = info.params;
    this.nFeatures = info.nFeatures;
    this.featureNames = info.featureNames;
    this.trainingRows = info.trainingRows;
    this.trainingDataSha256 = info.trainingDataSha256;
    this.treeStart = info.treeStart;
    this.nTrees = treeOffsets.length - 1;
    this.treeOffsets = treeOffsets;
    this.treeImportances = treeImportances;
    if (this.featureNames.length !== this.nFeatures) {
      throw new Error(
        `${this.featureNames.length} feature names for ${this.nFeatures} features; expected one per feature`,
      );
    }
    if (this.nTrees < 1) throw new Error("a forest needs at least one tree");
    if (this.treeImportances.length !== this.nTrees * this.nFeatures) {
      throw new Error(
        `${this.treeImportances.length} importances for ${this.nTrees} trees of ${this.nFeatures} features`,
      );
    }
    // The buffer may have room to spare after the padding leaf (see WalkAssembler).
    const records = treeOffsets[this.nTrees] + 1;
    if (walk.byteLength < records * 8) {
      throw new Error("the trees' offsets and node records disagree on the number of nodes");
    }
    this.walkInt = new Int32Array(walk, 0, 2 * records);
    this.walkFloat = new Float32Array(walk, 0, 2 * records);
    const padding = treeOffsets[this.nTrees];
    this.walkInt[2 * padding] = leafRecord(this.nFeatures);
    this.walkFloat[2 * padding + 1] = 0;
    this.bits = keyBits(this.nFeatures);
    this.mask = (1 << this.bits) - 1;
    this.keys = new Float32Array(keysPerRow(this.nFeatures));
  }

  /**
   * The WebAssembly walker, made on the first prediction (shards that only travel between
   * threads never need one). The records move into its memory, which never grows after
   * predictCreate, so the views of it stay valid.
   */
  private walker(): Walker {
    if (this.prepared) return this.prepared;
    const { nTrees, nFeatures } = this;
    const records = this.treeOffsets[nTrees] + 1;
    const wasm = instantiate();
    const [walkAt, offsetsAt, rowAt, rowsAt, outAt] = addresses(
      wasm,
      wasm.predictCreate(records, nTrees, nFeatures, this.bits, BLOCK_ROWS),
      5,
    );
    const { buffer } = wasm.memory;
    const walkInt = new Int32Array(buffer, walkAt, 2 * records);
    walkInt.set(this.walkInt.subarray(0, 2 * records));
    new Int32Array(buffer, offsetsAt, nTrees + 1).set(this.treeOffsets);
    this.walkInt = walkInt;
    this.walkFloat = new Float32Array(buffer, walkAt, 2 * records);
    this.prepared = {
      wasm,
      row: new Float64Array(buffer, rowAt, nFeatures),
      rows: new Float64Array(buffer, rowsAt, BLOCK_ROWS * nFeatures),
      out: new Float64Array(buffer, outAt, BLOCK_ROWS),
    };
    return this.prepared;
  }

  /** Tree indices held, as [start, end). */
  get treeRange(): [number, number] {
    return [this.treeStart, this.treeStart + this.nTrees];
  }

  get nodeCount(): number {
    return this.treeOffsets[this.nTrees];
  }

  /** The stored form of the trees: per node, the split feature (-1 for a leaf) and the value. */
  storedTrees(): ForestTrees {
    const { nodeFeature, nodeValue } = storedFromWalk(
      this.treeOffsets,
      this.nFeatures,
      this.walkInt,
      this.walkFloat,
    );
    return {
      treeOffsets: this.treeOffsets,
      nodeFeature,
      nodeValue,
      treeImportances: this.treeImportances,
    };
  }

  /** Tree t's walk records and importances (views into this forest). */
  walkTree(t: number): { walk: Uint8Array; importance: Float64Array } {
    const { treeOffsets, nFeatures } = this;
    return {
      walk: new Uint8Array(
        this.walkInt.buffer,
        this.walkInt.byteOffset + treeOffsets[t] * 8,
        (treeOffsets[t + 1] - treeOffsets[t]) * 8,
      ),
      importance: this.treeImportances.subarray(t * nFeatures, (t + 1) * nFeatures),
    };
  }

  predictOne(row: ArrayLike<number>): number {
    if (row.length < this.nFeatures) {
      throw new Error(`predictOne: the row has ${row.length} values; expected ${this.nFeatures}`);
    }
    const walker = this.walker();
    const x = walker.row;
    for (let f = 0; f < this.nFeatures; f++) x[f] = row[f];
    return walker.wasm.predictRow();
  }

  predict(x: Float64Array, nRows: number): Float64Array {
    const { nFeatures } = this;
    if (x.length < nRows * nFeatures) {
      throw new Error(
        `predict: the matrix has ${x.length} values; expected ${nRows} rows * ${nFeatures} features`,
      );
    }
    const out = new Float64Array(nRows);
    if (nRows < BATCH_BY_TREE_ROWS) {
      for (let i = 0; i < nRows; i++) {
        out[i] = this.predictOne(x.subarray(i * nFeatures, (i + 1) * nFeatures));
      }
      return out;
    }
    const walker = this.walker();
    // Many rows: tree by tree (predictBlock), in blocks of up to BLOCK_ROWS rows. Each row's
    // sum still adds the trees in order, so the result is predictOne's to the bit.
    for (let start = 0; start < nRows; start += BLOCK_ROWS) {
      const count = Math.min(BLOCK_ROWS, nRows - start);
      walker.rows.set(x.subarray(start * nFeatures, (start + count) * nFeatures));
      walker.wasm.predictBlock(count, count >= TOUCH_ROWS);
      out.set(walker.out.subarray(0, count), start);
    }
    return out;
  }

  /** The leaf value of tree t (0-based within this forest) for the row starting at x[base]. */
  predictTree(t: number, x: Float64Array, base: number): number {
    writeWalkKeys(x, base, this.nFeatures, this.keys, 0);
    return this.leafValue(t, this.keys, 0);
  }

  /** The leaf value of tree t for the row whose walk keys start at keys[at] (writeWalkKeys). */
  leafValue(t: number, keys: Float32Array, at: number): number {
    const { walkInt: wi, walkFloat: wf, bits, mask } = this;
    const leaf = leafRecord(this.nFeatures);
    let a = 2 * this.treeOffsets[t];
    let m = wi[a];
    while (m !== leaf) {
      // Int32 slots (two per record) to the far child, or 2 to the next record when the key is
      // at most the float. Branch-free: the direction is unpredictable, and a mispredicted branch
      // costs more than the step (V8 compiles ?: to a branch but +(a <= b) to a flag).
      const far = (m >>> bits) >> 2;
      const near = +(keys[at + ((m & mask) >> 2)] <= wf[a + 1]);
      a += far + ((2 - far) & -near);
      m = wi[a];
    }
    return wf[a + 1];
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

/** Builds a forest from trees in their stored form, checking every tree's structure. */
export function forestFromStored(info: ForestInfo, trees: ForestTrees): Forest {
  const nodes = trees.nodeFeature.length;
  if (
    trees.nodeValue.length !== nodes ||
    trees.treeOffsets[trees.treeOffsets.length - 1] !== nodes
  ) {
    throw new Error("the trees' offsets and node arrays disagree on the number of nodes");
  }
  const walk = new ArrayBuffer((nodes + 1) * 8);
  fillWalk(
    trees.treeOffsets,
    trees.nodeFeature,
    trees.nodeValue,
    info.nFeatures,
    new Int32Array(walk),
    new Float32Array(walk),
  );
  return new Forest(info, walk, trees.treeOffsets, trees.treeImportances);
}

/** Builds a forest from per-tree walk records (see treeWalk), in the order given. */
export function forestFromWalks(
  info: ForestInfo,
  trees: { walk: ArrayBuffer | Uint8Array; importance: Float64Array }[],
): Forest {
  const treeOffsets = new Int32Array(trees.length + 1);
  for (let t = 0; t < trees.length; t++) {
    treeOffsets[t + 1] = treeOffsets[t] + trees[t].walk.byteLength / 8;
  }
  const walk = new Uint8Array((treeOffsets[trees.length] + 1) * 8);
  const treeImportances = new Float64Array(trees.length * info.nFeatures);
  trees.forEach((tree, t) => {
    walk.set(
      tree.walk instanceof Uint8Array ? tree.walk : new Uint8Array(tree.walk),
      treeOffsets[t] * 8,
    );
    treeImportances.set(tree.importance, t * info.nFeatures);
  });
  return new Forest(info, walk.buffer, treeOffsets, treeImportances);
}

/**
 * Builds a forest from per-tree walk records that come in one at a time, in any order, as training
 * grows them: each tree is copied into the forest's buffer as soon as every tree before it is in,
 * so that little copying is left once the last tree is in, and then let go of, so that its memory
 * serves the trees still to grow (fresh memory costs a page fault per 4 KiB on first touch). The
 * buffer is sized from the first tree, with room to spare (memory never written is never touched,
 * so costs only address space), and grows should the trees outgrow it.
 */
export class WalkAssembler {
  private readonly nTrees: number;
  private readonly nFeatures: number;
  /** The walk records of trees that came in before some tree ahead of them. */
  private readonly waiting: (ArrayBuffer | undefined)[];
  private readonly treeOffsets: Int32Array;
  private readonly treeImportances: Float64Array;
  private buffer = new Uint8Array(0);
  /** Trees 0..placed-1 are in the buffer. */
  private placed = 0;

  constructor(nTrees: number, nFeatures: number) {
    this.nTrees = nTrees;
    this.nFeatures = nFeatures;
    this.waiting = new Array(nTrees).fill(undefined);
    this.treeOffsets = new Int32Array(nTrees + 1);
    this.treeImportances = new Float64Array(nTrees * nFeatures);
  }

  /** Takes tree t (0-based among this forest's trees). */
  add(t: number, tree: WalkTree): void {
    const { waiting, treeOffsets, nTrees } = this;
    this.treeImportances.set(tree.importance, t * this.nFeatures);
    waiting[t] = tree.walk;
    for (let walk = waiting[this.placed]; walk !== undefined; walk = waiting[this.placed]) {
      waiting[this.placed] = undefined;
      const at = treeOffsets[this.placed];
      const end = at + walk.byteLength / 8;
      // Room for the nodes and the padding leaf. Trees of one forest are much alike: a quarter
      // more than the trees so far suggest.
      if ((end + 1) * 8 > this.buffer.byteLength) {
        const nodes = Math.ceil(((end * nTrees) / (this.placed + 1)) * 1.25);
        const grown = new Uint8Array((Math.max(nodes, end) + 1) * 8);
        grown.set(this.buffer.subarray(0, at * 8));
        this.buffer = grown;
      }
      this.buffer.set(new Uint8Array(walk), at * 8);
      treeOffsets[++this.placed] = end;
      if (this.placed === nTrees) break;
    }
  }

  /** The forest, once every tree is in. */
  forest(info: ForestInfo): Forest {
    if (this.placed < this.nTrees) {
      throw new Error(`WalkAssembler: tree ${this.placed} of ${this.nTrees} is missing`);
    }
    return new Forest(
      info,
      this.buffer.buffer as ArrayBuffer,
      this.treeOffsets,
      this.treeImportances,
    );
  }
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
  return forestFromWalks(
    {
      params: first.params,
      nFeatures: first.nFeatures,
      featureNames: first.featureNames,
      trainingRows: first.trainingRows,
      trainingDataSha256: first.trainingDataSha256,
      treeStart: first.treeStart,
    },
    sorted.flatMap((shard) => Array.from({ length: shard.nTrees }, (_, t) => shard.walkTree(t))),
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
  const perRow = keysPerRow(data.nFeatures);
  const keys = new Float32Array(data.nRows * perRow);
  for (let i = 0; i < data.nRows; i++) {
    writeWalkKeys(data.x, i * data.nFeatures, data.nFeatures, keys, i * perRow);
  }
  for (let t = 0; t < forest.nTrees; t++) {
    const drawn = bootstrapCounts(
      new TreeRng(forest.params.seed, forest.treeStart + t),
      data.nRows,
    );
    for (let i = 0; i < data.nRows; i++) {
      if (drawn[i] !== 0) continue;
      sums[i] += forest.leafValue(t, keys, i * perRow);
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

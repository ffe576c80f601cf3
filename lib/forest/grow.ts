// Growing one regression tree on pre-binned data: the hot loop of training.
//
// A fully grown tree splits until its leaves are pure, so most of the work is in the many small
// nodes near the leaves, and the rest in the few large nodes near the root. Each gets its own
// split search:
//
// - Large nodes (more than LOCAL_ROWS distinct rows) keep a histogram: per feature and bin, the
//   sums of the rows' weighted targets and weights (and row counts when minSamplesLeaf > 1).
//   The best split of a feature is one pass over its bins. After a split, only the smaller
//   child's rows are read: the larger child's histogram is the parent's minus the smaller
//   child's (the subtraction trick). The node's rows are one list, partitioned by the split
//   feature only.
// - A small node copies its rows into node-local arrays that fit in the L1 cache and sorts them by
//   bin once per feature (a key holds the bin above a local row id). The best split of a feature is
//   one scan of its keys, evaluating a split wherever the bin changes; a split keeps every
//   feature's keys ordered with one stable partition. The whole subtree below the small node is
//   grown from these local arrays.
//
// Both searches consider exactly the same candidate splits (between two bins that both hold rows
// of the node) and break ties the same way (the first feature in the node's random feature order,
// then the lowest bin), so the mode a node is grown in does not change the tree, up to the
// rounding of the sums.
//
// The bootstrap is kept as distinct rows with integer weights, like sklearn's sample_weight, and
// the split criterion is sklearn's MSE proxy, maximize sumL^2 / wL + sumR^2 / wR, in an equivalent
// form that costs fewer multiplications: with the node's sums S = sumL + sumR and W = wL + wR,
//   sumL^2 / wL + sumR^2 / wR - S^2 / W = (sumL * W - S * wL)^2 / (W * wL * wR),
// so a split is better when gap^2 / (wL * wR) is larger, gap = sumL * W - S * wL. It is compared as
// a fraction, numerator gap^2 over denominator wL * wR, to keep divisions out of the loops; the
// impurity decrease (the importance) is numerator / (denominator * W).

import type { ForestParams } from "./params.ts";
import { featuresPerSplit } from "./params.ts";
import { bootstrapCounts, TreeRng } from "./rng.ts";

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

/** Row indices: 16-bit when the data has at most 65,536 rows. */
type RowList = Uint16Array | Int32Array;

/**
 * Nodes with at most this many rows are grown from node-local arrays. A local row id takes the
 * low ID_BITS bits of a sort key. Above this size a histogram pass (about as long as the number of
 * bins) costs less than scanning and partitioning every feature's rows.
 */
export const LOCAL_ROWS = 256;
const ID_BITS = 8;
const ID_MASK = (1 << ID_BITS) - 1;
/** Up to this many rows, a search that tries every feature stops once it is sure of the best (see bestCut). */
const EARLY_STOP_ROWS = 7;
/** Below this many rows insertion sort orders a feature's keys faster than a counting sort. */
const INSERTION_SORT_ROWS = 48;

export class TreeGrower {
  private readonly data: BinnedData;
  private readonly params: ForestParams;
  private readonly nRows: number;
  readonly nFeatures: number;
  private readonly tryFeatures: number;
  private readonly yMean: number;
  private readonly maxDepth: number;
  private readonly minLeaf: number;
  private readonly minSplit: number;
  /** The first histogram bin of each feature, and how many bins it has. */
  private readonly binStart: Int32Array;
  private readonly binCount: Int32Array;
  private readonly totalBins: number;
  /**
   * Histogram slots per bin: the sums of weight * centered target and of weight, and, only when
   * minSamplesLeaf > 1, the row count. (With one row per leaf allowed, a side holds rows iff
   * its weight is positive: drawn rows weigh at least 1.)
   */
  private readonly slots: 2 | 3;

  /** How often the current tree's bootstrap drew each row. */
  private readonly bootstrap: Int32Array;
  /** Per row: bootstrap weight times centered target, and bootstrap weight. */
  private readonly rowStats: Float64Array;
  /** The drawn rows; a node of the large-node stack owns rows[start..end). */
  private readonly rows: RowList;
  private readonly spareRows: RowList;
  /** Histograms of the large nodes waiting on the stack, and the free ones. */
  private readonly histograms: Float64Array[] = [];
  private readonly freeHistograms: number[] = [];

  // The large-node stack (depth first; a node is either split here or grown locally).
  private readonly stackStart: Int32Array;
  private readonly stackEnd: Int32Array;
  private readonly stackDepth: Int32Array;
  private readonly stackSum: Float64Array;
  private readonly stackWeight: Float64Array;
  private readonly stackHistogram: Int32Array;
  /** 1 + the parent of a waiting right child; 0 for a left child (see outRight). */
  private readonly stackParent: Int32Array;

  // The small-node arrays: local id i stands for a row of the subtree being grown.
  /** Per local id: weight * centered target, weight. */
  private readonly localStats: Float64Array;
  private readonly localY: Float64Array;
  /** Per local id, the bins of its row: localBins[id * nFeatures + f]. */
  private readonly localBins: Uint16Array;
  /**
   * Per feature, the node's keys (bin << ID_BITS | id) in order: keys[f * LOCAL_ROWS + position].
   * Two buffers: a split writes its children's keys into the buffer it does not read (see
   * localPartition), and `keys` is the one that holds the node being grown.
   */
  private keys: Uint16Array | Int32Array;
  private readonly keyBuffers: [Uint16Array, Uint16Array] | [Int32Array, Int32Array];
  private readonly goesLeft: Uint8Array;
  /** Counting-sort counters, one per histogram bin; all zero between uses. */
  private readonly sortCounts: Int32Array;
  private readonly localStart: Int32Array;
  private readonly localEnd: Int32Array;
  private readonly localDepth: Int32Array;
  private readonly localSum: Float64Array;
  private readonly localWeight: Float64Array;
  /** Which of keyBuffers holds the waiting node's keys. */
  private readonly localBuffer: Uint8Array;
  private readonly localParent: Int32Array;

  private readonly featureOrder: Int32Array;
  private orderNext = 0;
  private orderStep = 1;
  /** The steps coprime with nFeatures: each gives a cyclic order that visits every feature once. */
  private readonly steps: number[] = [];

  private readonly outFeature: Int16Array;
  private readonly outValue: Float32Array;
  /**
   * outRight[1 + node]: the right child of split node `node`. A node writes its index at its
   * parent's slot when it is the right child, and at slot 0 otherwise: no branch on which it is.
   */
  private readonly outRight: Int32Array;
  private nodes = 0;
  private importance = new Float64Array(0);
  private rng: TreeRng = new TreeRng(0, 0);

  // The best split found by the last search. A position is a local key position; a bin is the
  // feature's own bin index.
  private bestNumerator = 0;
  private bestDenominator = 1;
  private bestFeature = -1;
  private bestLeftBin = 0;
  private bestRightBin = 0;
  private bestPosition = 0;
  private bestSumLeft = 0;
  private bestWeightLeft = 0;
  // The best cut of the node's rows in two, whatever the features (see bestCut).
  private cutNumerator = 0;
  private cutDenominator = 1;
  private readonly cutOrder = new Int32Array(EARLY_STOP_ROWS);

  constructor(data: BinnedData, params: ForestParams) {
    this.data = data;
    this.params = params;
    const n = data.nRows;
    const nFeatures = data.nFeatures;
    this.nRows = n;
    this.nFeatures = nFeatures;
    this.tryFeatures = featuresPerSplit(params, nFeatures);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += data.y[i];
    this.yMean = n > 0 ? sum / n : 0;
    this.maxDepth = params.maxDepth ?? 2 ** 31 - 1;
    this.minLeaf = params.minSamplesLeaf;
    this.minSplit = params.minSamplesSplit;
    this.binStart = new Int32Array(nFeatures);
    this.binCount = new Int32Array(nFeatures);
    let bins = 0;
    for (let f = 0; f < nFeatures; f++) {
      this.binStart[f] = bins;
      this.binCount[f] = data.edges[f].length + 1;
      bins += this.binCount[f];
    }
    this.totalBins = bins;
    this.slots = params.minSamplesLeaf > 1 ? 3 : 2;

    this.bootstrap = new Int32Array(n);
    this.rowStats = new Float64Array(2 * n);
    this.rows = n <= 65_536 ? new Uint16Array(n) : new Int32Array(n);
    this.spareRows = n <= 65_536 ? new Uint16Array(n) : new Int32Array(n);
    // Waiting nodes hold disjoint rows, at least one each.
    this.stackStart = new Int32Array(n + 2);
    this.stackEnd = new Int32Array(n + 2);
    this.stackDepth = new Int32Array(n + 2);
    this.stackSum = new Float64Array(n + 2);
    this.stackWeight = new Float64Array(n + 2);
    this.stackHistogram = new Int32Array(n + 2);
    this.stackParent = new Int32Array(n + 2);

    const local = LOCAL_ROWS;
    this.localStats = new Float64Array(2 * local);
    this.localY = new Float64Array(local);
    this.localBins = new Uint16Array(local * nFeatures);
    // Keys take 2 bytes when bins do (maxBins <= 256): half the cache the node-local arrays need.
    const narrow = params.maxBins <= 256;
    this.keyBuffers = narrow
      ? [new Uint16Array(nFeatures * local), new Uint16Array(nFeatures * local)]
      : [new Int32Array(nFeatures * local), new Int32Array(nFeatures * local)];
    this.keys = this.keyBuffers[0];
    this.goesLeft = new Uint8Array(local);
    this.sortCounts = new Int32Array(bins + 1);
    this.localStart = new Int32Array(local + 2);
    this.localEnd = new Int32Array(local + 2);
    this.localDepth = new Int32Array(local + 2);
    this.localSum = new Float64Array(local + 2);
    this.localWeight = new Float64Array(local + 2);
    this.localBuffer = new Uint8Array(local + 2);
    this.localParent = new Int32Array(local + 2);

    this.featureOrder = new Int32Array(nFeatures);
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    for (let step = 1; step <= Math.max(1, nFeatures - 1); step++) {
      if (gcd(step, nFeatures) === 1) this.steps.push(step);
    }
    this.outFeature = new Int16Array(2 * n + 1);
    this.outValue = new Float32Array(2 * n + 1);
    this.outRight = new Int32Array(2 * n + 2);
  }

  /** Grows tree `treeIndex` of the forest: its bootstrap and every split come from (seed, treeIndex). */
  grow(treeIndex: number): GrownTree {
    const { y } = this.data;
    const { nRows, nFeatures, rowStats, rows } = this;
    this.rng = new TreeRng(this.params.seed, treeIndex);
    const counts = bootstrapCounts(this.rng, nRows, this.bootstrap);
    let sum = 0;
    let weight = 0;
    let drawn = 0;
    for (let row = 0; row < nRows; row++) {
      const w = counts[row];
      const wy = w * (y[row] - this.yMean);
      rowStats[2 * row] = wy;
      rowStats[2 * row + 1] = w;
      sum += wy;
      weight += w;
      rows[drawn] = row;
      // Branch-free: 1 when w > 0 (about a third of the rows are not drawn, at random).
      drawn += -w >>> 31;
    }
    for (let f = 0; f < nFeatures; f++) this.featureOrder[f] = f;
    this.importance = new Float64Array(nFeatures);
    this.nodes = 0;

    this.stackStart[0] = 0;
    this.stackEnd[0] = drawn;
    this.stackDepth[0] = 0;
    this.stackSum[0] = sum;
    this.stackWeight[0] = weight;
    this.stackHistogram[0] = drawn > LOCAL_ROWS ? this.buildHistogram(0, drawn) : -1;
    this.stackParent[0] = 0;
    let top = 1;
    while (top > 0) {
      top--;
      const start = this.stackStart[top];
      const end = this.stackEnd[top];
      const depth = this.stackDepth[top];
      const nodeSum = this.stackSum[top];
      const nodeWeight = this.stackWeight[top];
      const slot = this.stackHistogram[top];
      const parent = this.stackParent[top];
      if (slot < 0) {
        this.growLocal(start, end, depth, nodeSum, nodeWeight, parent);
        continue;
      }
      const node = this.nodes++;
      this.outRight[parent] = node;
      const count = end - start;
      const histogram = this.histograms[slot];
      const found =
        count >= this.minSplit &&
        count >= 2 * this.minLeaf &&
        depth < this.maxDepth &&
        !this.rowsArePure(start, end) &&
        this.searchHistogram(histogram, count, nodeSum, nodeWeight);
      if (!found) {
        this.freeHistograms.push(slot);
        this.outFeature[node] = -1;
        this.outValue[node] = this.rowsMean(start, end);
        continue;
      }
      const feature = this.bestFeature;
      this.emitSplit(node, nodeWeight);
      const mid = this.partitionRows(start, end, feature, this.bestLeftBin);
      const sumLeft = this.bestSumLeft;
      const weightLeft = this.bestWeightLeft;

      // The children's histograms: build the smaller child's, and turn the parent's into the
      // larger child's by taking the smaller child's rows out of it.
      const leftIsSmaller = mid - start <= end - mid;
      const smallStart = leftIsSmaller ? start : mid;
      const smallEnd = leftIsSmaller ? mid : end;
      const larger = leftIsSmaller ? end - mid : mid - start;
      let smallSlot = -1;
      let largeSlot = -1;
      if (larger > LOCAL_ROWS) {
        largeSlot = slot;
        if (smallEnd - smallStart > LOCAL_ROWS) {
          smallSlot = this.buildHistogram(smallStart, smallEnd);
          this.subtractHistogram(histogram, this.histograms[smallSlot]);
        } else {
          this.removeRows(histogram, smallStart, smallEnd);
        }
      } else {
        this.freeHistograms.push(slot);
      }
      // Right child first on the stack so the left child is emitted next (preorder).
      this.stackStart[top] = mid;
      this.stackEnd[top] = end;
      this.stackDepth[top] = depth + 1;
      this.stackSum[top] = nodeSum - sumLeft;
      this.stackWeight[top] = nodeWeight - weightLeft;
      this.stackHistogram[top] = leftIsSmaller ? largeSlot : smallSlot;
      this.stackParent[top] = 1 + node;
      top++;
      this.stackStart[top] = start;
      this.stackEnd[top] = mid;
      this.stackDepth[top] = depth + 1;
      this.stackSum[top] = sumLeft;
      this.stackWeight[top] = weightLeft;
      this.stackHistogram[top] = leftIsSmaller ? smallSlot : largeSlot;
      this.stackParent[top] = 0;
      top++;
    }
    const nodes = this.nodes;
    return {
      feature: this.outFeature.subarray(0, nodes),
      value: this.outValue.subarray(0, nodes),
      importance: this.importance,
      right: this.outRight.subarray(1, nodes + 1),
    };
  }

  /** Writes split node `node` from best* and adds its impurity decrease to the importances. */
  private emitSplit(node: number, nodeWeight: number): void {
    const feature = this.bestFeature;
    // Any edge between the last left bin and the first right bin separates this node's rows;
    // the middle one keeps unseen values away from both sides, as sklearn's midpoint does.
    const edge = this.bestLeftBin + ((this.bestRightBin - 1 - this.bestLeftBin) >> 1);
    this.outFeature[node] = feature;
    this.outValue[node] = this.data.edges[feature][edge];
    this.importance[feature] += this.bestNumerator / (this.bestDenominator * nodeWeight);
  }

  /**
   * A node's search visits features in random order (which also breaks ties at random, as in
   * sklearn). When every feature is tried the order only breaks ties, and a random cyclic order (a
   * random start and a random step coprime with nFeatures) costs one draw instead of nFeatures;
   * otherwise it is a partial Fisher-Yates shuffle, drawn as the search goes (featureAt).
   */
  private startOrder(all: boolean): void {
    if (!all) return;
    const random = this.rng.nextUint32();
    this.orderNext = (random & 0xffff) % this.nFeatures;
    this.orderStep = this.steps[(random >>> 16) % this.steps.length];
  }

  /** The jth feature of the node's order; j counts up from 0 in each search. */
  private featureAt(j: number, all: boolean): number {
    if (all) {
      // (start + j * step) mod nFeatures, without a division per feature.
      const f = this.orderNext;
      this.orderNext =
        f + this.orderStep < this.nFeatures
          ? f + this.orderStep
          : f + this.orderStep - this.nFeatures;
      return f;
    }
    const { featureOrder } = this;
    const pick = j + this.rng.below(this.nFeatures - j);
    const f = featureOrder[pick];
    featureOrder[pick] = featureOrder[j];
    featureOrder[j] = f;
    return f;
  }

  // ---- Large nodes: one row list and a histogram ----

  /** A free histogram slot holding the sums of rows[start..end). */
  private buildHistogram(start: number, end: number): number {
    let slot = this.freeHistograms.pop();
    if (slot === undefined) {
      slot = this.histograms.length;
      this.histograms.push(new Float64Array(this.slots * this.totalBins));
    }
    const histogram = this.histograms[slot];
    histogram.fill(0);
    this.addRows(histogram, start, end, 1);
    return slot;
  }

  /** Adds (sign 1) or removes (sign -1) the rows rows[start..end) to or from a histogram. */
  private addRows(histogram: Float64Array, start: number, end: number, sign: 1 | -1): void {
    const { rowBins } = this.data;
    const { rows, rowStats, nFeatures, binStart, slots } = this;
    for (let p = start; p < end; p++) {
      const row = rows[p];
      const wy = sign * rowStats[2 * row];
      const w = sign * rowStats[2 * row + 1];
      const base = row * nFeatures;
      if (slots === 2) {
        for (let f = 0; f < nFeatures; f++) {
          const at = 2 * (binStart[f] + rowBins[base + f]);
          histogram[at] += wy;
          histogram[at + 1] += w;
        }
      } else {
        for (let f = 0; f < nFeatures; f++) {
          const at = 3 * (binStart[f] + rowBins[base + f]);
          histogram[at] += wy;
          histogram[at + 1] += w;
          histogram[at + 2] += sign;
        }
      }
    }
  }

  private removeRows(histogram: Float64Array, start: number, end: number): void {
    this.addRows(histogram, start, end, -1);
  }

  private subtractHistogram(from: Float64Array, histogram: Float64Array): void {
    for (let i = 0; i < from.length; i++) from[i] -= histogram[i];
  }

  /** True when every row of rows[start..end) has the same target. */
  private rowsArePure(start: number, end: number): boolean {
    const { y } = this.data;
    const { rows } = this;
    const first = y[rows[start]];
    for (let p = start + 1; p < end; p++) if (y[rows[p]] !== first) return false;
    return true;
  }

  /** The weighted mean target of rows[start..end). */
  private rowsMean(start: number, end: number): number {
    const { y } = this.data;
    const { rows, rowStats } = this;
    let sum = 0;
    let weight = 0;
    for (let p = start; p < end; p++) {
      const row = rows[p];
      const w = rowStats[2 * row + 1];
      sum += w * y[row];
      weight += w;
    }
    return sum / weight;
  }

  /**
   * Finds the best split of a large node from its histogram, over features in the node's random
   * order; features constant in the node do not count towards maxFeatures.
   */
  private searchHistogram(
    histogram: Float64Array,
    count: number,
    sum: number,
    weight: number,
  ): boolean {
    const all = this.tryFeatures === this.nFeatures;
    this.bestNumerator = Number.NEGATIVE_INFINITY;
    this.bestDenominator = 1;
    this.bestFeature = -1;
    this.startOrder(all);
    let tried = 0;
    for (let j = 0; j < this.nFeatures && tried < this.tryFeatures; j++) {
      const f = this.featureAt(j, all);
      if (this.scanBins(histogram, f, count, sum, weight)) tried++;
    }
    if (this.bestFeature < 0) return false;
    // The first bin on the right that holds rows.
    const start = this.binStart[this.bestFeature];
    let right = this.bestRightBin;
    while (histogram[this.slots * (start + right) + 1] === 0) right++;
    this.bestRightBin = right;
    return true;
  }

  /**
   * Scans feature f's bins, evaluating the split before every bin, and keeps the best in best*.
   * Returns false, without a scan, when the feature is constant in the node. A split only counts after a bin that
   * holds rows and with minSamplesLeaf rows on each side; those checks run only for a split that
   * beats the best so far, which keeps them out of the common path. (The weighted target sums of
   * empty bins may be rounding noise left by subtraction; they never decide anything.)
   */
  private scanBins(
    histogram: Float64Array,
    f: number,
    count: number,
    sum: number,
    weight: number,
  ): boolean {
    const { minLeaf, slots } = this;
    const counted = slots === 3;
    const first = slots * this.binStart[f];
    const last = first + slots * this.binCount[f];
    // The feature is constant in the node when its first bin that holds rows holds them all
    // (weights are whole numbers, exact in any order of additions and subtractions).
    let filled = first;
    while (histogram[filled + 1] === 0) filled += slots;
    if (histogram[filled + 1] === weight) return false;
    let bestNumerator = this.bestNumerator;
    let bestDenominator = this.bestDenominator;
    let bestAt = -1;
    let bestSumLeft = 0;
    let bestWeightLeft = 0;
    let sumLeft = 0;
    let weightLeft = 0;
    let countLeft = 0;
    for (let at = first; at < last; at += slots) {
      const gap = sumLeft * weight - sum * weightLeft;
      const numerator = gap * gap;
      const denominator = weightLeft * (weight - weightLeft);
      if (
        numerator * bestDenominator > bestNumerator * denominator &&
        (counted
          ? countLeft >= minLeaf && count - countLeft >= minLeaf
          : weightLeft > 0 && weight - weightLeft > 0) &&
        histogram[at - slots + 1] !== 0
      ) {
        bestNumerator = numerator;
        bestDenominator = denominator;
        bestAt = at;
        bestSumLeft = sumLeft;
        bestWeightLeft = weightLeft;
      }
      sumLeft += histogram[at];
      weightLeft += histogram[at + 1];
      if (counted) countLeft += histogram[at + 2];
    }
    if (bestAt >= 0) {
      this.bestNumerator = bestNumerator;
      this.bestDenominator = bestDenominator;
      this.bestFeature = f;
      this.bestLeftBin = ((bestAt - first) / slots - 1) | 0;
      this.bestRightBin = this.bestLeftBin + 1;
      this.bestSumLeft = bestSumLeft;
      this.bestWeightLeft = bestWeightLeft;
    }
    return true;
  }

  /** Stable partition of rows[start..end): rows with bin <= leftBin of feature first. Returns the split point. */
  private partitionRows(start: number, end: number, feature: number, leftBin: number): number {
    const left = this.partitionLeft(start, end, feature, leftBin);
    this.rows.set(this.spareRows.subarray(0, end - left), left);
    return left;
  }

  /**
   * partitionRows' pass: the left rows to rows[start..], the right ones to spareRows[0..]; returns
   * where the left rows end. (A function of its own, of one loop and nothing after it: V8 compiles
   * a long loop of a cold function while it runs, and code after that loop, not yet run, would be
   * compiled without type feedback and thrown away again at each of the following calls.)
   */
  private partitionLeft(start: number, end: number, feature: number, leftBin: number): number {
    const { rowBins } = this.data;
    const { rows, spareRows, nFeatures } = this;
    let left = start;
    let right = 0;
    for (let p = start; p < end; p++) {
      const row = rows[p];
      // Branch-free (V8 compiles a ?: to a branch): 1 when bin <= leftBin, else 0. Which side a
      // row goes to is unpredictable, and a mispredicted branch costs more than the whole step.
      const isLeft = 1 + ((leftBin - rowBins[row * nFeatures + feature]) >> 31);
      rows[left] = row;
      spareRows[right] = row;
      left += isLeft;
      right += 1 - isLeft;
    }
    return left;
  }

  // ---- Small nodes: node-local arrays ----

  /** Grows the whole subtree of the node rows[start..end) from node-local arrays. */
  private growLocal(
    start: number,
    end: number,
    depth: number,
    sum: number,
    weight: number,
    parent: number,
  ): void {
    const n = end - start;
    this.keys = this.keyBuffers[0];
    this.loadLocal(start, n);
    const { localStart, localEnd, localDepth, localSum, localWeight, localBuffer, localParent } =
      this;
    localStart[0] = 0;
    localEnd[0] = n;
    localDepth[0] = depth;
    localSum[0] = sum;
    localWeight[0] = weight;
    localBuffer[0] = 0;
    localParent[0] = parent;
    let top = 1;
    while (top > 0) {
      top--;
      const s = localStart[top];
      const e = localEnd[top];
      const nodeDepth = localDepth[top];
      const nodeSum = localSum[top];
      const nodeWeight = localWeight[top];
      let buffer = localBuffer[top];
      this.keys = this.keyBuffers[buffer];
      const node = this.nodes++;
      this.outRight[localParent[top]] = node;
      const count = e - s;
      const found =
        count >= this.minSplit &&
        count >= 2 * this.minLeaf &&
        nodeDepth < this.maxDepth &&
        !this.localIsPure(s, e) &&
        (count === 2
          ? this.localPair(s, nodeSum, nodeWeight)
          : this.localSearch(s, e, nodeSum, nodeWeight));
      if (!found) {
        this.outFeature[node] = -1;
        this.outValue[node] = this.localMean(s, e);
        continue;
      }
      const feature = this.bestFeature;
      this.emitSplit(node, nodeWeight);
      const mid = this.bestPosition;
      const sumLeft = this.bestSumLeft;
      const weightLeft = this.bestWeightLeft;
      // localPair already ordered a pair; leaves and pairs only read feature 0's keys.
      if (count > 2) {
        const largerChild = Math.max(mid - s, e - mid);
        const childrenMaySplit =
          nodeDepth + 1 < this.maxDepth &&
          largerChild > 2 &&
          largerChild >= this.minSplit &&
          largerChild >= 2 * this.minLeaf;
        buffer ^= 1;
        this.localPartition(s, e, feature, mid, childrenMaySplit, this.keyBuffers[buffer]);
      }
      localStart[top] = mid;
      localEnd[top] = e;
      localDepth[top] = nodeDepth + 1;
      localSum[top] = nodeSum - sumLeft;
      localWeight[top] = nodeWeight - weightLeft;
      localBuffer[top] = buffer;
      localParent[top] = 1 + node;
      top++;
      localStart[top] = s;
      localEnd[top] = mid;
      localDepth[top] = nodeDepth + 1;
      localSum[top] = sumLeft;
      localWeight[top] = weightLeft;
      localBuffer[top] = buffer;
      localParent[top] = 0;
      top++;
    }
  }

  /** Copies the rows rows[start..start+n) into the local arrays and sorts each feature's keys by bin. */
  private loadLocal(start: number, n: number): void {
    const { rowBins, y } = this.data;
    const { rows, rowStats, localStats, localY, localBins, nFeatures, keys } = this;
    for (let id = 0; id < n; id++) {
      const row = rows[start + id];
      localStats[2 * id] = rowStats[2 * row];
      localStats[2 * id + 1] = rowStats[2 * row + 1];
      localY[id] = y[row];
      const from = row * nFeatures;
      const to = id * nFeatures;
      for (let f = 0; f < nFeatures; f++) localBins[to + f] = rowBins[from + f];
    }
    if (n <= INSERTION_SORT_ROWS) {
      for (let f = 0; f < nFeatures; f++) {
        const base = f * LOCAL_ROWS;
        for (let id = 0; id < n; id++) {
          const key = (localBins[id * nFeatures + f] << ID_BITS) | id;
          let p = base + id;
          while (p > base && keys[p - 1] > key) {
            keys[p] = keys[p - 1];
            p--;
          }
          keys[p] = key;
        }
      }
      return;
    }
    // Counting sort by bin, all features at once: count, turn counts into start positions, place.
    const { sortCounts: counts, binStart, binCount } = this;
    for (let id = 0; id < n; id++) {
      const at = id * nFeatures;
      for (let f = 0; f < nFeatures; f++) counts[binStart[f] + localBins[at + f]]++;
    }
    for (let f = 0; f < nFeatures; f++) {
      let position = f * LOCAL_ROWS;
      const last = binStart[f] + binCount[f];
      for (let b = binStart[f]; b < last; b++) {
        const inBin = counts[b];
        counts[b] = position;
        position += inBin;
      }
    }
    for (let id = 0; id < n; id++) {
      const at = id * nFeatures;
      for (let f = 0; f < nFeatures; f++) {
        const bin = localBins[at + f];
        keys[counts[binStart[f] + bin]++] = (bin << ID_BITS) | id;
      }
    }
    counts.fill(0);
  }

  /** True when every row of the local node has the same target. */
  private localIsPure(s: number, e: number): boolean {
    const { keys, localY } = this;
    const first = localY[keys[s] & ID_MASK];
    for (let p = s + 1; p < e; p++) if (localY[keys[p] & ID_MASK] !== first) return false;
    return true;
  }

  /** The weighted mean target of the local node. */
  private localMean(s: number, e: number): number {
    const { keys, localY, localStats } = this;
    let sum = 0;
    let weight = 0;
    for (let p = s; p < e; p++) {
      const id = keys[p] & ID_MASK;
      const w = localStats[2 * id + 1];
      sum += w * localY[id];
      weight += w;
    }
    return sum / weight;
  }

  /**
   * Finds the best split of a local node over features in the node's random order (constant
   * features do not count towards maxFeatures). When every feature is tried, features are
   * scanned two at a time: the two running sums are independent, so the processor overlaps
   * their additions.
   */
  private localSearch(s: number, e: number, sum: number, weight: number): boolean {
    const { keys, nFeatures } = this;
    this.bestNumerator = Number.NEGATIVE_INFINITY;
    this.bestDenominator = 1;
    this.bestFeature = -1;
    const all = this.tryFeatures === nFeatures;
    this.startOrder(all);
    // In a tiny node the best of the first few features is often the best of all: see bestCut.
    const stopEarly =
      all && this.minLeaf === 1 && e - s <= EARLY_STOP_ROWS && this.bestCut(s, e, sum, weight);
    let waiting = -1;
    let tried = 0;
    for (let j = 0; j < nFeatures && tried < this.tryFeatures; j++) {
      const f = this.featureAt(j, all);
      const base = f * LOCAL_ROWS;
      // Keys are ordered by bin, so the node is constant in f iff its first and last bins agree.
      if (keys[base + s] >>> ID_BITS === keys[base + e - 1] >>> ID_BITS) continue;
      tried++;
      if (!all) this.scanOne(f, s, e, sum, weight);
      else if (waiting < 0) waiting = f;
      else {
        this.scanTwo(waiting, f, s, e, sum, weight);
        waiting = -1;
        if (
          stopEarly &&
          this.bestNumerator * this.cutDenominator >= this.cutNumerator * this.bestDenominator
        ) {
          break;
        }
      }
    }
    if (waiting >= 0) this.scanOne(waiting, s, e, sum, weight);
    if (this.bestFeature < 0) return false;
    const base = this.bestFeature * LOCAL_ROWS;
    this.bestLeftBin = keys[base + this.bestPosition - 1] >>> ID_BITS;
    this.bestRightBin = keys[base + this.bestPosition] >>> ID_BITS;
    return true;
  }

  /**
   * The best split of the local node keys[s..e) over all ways to cut its rows in two, into
   * cutNumerator / cutDenominator; false when every row has the same target. For squared error
   * the best cut takes the rows in target order and cuts between two distinct targets (Fisher,
   * 1958), so it is one scan of the rows sorted by target. No split on a feature does better; once
   * one does as well, a search that tries every feature can stop: a later feature could at best
   * tie, and ties go to the earlier feature. In nodes of up to 7 rows the best split reaches this
   * bound in most nodes (99.8 % of 3-row and 79 % of 4- to 7-row nodes of the real data), usually
   * after a few features.
   */
  private bestCut(s: number, e: number, sum: number, weight: number): boolean {
    const { keys, localY, localStats, cutOrder } = this;
    const n = e - s;
    for (let i = 0; i < n; i++) {
      // Insertion sort of the node's ids by target.
      const id = keys[s + i] & ID_MASK;
      let j = i;
      while (j > 0 && localY[cutOrder[j - 1]] > localY[id]) {
        cutOrder[j] = cutOrder[j - 1];
        j--;
      }
      cutOrder[j] = id;
    }
    let best = false;
    let sumLeft = 0;
    let weightLeft = 0;
    for (let i = 0; i + 1 < n; i++) {
      const id = cutOrder[i];
      sumLeft += localStats[2 * id];
      weightLeft += localStats[2 * id + 1];
      if (localY[id] === localY[cutOrder[i + 1]]) continue;
      const gap = sumLeft * weight - sum * weightLeft;
      const numerator = gap * gap;
      const denominator = weightLeft * (weight - weightLeft);
      if (!best || numerator * this.cutDenominator > this.cutNumerator * denominator) {
        this.cutNumerator = numerator;
        this.cutDenominator = denominator;
        best = true;
      }
    }
    return best;
  }

  /**
   * Scans feature f's keys in bin order, evaluating a split before every position that keeps
   * minSamplesLeaf rows on each side, and keeps the best in best* when it beats them. Only a
   * position where the bin changes is a split; that test runs only for a split better than the
   * best so far, since in small nodes the bin changes almost everywhere and the branch would be
   * unpredictable. (The criterion is the one described at the top of this file.)
   */
  private scanOne(f: number, s: number, e: number, sum: number, weight: number): void {
    const { keys, localStats } = this;
    const base = f * LOCAL_ROWS;
    const first = base + s + this.minLeaf;
    const last = base + e - this.minLeaf;
    let bestNumerator = this.bestNumerator;
    let bestDenominator = this.bestDenominator;
    let bestAt = -1;
    let bestSumLeft = 0;
    let bestWeightLeft = 0;
    let sumLeft = 0;
    let weightLeft = 0;
    let key = keys[base + s];
    for (let p = base + s; p < first; p++) {
      key = keys[p];
      const id = key & ID_MASK;
      sumLeft += localStats[2 * id];
      weightLeft += localStats[2 * id + 1];
    }
    let previous = key >>> ID_BITS;
    for (let p = first; p <= last; p++) {
      key = keys[p];
      const bin = key >>> ID_BITS;
      const gap = sumLeft * weight - sum * weightLeft;
      const numerator = gap * gap;
      const denominator = weightLeft * (weight - weightLeft);
      if (numerator * bestDenominator > bestNumerator * denominator && bin !== previous) {
        bestNumerator = numerator;
        bestDenominator = denominator;
        bestAt = p;
        bestSumLeft = sumLeft;
        bestWeightLeft = weightLeft;
      }
      previous = bin;
      const id = key & ID_MASK;
      sumLeft += localStats[2 * id];
      weightLeft += localStats[2 * id + 1];
    }
    if (bestAt >= 0) {
      this.keepBest(f, bestAt - base, bestNumerator, bestDenominator, bestSumLeft, bestWeightLeft);
    }
  }

  /**
   * scanOne for features f and g in one pass. Each keeps its own best, so that the result is the
   * one of scanning f and then g: a split of g must beat f's best, and at equal splits f, drawn
   * first, wins.
   */
  private scanTwo(f: number, g: number, s: number, e: number, sum: number, weight: number): void {
    const { keys, localStats } = this;
    const baseF = f * LOCAL_ROWS;
    const offsetG = (g - f) * LOCAL_ROWS;
    const first = baseF + s + this.minLeaf;
    const last = baseF + e - this.minLeaf;
    let bestNumeratorF = this.bestNumerator;
    let bestDenominatorF = this.bestDenominator;
    let bestNumeratorG = this.bestNumerator;
    let bestDenominatorG = this.bestDenominator;
    let bestAtF = -1;
    let bestAtG = -1;
    let sumF = 0;
    let weightF = 0;
    let sumG = 0;
    let weightG = 0;
    let keyF = keys[baseF + s];
    let keyG = keys[baseF + s + offsetG];
    for (let p = baseF + s; p < first; p++) {
      keyF = keys[p];
      keyG = keys[p + offsetG];
      const idF = keyF & ID_MASK;
      const idG = keyG & ID_MASK;
      sumF += localStats[2 * idF];
      weightF += localStats[2 * idF + 1];
      sumG += localStats[2 * idG];
      weightG += localStats[2 * idG + 1];
    }
    let previousF = keyF >>> ID_BITS;
    let previousG = keyG >>> ID_BITS;
    let bestSumF = 0;
    let bestWeightF = 0;
    let bestSumG = 0;
    let bestWeightG = 0;
    for (let p = first; p <= last; p++) {
      keyF = keys[p];
      keyG = keys[p + offsetG];
      const binF = keyF >>> ID_BITS;
      const binG = keyG >>> ID_BITS;
      {
        const gap = sumF * weight - sum * weightF;
        const numerator = gap * gap;
        const denominator = weightF * (weight - weightF);
        if (numerator * bestDenominatorF > bestNumeratorF * denominator && binF !== previousF) {
          bestNumeratorF = numerator;
          bestDenominatorF = denominator;
          bestAtF = p;
          bestSumF = sumF;
          bestWeightF = weightF;
        }
      }
      {
        const gap = sumG * weight - sum * weightG;
        const numerator = gap * gap;
        const denominator = weightG * (weight - weightG);
        if (numerator * bestDenominatorG > bestNumeratorG * denominator && binG !== previousG) {
          bestNumeratorG = numerator;
          bestDenominatorG = denominator;
          bestAtG = p;
          bestSumG = sumG;
          bestWeightG = weightG;
        }
      }
      previousF = binF;
      previousG = binG;
      const idF = keyF & ID_MASK;
      const idG = keyG & ID_MASK;
      sumF += localStats[2 * idF];
      weightF += localStats[2 * idF + 1];
      sumG += localStats[2 * idG];
      weightG += localStats[2 * idG + 1];
    }
    if (bestAtF >= 0) {
      this.keepBest(f, bestAtF - baseF, bestNumeratorF, bestDenominatorF, bestSumF, bestWeightF);
    }
    if (
      bestAtG >= 0 &&
      bestNumeratorG * this.bestDenominator > this.bestNumerator * bestDenominatorG
    ) {
      this.keepBest(g, bestAtG - baseF, bestNumeratorG, bestDenominatorG, bestSumG, bestWeightG);
    }
  }

  private keepBest(
    feature: number,
    position: number,
    numerator: number,
    denominator: number,
    sumLeft: number,
    weightLeft: number,
  ): void {
    this.bestFeature = feature;
    this.bestPosition = position;
    this.bestNumerator = numerator;
    this.bestDenominator = denominator;
    this.bestSumLeft = sumLeft;
    this.bestWeightLeft = weightLeft;
  }

  /**
   * The split of a local node with two rows: the first feature, in random order, that separates
   * them (every such feature gives the same partition, so this is the general search without its
   * scans).
   */
  private localPair(s: number, sum: number, weight: number): boolean {
    const { keys, localStats, localBins, nFeatures, featureOrder, rng } = this;
    const a = keys[s] & ID_MASK;
    const b = keys[s + 1] & ID_MASK;
    for (let j = 0; j < nFeatures; j++) {
      const pick = j + rng.below(nFeatures - j);
      const f = featureOrder[pick];
      featureOrder[pick] = featureOrder[j];
      featureOrder[j] = f;
      const binA = localBins[a * nFeatures + f];
      const binB = localBins[b * nFeatures + f];
      if (binA === binB) continue;
      const left = binA < binB ? a : b;
      const sumLeft = localStats[2 * left];
      const weightLeft = localStats[2 * left + 1];
      const gap = sumLeft * weight - sum * weightLeft;
      this.bestNumerator = gap * gap;
      this.bestDenominator = weightLeft * (weight - weightLeft);
      this.bestFeature = f;
      this.bestLeftBin = Math.min(binA, binB);
      this.bestRightBin = Math.max(binA, binB);
      this.bestPosition = s + 1;
      this.bestSumLeft = sumLeft;
      this.bestWeightLeft = weightLeft;
      // Feature 0's keys, which the two leaves read, must hold the left row first. (Other
      // features' keys of this node may not be ordered: a pair's parent only splits feature 0's.)
      if (left !== a) {
        const key = keys[s];
        keys[s] = keys[s + 1];
        keys[s + 1] = key;
      }
      return true;
    }
    return false;
  }

  /**
   * Writes the children's keys of the local node split at `mid` of the split feature's keys into
   * `to`, the key buffer the node was not read from, at the node's positions: each feature's left
   * rows at s.., its right rows at mid.., in the node's order, so every feature's keys stay ordered
   * by bin. (The parent's keys that `to` held there are no longer needed: the node's range is
   * inside its parent's, and its sibling's range is disjoint.) Writing to the other buffer puts
   * each key straight where it belongs, with no copy back.
   *
   * Feature 0's keys are always written (leaves and two-row nodes read only them); other
   * features' only when a child of more than two rows may split. A feature constant in the node
   * stays constant below, and below it is only ever tested for being constant, by its first and
   * last keys: those of the children are all it gets.
   */
  private localPartition(
    s: number,
    e: number,
    feature: number,
    mid: number,
    childrenMaySplit: boolean,
    to: Uint16Array | Int32Array,
  ): void {
    const { keys, goesLeft, nFeatures } = this;
    const splitBase = feature * LOCAL_ROWS;
    for (let p = splitBase + s; p < splitBase + mid; p++) goesLeft[keys[p] & ID_MASK] = 1;
    for (let p = splitBase + mid; p < splitBase + e; p++) goesLeft[keys[p] & ID_MASK] = 0;
    const lastList = childrenMaySplit ? nFeatures : 1;
    for (let f = 0; f < lastList; f++) {
      const base = f * LOCAL_ROWS;
      if (f === feature) {
        // Already ordered: left rows first.
        for (let p = base + s; p < base + e; p++) to[p] = keys[p];
        continue;
      }
      const firstKey = keys[base + s];
      if (f !== 0 && firstKey >>> ID_BITS === keys[base + e - 1] >>> ID_BITS) {
        to[base + s] = firstKey;
        to[base + mid - 1] = firstKey;
        to[base + mid] = firstKey;
        to[base + e - 1] = firstKey;
        continue;
      }
      let left = base + s;
      let right = base + mid;
      for (let p = base + s; p < base + e; p++) {
        const key = keys[p];
        // Branch-free: which side a row goes to is unpredictable. -isLeft is all ones or zero.
        const isLeft = goesLeft[key & ID_MASK];
        to[right + ((left - right) & -isLeft)] = key;
        left += isLeft;
        right += 1 - isLeft;
      }
    }
  }
}

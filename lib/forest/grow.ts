// Growing one regression tree on pre-binned data: the hot loop of training.
//
// Each node keeps, per feature, its rows ordered by bin (a segment of one list per feature), so
// finding the best split of a feature is one linear scan that evaluates a candidate wherever the
// bin changes, and a split keeps every list ordered with one stable partition per feature.
// A node therefore costs O(rows * features) whatever maxBins is and however small it gets, which
// is what keeps fully grown trees fast. The per-feature orders of the whole data are sorted once
// per training (a counting sort by bin); each tree only filters them by its bootstrap.
// The bootstrap is kept as distinct rows with integer weights, like sklearn's sample_weight, and
// the split criterion is sklearn's MSE proxy: maximize sumL^2 / wL + sumR^2 / wR.

import type { ForestParams } from "./params.ts";
import { featuresPerSplit } from "./params.ts";
import { bootstrapCounts, TreeRng } from "./rng.ts";

/** The shared, read-only training data every grower of one training sees. */
export interface BinnedData {
  /** Column-major bin indices: colBins[f * nRows + row]. */
  colBins: Uint8Array | Uint16Array;
  /** Per feature, all rows ordered by bin: order[f * nRows + i] (16-bit up to 65,536 rows). */
  order: Uint16Array | Int32Array;
  y: Float64Array;
  nRows: number;
  nFeatures: number;
  /** Per feature, the float32 upper edges of its bins (nBins - 1 of them). */
  edges: Float32Array[];
}

/** One grown tree in preorder: the left child of node i is i + 1. */
export interface GrownTree {
  /** Split feature, or -1 for a leaf. */
  feature: Int16Array;
  /** Split threshold (go left iff value <= threshold), or the leaf's mean target. */
  value: Float32Array;
  /** Weighted impurity decrease per feature, summed over the tree's splits. */
  importance: Float64Array;
}

/** Row indices: 16-bit when the data has at most 65,536 rows. */
type RowList = Uint16Array | Int32Array;

export class TreeGrower {
  private readonly data: BinnedData;
  private readonly params: ForestParams;
  private readonly nRows: number;
  readonly nFeatures: number;
  private readonly tryFeatures: number;
  private readonly yMean: number;
  private readonly maxDepth: number;

  /** Per row: bootstrap weight times centered target, and bootstrap weight. */
  private readonly rowStats: Float64Array;
  /** Per feature, the rows of every open node ordered by bin: lists[f * nRows + position]. */
  private readonly lists: RowList;
  private readonly spare: RowList;
  private readonly goesLeft: Uint8Array;
  private readonly featureOrder: Int32Array;
  /** The steps coprime with nFeatures: each gives a cyclic order that visits every feature once. */
  private readonly steps: number[] = [];

  // Depth-first stack of nodes still to emit.
  private readonly stackStart: Int32Array;
  private readonly stackEnd: Int32Array;
  private readonly stackDepth: Int32Array;
  private readonly stackSum: Float64Array;
  private readonly stackWeight: Float64Array;

  private readonly outFeature: Int16Array;
  private readonly outValue: Float32Array;

  private rng: TreeRng = new TreeRng(0, 0);

  // The best split found by the last search.
  private bestNumerator = 0;
  private bestDenominator = 1;
  private bestProxy = 0;
  private bestFeature = -1;
  private bestLeftBin = 0;
  private bestRightBin = 0;
  private bestPosition = 0;
  private bestSumLeft = 0;
  private bestWeightLeft = 0;

  constructor(data: BinnedData, params: ForestParams) {
    this.data = data;
    this.params = params;
    this.nRows = data.nRows;
    this.nFeatures = data.nFeatures;
    this.tryFeatures = featuresPerSplit(params, data.nFeatures);
    let sum = 0;
    for (let i = 0; i < data.nRows; i++) sum += data.y[i];
    this.yMean = data.nRows > 0 ? sum / data.nRows : 0;
    this.maxDepth = params.maxDepth ?? 2 ** 31 - 1;
    const n = data.nRows;
    this.rowStats = new Float64Array(2 * n);
    // Row indices take 2 bytes when they can: half the memory traffic of the scans and splits.
    this.lists =
      n <= 65_536 ? new Uint16Array(this.nFeatures * n) : new Int32Array(this.nFeatures * n);
    this.spare = n <= 65_536 ? new Uint16Array(n) : new Int32Array(n);
    this.goesLeft = new Uint8Array(n);
    this.featureOrder = new Int32Array(this.nFeatures);
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    for (let step = 1; step <= Math.max(1, this.nFeatures - 1); step++) {
      if (gcd(step, this.nFeatures) === 1) this.steps.push(step);
    }
    this.stackStart = new Int32Array(n + 2);
    this.stackEnd = new Int32Array(n + 2);
    this.stackDepth = new Int32Array(n + 2);
    this.stackSum = new Float64Array(n + 2);
    this.stackWeight = new Float64Array(n + 2);
    this.outFeature = new Int16Array(2 * n + 1);
    this.outValue = new Float32Array(2 * n + 1);
  }

  /** Grows tree `treeIndex` of the forest: its bootstrap and every split come from (seed, treeIndex). */
  grow(treeIndex: number): GrownTree {
    const { y, order } = this.data;
    const { nRows, nFeatures, rowStats, lists } = this;
    this.rng = new TreeRng(this.params.seed, treeIndex);
    const counts = bootstrapCounts(this.rng, nRows);
    let sum = 0;
    let weight = 0;
    const drawn = this.goesLeft;
    for (let row = 0; row < nRows; row++) {
      const w = counts[row];
      drawn[row] = w === 0 ? 0 : 1;
      const wy = w * (y[row] - this.yMean);
      rowStats[2 * row] = wy;
      rowStats[2 * row + 1] = w;
      sum += wy;
      weight += w;
    }
    // Each feature's list starts as the drawn rows in bin order (goesLeft serves as the flags).
    let n = 0;
    for (let f = 0; f < nFeatures; f++) {
      const base = f * nRows;
      n = 0;
      for (let i = 0; i < nRows; i++) {
        const row = order[base + i];
        lists[base + n] = row;
        n += drawn[row];
      }
    }
    for (let f = 0; f < nFeatures; f++) this.featureOrder[f] = f;
    const importance = new Float64Array(nFeatures);

    this.stackStart[0] = 0;
    this.stackEnd[0] = n;
    this.stackDepth[0] = 0;
    this.stackSum[0] = sum;
    this.stackWeight[0] = weight;
    let top = 1;
    let nodes = 0;
    while (top > 0) {
      top--;
      const start = this.stackStart[top];
      const end = this.stackEnd[top];
      const depth = this.stackDepth[top];
      const nodeSum = this.stackSum[top];
      const nodeWeight = this.stackWeight[top];
      const node = nodes++;
      const count = end - start;
      const found =
        count >= this.params.minSamplesSplit &&
        count >= 2 * this.params.minSamplesLeaf &&
        depth < this.maxDepth &&
        !this.isPure(lists, start, end) &&
        (count === 2
          ? this.searchPair(lists, start, nodeSum, nodeWeight)
          : this.search(lists, start, end, nodeSum, nodeWeight));
      if (!found) {
        this.outFeature[node] = -1;
        this.outValue[node] = this.leafValue(lists, start, end);
        continue;
      }

      const feature = this.bestFeature;
      // Any edge between the last left bin and the first right bin separates this node's rows;
      // the middle one keeps unseen values away from both sides, as sklearn's midpoint does.
      const edge = this.bestLeftBin + ((this.bestRightBin - 1 - this.bestLeftBin) >> 1);
      this.outFeature[node] = feature;
      this.outValue[node] = this.data.edges[feature][edge];
      importance[feature] += this.bestProxy - (nodeSum * nodeSum) / nodeWeight;
      const mid = this.bestPosition;
      const sumLeft = this.bestSumLeft;
      const weightLeft = this.bestWeightLeft;
      // Nodes of two rows and leaves only read list 0.
      const largerChild = Math.max(mid - start, end - mid);
      const childrenMaySplit =
        depth + 1 < this.maxDepth &&
        largerChild > 2 &&
        largerChild >= this.params.minSamplesSplit &&
        largerChild >= 2 * this.params.minSamplesLeaf;
      this.partition(start, end, feature, mid, childrenMaySplit);

      // Right child first on the stack so the left child is emitted next (preorder).
      this.stackStart[top] = mid;
      this.stackEnd[top] = end;
      this.stackDepth[top] = depth + 1;
      this.stackSum[top] = nodeSum - sumLeft;
      this.stackWeight[top] = nodeWeight - weightLeft;
      top++;
      this.stackStart[top] = start;
      this.stackEnd[top] = mid;
      this.stackDepth[top] = depth + 1;
      this.stackSum[top] = sumLeft;
      this.stackWeight[top] = weightLeft;
      top++;
    }
    return {
      feature: this.outFeature.slice(0, nodes),
      value: this.outValue.slice(0, nodes),
      importance,
    };
  }

  /** True when every row of the node has the same target. */
  private isPure(lists: RowList, start: number, end: number): boolean {
    const { y } = this.data;
    const first = y[lists[start]];
    for (let p = start + 1; p < end; p++) if (y[lists[p]] !== first) return false;
    return true;
  }

  /** The weighted mean target of the node's rows. */
  private leafValue(lists: RowList, start: number, end: number): number {
    const { y } = this.data;
    const { rowStats } = this;
    let sum = 0;
    let weight = 0;
    for (let p = start; p < end; p++) {
      const row = lists[p];
      const w = rowStats[2 * row + 1];
      sum += w * y[row];
      weight += w;
    }
    return sum / weight;
  }

  /**
   * Finds the best split of the node over features drawn in random order (the order also breaks
   * ties at random, as in sklearn). Like sklearn, features constant in the node do not count
   * towards maxFeatures. When every feature is tried, features are scanned two at a time: the
   * two running sums are independent, so the processor overlaps their additions.
   */
  private search(lists: RowList, start: number, end: number, sum: number, weight: number): boolean {
    const { colBins } = this.data;
    const { nRows, nFeatures, featureOrder, rng } = this;
    this.bestNumerator = Number.NEGATIVE_INFINITY;
    this.bestDenominator = 1;
    this.bestFeature = -1;
    const all = this.tryFeatures === nFeatures;
    let waiting = -1;
    let tried = 0;
    // When every feature is tried the order only breaks ties, and a random cyclic order (a random
    // start and a random step coprime with nFeatures) costs one draw instead of nFeatures.
    const random = all ? rng.nextUint32() : 0;
    const first = (random & 0xffff) % nFeatures;
    const step = this.steps[(random >>> 16) % this.steps.length];
    for (let j = 0; j < nFeatures && tried < this.tryFeatures; j++) {
      let f = (first + j * step) % nFeatures;
      if (!all) {
        const pick = j + rng.below(nFeatures - j);
        f = featureOrder[pick];
        featureOrder[pick] = featureOrder[j];
        featureOrder[j] = f;
      }
      const base = f * nRows;
      // Rows are ordered by bin, so the node is constant in f iff its first and last bins agree.
      if (colBins[base + lists[base + start]] === colBins[base + lists[base + end - 1]]) continue;
      tried++;
      if (!all) this.scanOne(lists, f, start, end, sum, weight);
      else if (waiting < 0) waiting = f;
      else {
        this.scanTwo(lists, waiting, f, start, end, sum, weight);
        waiting = -1;
      }
    }
    if (waiting >= 0) this.scanOne(lists, waiting, start, end, sum, weight);
    if (this.bestFeature < 0) return false;
    const base = this.bestFeature * nRows;
    this.bestProxy = this.bestNumerator / this.bestDenominator;
    this.bestLeftBin = colBins[base + lists[base + this.bestPosition - 1]];
    this.bestRightBin = colBins[base + lists[base + this.bestPosition]];
    return true;
  }

  /**
   * Scans feature f's rows in bin order, evaluating a split wherever the bin changes, and keeps
   * it in best* when it beats them. The criterion, sumLeft^2 / weightLeft + sumRight^2 /
   * weightRight, is compared as a fraction to keep divisions out of the loop.
   */
  private scanOne(
    lists: RowList,
    f: number,
    start: number,
    end: number,
    sum: number,
    weight: number,
  ): void {
    const { colBins } = this.data;
    const { rowStats } = this;
    const base = f * this.nRows;
    // A split before position p leaves p - start rows on the left: p in first..last keeps
    // minSamplesLeaf rows on each side.
    const first = start + this.params.minSamplesLeaf;
    const last = end - this.params.minSamplesLeaf;
    let bestNumerator = this.bestNumerator;
    let bestDenominator = this.bestDenominator;
    let bestPosition = -1;
    let bestSumLeft = 0;
    let bestWeightLeft = 0;
    let sumLeft = 0;
    let weightLeft = 0;
    let row = lists[base + start];
    for (let p = start; p < first; p++) {
      row = lists[base + p];
      sumLeft += rowStats[2 * row];
      weightLeft += rowStats[2 * row + 1];
    }
    let prevBin = colBins[base + row];
    for (let p = first; p <= last; p++) {
      row = lists[base + p];
      const bin = colBins[base + row];
      const sumRight = sum - sumLeft;
      const weightRight = weight - weightLeft;
      const numerator = sumLeft * sumLeft * weightRight + sumRight * sumRight * weightLeft;
      const denominator = weightLeft * weightRight;
      if (numerator * bestDenominator > bestNumerator * denominator && bin !== prevBin) {
        bestNumerator = numerator;
        bestDenominator = denominator;
        bestPosition = p;
        bestSumLeft = sumLeft;
        bestWeightLeft = weightLeft;
      }
      prevBin = bin;
      sumLeft += rowStats[2 * row];
      weightLeft += rowStats[2 * row + 1];
    }
    if (bestPosition >= 0)
      this.keepBest(f, bestPosition, bestNumerator, bestDenominator, bestSumLeft, bestWeightLeft);
  }

  /** scanOne for features f and g in one pass; at equal splits f, drawn first, wins as it would. */
  private scanTwo(
    lists: RowList,
    f: number,
    g: number,
    start: number,
    end: number,
    sum: number,
    weight: number,
  ): void {
    const { colBins } = this.data;
    const { rowStats } = this;
    const baseF = f * this.nRows;
    const baseG = g * this.nRows;
    const first = start + this.params.minSamplesLeaf;
    const last = end - this.params.minSamplesLeaf;
    let bestNumerator = this.bestNumerator;
    let bestDenominator = this.bestDenominator;
    let bestFeature = -1;
    let bestPosition = -1;
    let bestSumLeft = 0;
    let bestWeightLeft = 0;
    let sumF = 0;
    let weightF = 0;
    let sumG = 0;
    let weightG = 0;
    let rowF = lists[baseF + start];
    let rowG = lists[baseG + start];
    for (let p = start; p < first; p++) {
      rowF = lists[baseF + p];
      rowG = lists[baseG + p];
      sumF += rowStats[2 * rowF];
      weightF += rowStats[2 * rowF + 1];
      sumG += rowStats[2 * rowG];
      weightG += rowStats[2 * rowG + 1];
    }
    let prevF = colBins[baseF + rowF];
    let prevG = colBins[baseG + rowG];
    for (let p = first; p <= last; p++) {
      rowF = lists[baseF + p];
      rowG = lists[baseG + p];
      const binF = colBins[baseF + rowF];
      const binG = colBins[baseG + rowG];
      {
        const sumRight = sum - sumF;
        const weightRight = weight - weightF;
        const numerator = sumF * sumF * weightRight + sumRight * sumRight * weightF;
        const denominator = weightF * weightRight;
        if (numerator * bestDenominator > bestNumerator * denominator && binF !== prevF) {
          bestNumerator = numerator;
          bestDenominator = denominator;
          bestFeature = f;
          bestPosition = p;
          bestSumLeft = sumF;
          bestWeightLeft = weightF;
        }
        prevF = binF;
      }
      {
        const sumRight = sum - sumG;
        const weightRight = weight - weightG;
        const numerator = sumG * sumG * weightRight + sumRight * sumRight * weightG;
        const denominator = weightG * weightRight;
        if (numerator * bestDenominator > bestNumerator * denominator && binG !== prevG) {
          bestNumerator = numerator;
          bestDenominator = denominator;
          bestFeature = g;
          bestPosition = p;
          bestSumLeft = sumG;
          bestWeightLeft = weightG;
        }
        prevG = binG;
      }
      sumF += rowStats[2 * rowF];
      weightF += rowStats[2 * rowF + 1];
      sumG += rowStats[2 * rowG];
      weightG += rowStats[2 * rowG + 1];
    }
    if (bestFeature >= 0) {
      this.keepBest(
        bestFeature,
        bestPosition,
        bestNumerator,
        bestDenominator,
        bestSumLeft,
        bestWeightLeft,
      );
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
   * The split of a node with two rows: the first feature, in random order, that separates them
   * (every such feature gives the same partition, so this is the general search without its scans).
   */
  private searchPair(lists: RowList, start: number, sum: number, weight: number): boolean {
    const { colBins } = this.data;
    const { rowStats, nRows, nFeatures, featureOrder, rng } = this;
    const a = lists[start];
    const b = lists[start + 1];
    for (let j = 0; j < nFeatures; j++) {
      const pick = j + rng.below(nFeatures - j);
      const f = featureOrder[pick];
      featureOrder[pick] = featureOrder[j];
      featureOrder[j] = f;
      const binA = colBins[f * nRows + a];
      const binB = colBins[f * nRows + b];
      if (binA === binB) continue;
      const left = binA < binB ? a : b;
      const sumLeft = rowStats[2 * left];
      const weightLeft = rowStats[2 * left + 1];
      const sumRight = sum - sumLeft;
      this.bestProxy =
        (sumLeft * sumLeft) / weightLeft + (sumRight * sumRight) / (weight - weightLeft);
      this.bestFeature = f;
      this.bestLeftBin = Math.min(binA, binB);
      this.bestRightBin = Math.max(binA, binB);
      this.bestPosition = start + 1;
      this.bestSumLeft = sumLeft;
      this.bestWeightLeft = weightLeft;
      return true;
    }
    return false;
  }

  /**
   * Splits the node's segment of every list at `mid` of the split feature's list, keeping each
   * ordered. List 0 is always split (leaves and two-row nodes read only it); other lists only when
   * a child of more than two rows may split,
   * and not when the feature is constant in the node: it stays constant below, so any order of
   * the node's rows in that list serves the children.
   */
  private partition(
    start: number,
    end: number,
    feature: number,
    mid: number,
    childrenMaySplit: boolean,
  ): void {
    const { colBins } = this.data;
    const { lists, spare, goesLeft, nRows, nFeatures } = this;
    const splitBase = feature * nRows;
    for (let p = start; p < mid; p++) goesLeft[lists[splitBase + p]] = 1;
    for (let p = mid; p < end; p++) goesLeft[lists[splitBase + p]] = 0;
    const lastList = childrenMaySplit ? nFeatures : 1;
    for (let f = 0; f < lastList; f++) {
      const base = f * nRows;
      if (f === feature) continue;
      if (
        f !== 0 &&
        colBins[base + lists[base + start]] === colBins[base + lists[base + end - 1]]
      ) {
        continue;
      }
      let left = base + start;
      let right = 0;
      for (let p = base + start; p < base + end; p++) {
        const row = lists[p];
        // Branch-free: which side a row goes to is unpredictable.
        const isLeft = goesLeft[row];
        lists[left] = row;
        spare[right] = row;
        left += isLeft;
        right += 1 - isLeft;
      }
      for (let i = 0; i < right; i++) lists[left + i] = spare[i];
    }
  }
}

// Growing one regression tree on pre-binned data: the hot loop of training, in AssemblyScript,
// compiled to lib/forest/grow.wasm by `npm run build:wasm` (lib/forest/grow.ts loads it).
// WebAssembly runs this loop about 1.5 times as fast as the same code as JavaScript, with no
// bounds checks and no warm-up in which V8 has not yet compiled it.
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
//
// Two instances of the grower are compiled: bins of one byte and keys of two (maxBins <= 256),
// and bins of two bytes and keys of four. The exported functions at the end drive whichever the
// training made; lib/forest/grow.ts writes the data into the arrays they point at.

/**
 * Nodes with at most this many rows are grown from node-local arrays. A local row id takes the
 * low ID_BITS bits of a sort key. Above this size a histogram pass (about as long as the number of
 * bins) costs less than scanning and partitioning every feature's rows.
 */
export const LOCAL_ROWS: i32 = 256;
const ID_BITS: i32 = 8;
const ID_MASK: i32 = (1 << ID_BITS) - 1;
/** Up to this many rows, a search that tries every feature stops once it is sure of the best (see bestCut). */
const EARLY_STOP_ROWS: i32 = 7;
/** Below this many rows insertion sort orders a feature's keys faster than a counting sort. */
const INSERTION_SORT_ROWS: i32 = 48;

/**
 * The rest of a tree's xoshiro128** stream: TreeRng (lib/forest/rng.ts) draws the bootstrap and
 * hands over its state, from which each node draws its feature order. The two must draw alike:
 * grow.test.ts grows trees against reference rules that draw every feature order from TreeRng.
 */
class Rng {
  a: u32 = 0;
  b: u32 = 0;
  c: u32 = 0;
  d: u32 = 0;

  nextUint32(): u32 {
    const result = rotl<u32>(this.b * 5, 7) * 9;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl<u32>(this.d, 11);
    return result;
  }

  /** A uniform integer in [0, n), computed in float64 exactly as TreeRng.below does. */
  below(n: i32): i32 {
    return <i32>Math.floor((<f64>this.nextUint32() * <f64>n) / 4294967296.0);
  }
}

function fill0<T>(array: StaticArray<T>): void {
  memory.fill(changetype<usize>(array), 0, (<usize>array.length) << alignof<T>());
}

/** The grower over bins of type B and sort keys of type K. */
class Grower<B, K> {
  nRows: i32;
  nFeatures: i32;
  tryFeatures: i32;
  maxDepth: i32;
  minLeaf: i32;
  minSplit: i32;
  /**
   * Histogram slots per bin: the sums of weight * centered target and of weight, and, only when
   * minSamplesLeaf > 1, the row count. (With one row per leaf allowed, a side holds rows iff
   * its weight is positive: drawn rows weigh at least 1.)
   */
  slots: i32;
  yMean: f64 = 0;

  // The data, written by lib/forest/grow.ts before init.
  /** Row-major bin indices: rowBins[row * nFeatures + f]. */
  rowBins: StaticArray<B>;
  y: StaticArray<f64>;
  /** Per feature, its float32 upper bin edges at edges[f * edgeStride ..], edgeCounts[f] of them. */
  edges: StaticArray<f32>;
  edgeStride: i32;
  edgeCounts: StaticArray<i32>;
  /** How often the current tree's bootstrap drew each row, written before each grow. */
  bootstrap: StaticArray<i32>;
  rng: Rng = new Rng();

  /** The first histogram bin of each feature, and how many bins it has. */
  binStart: StaticArray<i32>;
  binCount: StaticArray<i32>;
  totalBins: i32 = 0;

  /** Per row: bootstrap weight times centered target, and bootstrap weight. */
  rowStats: StaticArray<f64>;
  /** The drawn rows; a node of the large-node stack owns rows[start..end). */
  rows: StaticArray<i32>;
  spareRows: StaticArray<i32>;
  /** Histograms of the large nodes waiting on the stack, and the free ones. */
  histograms: Array<StaticArray<f64>> = [];
  freeHistograms: Array<i32> = [];

  // The large-node stack (depth first; a node is either split here or grown locally).
  stackStart: StaticArray<i32>;
  stackEnd: StaticArray<i32>;
  stackDepth: StaticArray<i32>;
  stackSum: StaticArray<f64>;
  stackWeight: StaticArray<f64>;
  stackHistogram: StaticArray<i32>;
  /** 1 + the parent of a waiting right child; 0 for a left child (see outRight). */
  stackParent: StaticArray<i32>;

  // The small-node arrays: local id i stands for a row of the subtree being grown.
  /** Per local id: weight * centered target, weight. */
  localStats: StaticArray<f64>;
  localY: StaticArray<f64>;
  /** Per local id, the bins of its row: localBins[id * nFeatures + f]. */
  localBins: StaticArray<u16>;
  /**
   * Per feature, the node's keys (bin << ID_BITS | id) in order: keys[f * LOCAL_ROWS + position].
   * Two buffers: a split writes its children's keys into the buffer it does not read (see
   * localPartition), and `keys` is the one that holds the node being grown.
   */
  keys: StaticArray<K>;
  keys0: StaticArray<K>;
  keys1: StaticArray<K>;
  goesLeft: StaticArray<i32>;
  /** Counting-sort counters, one per histogram bin; all zero between uses. */
  sortCounts: StaticArray<i32> = new StaticArray<i32>(0);
  localStart: StaticArray<i32>;
  localEnd: StaticArray<i32>;
  localDepth: StaticArray<i32>;
  localSum: StaticArray<f64>;
  localWeight: StaticArray<f64>;
  /** Which of the key buffers holds the waiting node's keys. */
  localBuffer: StaticArray<i32>;
  localParent: StaticArray<i32>;

  featureOrder: StaticArray<i32>;
  orderNext: i32 = 0;
  orderStep: i32 = 1;
  /** The steps coprime with nFeatures: each gives a cyclic order that visits every feature once. */
  steps: StaticArray<i32>;
  nSteps: i32 = 0;

  outFeature: StaticArray<i16>;
  outValue: StaticArray<f32>;
  /**
   * outRight[1 + node]: the right child of split node `node`. A node writes its index at its
   * parent's slot when it is the right child, and at slot 0 otherwise: no branch on which it is.
   */
  outRight: StaticArray<i32>;
  nodes: i32 = 0;
  /** Weighted impurity decrease per feature, summed over the tree's splits. */
  importance: StaticArray<f64>;

  // The best split found by the last search. A position is a local key position; a bin is the
  // feature's own bin index.
  bestNumerator: f64 = 0;
  bestDenominator: f64 = 1;
  bestFeature: i32 = -1;
  bestLeftBin: i32 = 0;
  bestRightBin: i32 = 0;
  bestPosition: i32 = 0;
  bestSumLeft: f64 = 0;
  bestWeightLeft: f64 = 0;
  // The best cut of the node's rows in two, whatever the features (see bestCut).
  cutNumerator: f64 = 0;
  cutDenominator: f64 = 1;
  cutOrder: StaticArray<i32> = new StaticArray<i32>(EARLY_STOP_ROWS);

  constructor(
    nRows: i32,
    nFeatures: i32,
    maxBins: i32,
    tryFeatures: i32,
    maxDepth: i32,
    minLeaf: i32,
    minSplit: i32,
  ) {
    const n = nRows;
    this.nRows = n;
    this.nFeatures = nFeatures;
    this.tryFeatures = tryFeatures;
    this.maxDepth = maxDepth;
    this.minLeaf = minLeaf;
    this.minSplit = minSplit;
    this.slots = minLeaf > 1 ? 3 : 2;
    this.rowBins = new StaticArray<B>(n * nFeatures);
    this.y = new StaticArray<f64>(n);
    this.edgeStride = maxBins - 1;
    this.edges = new StaticArray<f32>(nFeatures * (maxBins - 1));
    this.edgeCounts = new StaticArray<i32>(nFeatures);
    this.bootstrap = new StaticArray<i32>(n);
    this.binStart = new StaticArray<i32>(nFeatures);
    this.binCount = new StaticArray<i32>(nFeatures);

    this.rowStats = new StaticArray<f64>(2 * n);
    this.rows = new StaticArray<i32>(n);
    this.spareRows = new StaticArray<i32>(n);
    // Waiting nodes hold disjoint rows, at least one each.
    this.stackStart = new StaticArray<i32>(n + 2);
    this.stackEnd = new StaticArray<i32>(n + 2);
    this.stackDepth = new StaticArray<i32>(n + 2);
    this.stackSum = new StaticArray<f64>(n + 2);
    this.stackWeight = new StaticArray<f64>(n + 2);
    this.stackHistogram = new StaticArray<i32>(n + 2);
    this.stackParent = new StaticArray<i32>(n + 2);

    const local = LOCAL_ROWS;
    this.localStats = new StaticArray<f64>(2 * local);
    this.localY = new StaticArray<f64>(local);
    this.localBins = new StaticArray<u16>(local * nFeatures);
    const keys0 = new StaticArray<K>(nFeatures * local);
    this.keys0 = keys0;
    this.keys1 = new StaticArray<K>(nFeatures * local);
    this.keys = keys0;
    this.goesLeft = new StaticArray<i32>(local);
    this.localStart = new StaticArray<i32>(local + 2);
    this.localEnd = new StaticArray<i32>(local + 2);
    this.localDepth = new StaticArray<i32>(local + 2);
    this.localSum = new StaticArray<f64>(local + 2);
    this.localWeight = new StaticArray<f64>(local + 2);
    this.localBuffer = new StaticArray<i32>(local + 2);
    this.localParent = new StaticArray<i32>(local + 2);

    this.featureOrder = new StaticArray<i32>(nFeatures);
    const steps = new StaticArray<i32>(max<i32>(1, nFeatures));
    let nSteps = 0;
    for (let step = 1; step <= max<i32>(1, nFeatures - 1); step++) {
      if (gcd(step, nFeatures) === 1) steps[nSteps++] = step;
    }
    this.steps = steps;
    this.nSteps = nSteps;
    this.outFeature = new StaticArray<i16>(2 * n + 1);
    this.outValue = new StaticArray<f32>(2 * n + 1);
    this.outRight = new StaticArray<i32>(2 * n + 2);
    this.importance = new StaticArray<f64>(nFeatures);
  }

  /** Takes in the data that lib/forest/grow.ts wrote into rowBins, y, edges and edgeCounts. */
  init(): void {
    const n = this.nRows;
    let sum: f64 = 0;
    for (let i = 0; i < n; i++) sum += this.y[i];
    this.yMean = n > 0 ? sum / <f64>n : 0;
    let bins = 0;
    for (let f = 0; f < this.nFeatures; f++) {
      this.binStart[f] = bins;
      this.binCount[f] = this.edgeCounts[f] + 1;
      bins += this.binCount[f];
    }
    this.totalBins = bins;
    this.sortCounts = new StaticArray<i32>(bins + 1);
  }

  /** Grows a tree from the bootstrap and the generator's state (a, b, c, d); returns its node count. */
  growFrom(a: u32, b: u32, c: u32, d: u32): i32 {
    this.rng.a = a;
    this.rng.b = b;
    this.rng.c = c;
    this.rng.d = d;
    const y = this.y;
    const nRows = this.nRows;
    const nFeatures = this.nFeatures;
    const rowStats = this.rowStats;
    const rows = this.rows;
    const counts = this.bootstrap;
    let sum: f64 = 0;
    let weight: f64 = 0;
    let drawn = 0;
    for (let row = 0; row < nRows; row++) {
      const w = counts[row];
      const wy = <f64>w * (y[row] - this.yMean);
      rowStats[2 * row] = wy;
      rowStats[2 * row + 1] = <f64>w;
      sum += wy;
      weight += <f64>w;
      rows[drawn] = row;
      // Branch-free: 1 when w > 0 (about a third of the rows are not drawn, at random).
      drawn += <i32>(<u32>-w >> 31);
    }
    for (let f = 0; f < nFeatures; f++) this.featureOrder[f] = f;
    fill0(this.importance);
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
        this.outValue[node] = <f32>this.rowsMean(start, end);
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
          this.addRows(histogram, smallStart, smallEnd, -1);
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
    return this.nodes;
  }

  /** Writes split node `node` from best* and adds its impurity decrease to the importances. */
  emitSplit(node: i32, nodeWeight: f64): void {
    const feature = this.bestFeature;
    // Any edge between the last left bin and the first right bin separates this node's rows;
    // the middle one keeps unseen values away from both sides, as sklearn's midpoint does.
    const edge = this.bestLeftBin + ((this.bestRightBin - 1 - this.bestLeftBin) >> 1);
    this.outFeature[node] = <i16>feature;
    this.outValue[node] = this.edges[feature * this.edgeStride + edge];
    this.importance[feature] += this.bestNumerator / (this.bestDenominator * nodeWeight);
  }

  /**
   * A node's search visits features in random order (which also breaks ties at random, as in
   * sklearn). When every feature is tried the order only breaks ties, and a random cyclic order (a
   * random start and a random step coprime with nFeatures) costs one draw instead of nFeatures;
   * otherwise it is a partial Fisher-Yates shuffle, drawn as the search goes (featureAt).
   */
  startOrder(all: bool): void {
    if (!all) return;
    const random = this.rng.nextUint32();
    this.orderNext = <i32>((random & 0xffff) % <u32>this.nFeatures);
    this.orderStep = this.steps[<i32>((random >> 16) % <u32>this.nSteps)];
  }

  /** The jth feature of the node's order; j counts up from 0 in each search. */
  featureAt(j: i32, all: bool): i32 {
    if (all) {
      // (start + j * step) mod nFeatures, without a division per feature.
      const f = this.orderNext;
      this.orderNext =
        f + this.orderStep < this.nFeatures
          ? f + this.orderStep
          : f + this.orderStep - this.nFeatures;
      return f;
    }
    const featureOrder = this.featureOrder;
    const pick = j + this.rng.below(this.nFeatures - j);
    const f = featureOrder[pick];
    featureOrder[pick] = featureOrder[j];
    featureOrder[j] = f;
    return f;
  }

  // ---- Large nodes: one row list and a histogram ----

  /** A free histogram slot holding the sums of rows[start..end). */
  buildHistogram(start: i32, end: i32): i32 {
    let slot: i32;
    if (this.freeHistograms.length > 0) {
      slot = this.freeHistograms.pop();
    } else {
      slot = this.histograms.length;
      this.histograms.push(new StaticArray<f64>(this.slots * this.totalBins));
    }
    const histogram = this.histograms[slot];
    fill0(histogram);
    this.addRows(histogram, start, end, 1);
    return slot;
  }

  /** Adds (sign 1) or removes (sign -1) the rows rows[start..end) to or from a histogram. */
  addRows(histogram: StaticArray<f64>, start: i32, end: i32, sign: i32): void {
    const rowBins = this.rowBins;
    const rows = this.rows;
    const rowStats = this.rowStats;
    const nFeatures = this.nFeatures;
    const binStart = this.binStart;
    const signed = <f64>sign;
    const signs = f64x2.splat(signed);
    const slots = changetype<usize>(histogram);
    const stats = changetype<usize>(rowStats);
    for (let p = start; p < end; p++) {
      const row = rows[p];
      // The row's (weighted target, weight), added to a bin's first two slots as one vector.
      const pair = f64x2.mul(signs, v128.load(stats + ((<usize>row) << 4)));
      const base = row * nFeatures;
      if (this.slots === 2) {
        for (let f = 0; f < nFeatures; f++) {
          const at = slots + ((<usize>(binStart[f] + <i32>rowBins[base + f])) << 4);
          v128.store(at, f64x2.add(v128.load(at), pair));
        }
      } else {
        for (let f = 0; f < nFeatures; f++) {
          const at = 3 * (binStart[f] + <i32>rowBins[base + f]);
          const pairAt = slots + ((<usize>at) << 3);
          v128.store(pairAt, f64x2.add(v128.load(pairAt), pair));
          histogram[at + 2] += signed;
        }
      }
    }
  }

  subtractHistogram(from: StaticArray<f64>, histogram: StaticArray<f64>): void {
    for (let i = 0; i < from.length; i++) from[i] -= histogram[i];
  }

  /** True when every row of rows[start..end) has the same target. */
  rowsArePure(start: i32, end: i32): bool {
    const y = this.y;
    const rows = this.rows;
    const first = y[rows[start]];
    for (let p = start + 1; p < end; p++) if (y[rows[p]] !== first) return false;
    return true;
  }

  /** The weighted mean target of rows[start..end). */
  rowsMean(start: i32, end: i32): f64 {
    const y = this.y;
    const rows = this.rows;
    const rowStats = this.rowStats;
    let sum: f64 = 0;
    let weight: f64 = 0;
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
  searchHistogram(histogram: StaticArray<f64>, count: i32, sum: f64, weight: f64): bool {
    const all = this.tryFeatures === this.nFeatures;
    this.bestNumerator = -Infinity;
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
   * Returns false, without a scan, when the feature is constant in the node. A split only counts
   * after a bin that holds rows and with minSamplesLeaf rows on each side; those checks run only
   * for a split that beats the best so far, which keeps them out of the common path. (The
   * weighted target sums of empty bins may be rounding noise left by subtraction; they never
   * decide anything.)
   */
  scanBins(histogram: StaticArray<f64>, f: i32, count: i32, sum: f64, weight: f64): bool {
    const minLeaf = <f64>this.minLeaf;
    const slots = this.slots;
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
    let bestSumLeft: f64 = 0;
    let bestWeightLeft: f64 = 0;
    let sumLeft: f64 = 0;
    let weightLeft: f64 = 0;
    let countLeft: f64 = 0;
    const rows = <f64>count;
    for (let at = first; at < last; at += slots) {
      const gap = sumLeft * weight - sum * weightLeft;
      const numerator = gap * gap;
      const denominator = weightLeft * (weight - weightLeft);
      if (
        numerator * bestDenominator > bestNumerator * denominator &&
        (counted
          ? countLeft >= minLeaf && rows - countLeft >= minLeaf
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
      this.bestLeftBin = (bestAt - first) / slots - 1;
      this.bestRightBin = this.bestLeftBin + 1;
      this.bestSumLeft = bestSumLeft;
      this.bestWeightLeft = bestWeightLeft;
    }
    return true;
  }

  /**
   * Stable partition of rows[start..end): rows with bin <= leftBin of feature first, in rows;
   * the others go to spareRows and are copied back after them. Returns the split point.
   */
  partitionRows(start: i32, end: i32, feature: i32, leftBin: i32): i32 {
    const rowBins = this.rowBins;
    const rows = this.rows;
    const spareRows = this.spareRows;
    const nFeatures = this.nFeatures;
    let left = start;
    let right = 0;
    for (let p = start; p < end; p++) {
      const row = rows[p];
      // Branch-free: 1 when bin <= leftBin, else 0. Which side a row goes to is unpredictable,
      // and a mispredicted branch costs more than the whole step.
      const isLeft = 1 + ((leftBin - <i32>rowBins[row * nFeatures + feature]) >> 31);
      rows[left] = row;
      spareRows[right] = row;
      left += isLeft;
      right += 1 - isLeft;
    }
    memory.copy(
      changetype<usize>(rows) + ((<usize>left) << 2),
      changetype<usize>(spareRows),
      (<usize>(end - left)) << 2,
    );
    return left;
  }

  // ---- Small nodes: node-local arrays ----

  /** Grows the whole subtree of the node rows[start..end) from node-local arrays. */
  growLocal(start: i32, end: i32, depth: i32, sum: f64, weight: f64, parent: i32): void {
    const n = end - start;
    this.keys = this.keys0;
    this.loadLocal(start, n);
    const localStart = this.localStart;
    const localEnd = this.localEnd;
    const localDepth = this.localDepth;
    const localSum = this.localSum;
    const localWeight = this.localWeight;
    const localBuffer = this.localBuffer;
    const localParent = this.localParent;
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
      this.keys = buffer === 0 ? this.keys0 : this.keys1;
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
        this.outValue[node] = <f32>this.localMean(s, e);
        continue;
      }
      const feature = this.bestFeature;
      this.emitSplit(node, nodeWeight);
      const mid = this.bestPosition;
      const sumLeft = this.bestSumLeft;
      const weightLeft = this.bestWeightLeft;
      // localPair already ordered a pair; leaves and pairs only read feature 0's keys.
      if (count > 2) {
        const largerChild = max<i32>(mid - s, e - mid);
        const childrenMaySplit =
          nodeDepth + 1 < this.maxDepth &&
          largerChild > 2 &&
          largerChild >= this.minSplit &&
          largerChild >= 2 * this.minLeaf;
        buffer ^= 1;
        this.localPartition(
          s,
          e,
          feature,
          mid,
          childrenMaySplit,
          buffer === 0 ? this.keys0 : this.keys1,
        );
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
  loadLocal(start: i32, n: i32): void {
    const rowBins = this.rowBins;
    const y = this.y;
    const rows = this.rows;
    const rowStats = this.rowStats;
    const localStats = this.localStats;
    const localY = this.localY;
    const localBins = this.localBins;
    const nFeatures = this.nFeatures;
    const keys = this.keys;
    for (let id = 0; id < n; id++) {
      const row = rows[start + id];
      localStats[2 * id] = rowStats[2 * row];
      localStats[2 * id + 1] = rowStats[2 * row + 1];
      localY[id] = y[row];
      const from = row * nFeatures;
      const to = id * nFeatures;
      for (let f = 0; f < nFeatures; f++) localBins[to + f] = <u16>rowBins[from + f];
    }
    if (n <= INSERTION_SORT_ROWS) {
      for (let f = 0; f < nFeatures; f++) {
        const base = f * LOCAL_ROWS;
        for (let id = 0; id < n; id++) {
          const key = ((<i32>localBins[id * nFeatures + f]) << ID_BITS) | id;
          let p = base + id;
          while (p > base && <i32>keys[p - 1] > key) {
            keys[p] = keys[p - 1];
            p--;
          }
          keys[p] = <K>key;
        }
      }
      return;
    }
    // Counting sort by bin, all features at once: count, turn counts into start positions, place.
    const counts = this.sortCounts;
    const binStart = this.binStart;
    const binCount = this.binCount;
    for (let id = 0; id < n; id++) {
      const at = id * nFeatures;
      for (let f = 0; f < nFeatures; f++) counts[binStart[f] + <i32>localBins[at + f]]++;
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
        const bin = <i32>localBins[at + f];
        keys[counts[binStart[f] + bin]++] = <K>((bin << ID_BITS) | id);
      }
    }
    fill0(counts);
  }

  /** True when every row of the local node has the same target. */
  localIsPure(s: i32, e: i32): bool {
    const keys = this.keys;
    const localY = this.localY;
    const first = localY[<i32>keys[s] & ID_MASK];
    for (let p = s + 1; p < e; p++) if (localY[<i32>keys[p] & ID_MASK] !== first) return false;
    return true;
  }

  /** The weighted mean target of the local node. */
  localMean(s: i32, e: i32): f64 {
    const keys = this.keys;
    const localY = this.localY;
    const localStats = this.localStats;
    let sum: f64 = 0;
    let weight: f64 = 0;
    for (let p = s; p < e; p++) {
      const id = <i32>keys[p] & ID_MASK;
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
  localSearch(s: i32, e: i32, sum: f64, weight: f64): bool {
    const keys = this.keys;
    const nFeatures = this.nFeatures;
    this.bestNumerator = -Infinity;
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
      if (<i32>keys[base + s] >> ID_BITS === <i32>keys[base + e - 1] >> ID_BITS) continue;
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
    this.bestLeftBin = <i32>keys[base + this.bestPosition - 1] >> ID_BITS;
    this.bestRightBin = <i32>keys[base + this.bestPosition] >> ID_BITS;
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
  bestCut(s: i32, e: i32, sum: f64, weight: f64): bool {
    const keys = this.keys;
    const localY = this.localY;
    const localStats = this.localStats;
    const cutOrder = this.cutOrder;
    const n = e - s;
    for (let i = 0; i < n; i++) {
      // Insertion sort of the node's ids by target.
      const id = <i32>keys[s + i] & ID_MASK;
      let j = i;
      while (j > 0 && localY[cutOrder[j - 1]] > localY[id]) {
        cutOrder[j] = cutOrder[j - 1];
        j--;
      }
      cutOrder[j] = id;
    }
    let best = false;
    let sumLeft: f64 = 0;
    let weightLeft: f64 = 0;
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
  scanOne(f: i32, s: i32, e: i32, sum: f64, weight: f64): void {
    const keys = this.keys;
    const localStats = this.localStats;
    const base = f * LOCAL_ROWS;
    const first = base + s + this.minLeaf;
    const last = base + e - this.minLeaf;
    let bestNumerator = this.bestNumerator;
    let bestDenominator = this.bestDenominator;
    let bestAt = -1;
    let bestSumLeft: f64 = 0;
    let bestWeightLeft: f64 = 0;
    let sumLeft: f64 = 0;
    let weightLeft: f64 = 0;
    let key = <i32>keys[base + s];
    for (let p = base + s; p < first; p++) {
      key = <i32>keys[p];
      const id = key & ID_MASK;
      sumLeft += localStats[2 * id];
      weightLeft += localStats[2 * id + 1];
    }
    let previous = key >> ID_BITS;
    for (let p = first; p <= last; p++) {
      key = <i32>keys[p];
      const bin = key >> ID_BITS;
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
   * first, wins. The two features are the two lanes of each vector (f in lane 0), so both take the
   * same float operations in the same order as scanOne, and find the same splits to the bit.
   */
  scanTwo(f: i32, g: i32, s: i32, e: i32, sum: f64, weight: f64): void {
    const keys = this.keys;
    // A row's (sum, weight) pair in localStats is one vector.
    const stats = changetype<usize>(this.localStats);
    const baseF = f * LOCAL_ROWS;
    const offsetG = (g - f) * LOCAL_ROWS;
    const first = baseF + s + this.minLeaf;
    const last = baseF + e - this.minLeaf;
    const weights = f64x2.splat(weight);
    const sums = f64x2.splat(sum);
    let bestNumerator = f64x2.splat(this.bestNumerator);
    let bestDenominator = f64x2.splat(this.bestDenominator);
    let bestAtF = -1;
    let bestAtG = -1;
    let bestLeftF = f64x2.splat(0);
    let bestLeftG = f64x2.splat(0);
    // Per feature, the left side's (sum, weight).
    let leftF = f64x2.splat(0);
    let leftG = f64x2.splat(0);
    let keyF = <i32>keys[baseF + s];
    let keyG = <i32>keys[baseF + s + offsetG];
    for (let p = baseF + s; p < first; p++) {
      keyF = <i32>keys[p];
      keyG = <i32>keys[p + offsetG];
      leftF = f64x2.add(leftF, v128.load(stats + ((<usize>(keyF & ID_MASK)) << 4)));
      leftG = f64x2.add(leftG, v128.load(stats + ((<usize>(keyG & ID_MASK)) << 4)));
    }
    for (let p = first; p <= last; p++) {
      const nextF = <i32>keys[p];
      const nextG = <i32>keys[p + offsetG];
      // (sum f, sum g) and (weight f, weight g) of the left sides.
      const leftSums = f64x2.shuffle(leftF, leftG, 0, 2);
      const leftWeights = f64x2.shuffle(leftF, leftG, 1, 3);
      const gap = f64x2.sub(f64x2.mul(leftSums, weights), f64x2.mul(sums, leftWeights));
      const numerator = f64x2.mul(gap, gap);
      const denominator = f64x2.mul(leftWeights, f64x2.sub(weights, leftWeights));
      const better = i64x2.bitmask(
        f64x2.gt(f64x2.mul(numerator, bestDenominator), f64x2.mul(bestNumerator, denominator)),
      );
      // A split lies only between two bins: the bits above ID_BITS differ.
      const between = <i32>((keyF ^ nextF) > ID_MASK) | ((<i32>((keyG ^ nextG) > ID_MASK)) << 1);
      const taken = better & between;
      if (taken) {
        // Both lanes' bests move together where a lane took its split (all ones in that lane).
        const took = i64x2.replace_lane(i64x2.splat(-(<i64>(taken & 1))), 1, -(<i64>(taken >> 1)));
        bestNumerator = v128.bitselect(numerator, bestNumerator, took);
        bestDenominator = v128.bitselect(denominator, bestDenominator, took);
        if (taken & 1) {
          bestAtF = p;
          bestLeftF = leftF;
        }
        if (taken & 2) {
          bestAtG = p;
          bestLeftG = leftG;
        }
      }
      keyF = nextF;
      keyG = nextG;
      leftF = f64x2.add(leftF, v128.load(stats + ((<usize>(nextF & ID_MASK)) << 4)));
      leftG = f64x2.add(leftG, v128.load(stats + ((<usize>(nextG & ID_MASK)) << 4)));
    }
    if (bestAtF >= 0) {
      this.keepBest(
        f,
        bestAtF - baseF,
        f64x2.extract_lane(bestNumerator, 0),
        f64x2.extract_lane(bestDenominator, 0),
        f64x2.extract_lane(bestLeftF, 0),
        f64x2.extract_lane(bestLeftF, 1),
      );
    }
    const numeratorG = f64x2.extract_lane(bestNumerator, 1);
    const denominatorG = f64x2.extract_lane(bestDenominator, 1);
    if (bestAtG >= 0 && numeratorG * this.bestDenominator > this.bestNumerator * denominatorG) {
      this.keepBest(
        g,
        bestAtG - baseF,
        numeratorG,
        denominatorG,
        f64x2.extract_lane(bestLeftG, 0),
        f64x2.extract_lane(bestLeftG, 1),
      );
    }
  }

  keepBest(
    feature: i32,
    position: i32,
    numerator: f64,
    denominator: f64,
    sumLeft: f64,
    weightLeft: f64,
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
  localPair(s: i32, sum: f64, weight: f64): bool {
    const keys = this.keys;
    const localStats = this.localStats;
    const localBins = this.localBins;
    const nFeatures = this.nFeatures;
    const featureOrder = this.featureOrder;
    const a = <i32>keys[s] & ID_MASK;
    const b = <i32>keys[s + 1] & ID_MASK;
    for (let j = 0; j < nFeatures; j++) {
      const pick = j + this.rng.below(nFeatures - j);
      const f = featureOrder[pick];
      featureOrder[pick] = featureOrder[j];
      featureOrder[j] = f;
      const binA = <i32>localBins[a * nFeatures + f];
      const binB = <i32>localBins[b * nFeatures + f];
      if (binA === binB) continue;
      const left = binA < binB ? a : b;
      const sumLeft = localStats[2 * left];
      const weightLeft = localStats[2 * left + 1];
      const gap = sumLeft * weight - sum * weightLeft;
      this.bestNumerator = gap * gap;
      this.bestDenominator = weightLeft * (weight - weightLeft);
      this.bestFeature = f;
      this.bestLeftBin = min<i32>(binA, binB);
      this.bestRightBin = max<i32>(binA, binB);
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
  localPartition(
    s: i32,
    e: i32,
    feature: i32,
    mid: i32,
    childrenMaySplit: bool,
    to: StaticArray<K>,
  ): void {
    const keys = this.keys;
    const goesLeft = this.goesLeft;
    const nFeatures = this.nFeatures;
    const splitBase = feature * LOCAL_ROWS;
    for (let p = splitBase + s; p < splitBase + mid; p++) goesLeft[<i32>keys[p] & ID_MASK] = 1;
    for (let p = splitBase + mid; p < splitBase + e; p++) goesLeft[<i32>keys[p] & ID_MASK] = 0;
    const lastList = childrenMaySplit ? nFeatures : 1;
    for (let f = 0; f < lastList; f++) {
      const base = f * LOCAL_ROWS;
      if (f === feature) {
        // Already ordered: left rows first.
        memory.copy(
          changetype<usize>(to) + ((<usize>(base + s)) << alignof<K>()),
          changetype<usize>(keys) + ((<usize>(base + s)) << alignof<K>()),
          (<usize>(e - s)) << alignof<K>(),
        );
        continue;
      }
      const firstKey = keys[base + s];
      if (f !== 0 && <i32>firstKey >> ID_BITS === <i32>keys[base + e - 1] >> ID_BITS) {
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
        const isLeft = goesLeft[<i32>key & ID_MASK];
        to[right + ((left - right) & -isLeft)] = key;
        left += isLeft;
        right += 1 - isLeft;
      }
    }
  }
}

function gcd(a: i32, b: i32): i32 {
  return b === 0 ? a : gcd(b, a % b);
}

// ---- The exports lib/forest/grow.ts drives ----

let narrow: Grower<u8, u16> | null = null;
let wide: Grower<u16, u32> | null = null;

/**
 * Where the grower's arrays are, as lib/forest/grow.ts reads them (ADDRESSES there): the inputs
 * it writes (rowBins, y, edges, edgeCounts, bootstrap), then the tree it reads back (outFeature,
 * outValue, outRight from its slot 1 on, importance).
 */
const addresses = new StaticArray<u32>(9);

function publish<B, K>(grower: Grower<B, K>): usize {
  addresses[0] = changetype<u32>(grower.rowBins);
  addresses[1] = changetype<u32>(grower.y);
  addresses[2] = changetype<u32>(grower.edges);
  addresses[3] = changetype<u32>(grower.edgeCounts);
  addresses[4] = changetype<u32>(grower.bootstrap);
  addresses[5] = changetype<u32>(grower.outFeature);
  addresses[6] = changetype<u32>(grower.outValue);
  addresses[7] = changetype<u32>(grower.outRight) + 4;
  addresses[8] = changetype<u32>(grower.importance);
  return changetype<usize>(addresses);
}

/**
 * Makes this instance's grower, with one-byte bins when maxBins <= 256, and returns where its
 * addresses are. lib/forest/grow.ts then writes the data there and calls init.
 */
export function create(
  nRows: i32,
  nFeatures: i32,
  maxBins: i32,
  tryFeatures: i32,
  maxDepth: i32,
  minLeaf: i32,
  minSplit: i32,
): usize {
  if (maxBins <= 256) {
    const grower = new Grower<u8, u16>(
      nRows,
      nFeatures,
      maxBins,
      tryFeatures,
      maxDepth,
      minLeaf,
      minSplit,
    );
    narrow = grower;
    return publish(grower);
  }
  const grower = new Grower<u16, u32>(
    nRows,
    nFeatures,
    maxBins,
    tryFeatures,
    maxDepth,
    minLeaf,
    minSplit,
  );
  wide = grower;
  return publish(grower);
}

export function init(): void {
  const small = narrow;
  if (small) small.init();
  const large = wide;
  if (large) large.init();
}

/** Grows a tree from the bootstrap written at addresses[4] and the generator's state; returns its node count. */
export function grow(a: u32, b: u32, c: u32, d: u32): i32 {
  const small = narrow;
  if (small) return small.growFrom(a, b, c, d);
  const large = wide;
  if (large) return large.growFrom(a, b, c, d);
  return -1;
}

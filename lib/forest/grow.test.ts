import { describe, expect, it } from "vitest";
import type { Dataset } from "./forest.ts";
import { type BinnedData, type GrownTree, localRows, TreeGrower } from "./grow.ts";
import { DEFAULT_FOREST_PARAMS, type ForestParams, featuresPerSplit } from "./params.ts";
import { bootstrapCounts, TreeRng } from "./rng.ts";
import { binnedData, binSharedFeatures, createSharedTraining } from "./shared-training.ts";

/** A deterministic uniform generator for test data. */
function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/**
 * Rows whose sums are exact in float64: integer targets, and a power-of-two row count so that
 * the mean target and every weighted centered target are short binary fractions. Any two correct
 * growers then see identical sums and must grow identical trees. Features mix many distinct
 * values, a few values (ties, constant in small nodes) and a one-hot-like 0/1 column.
 */
function exactData(nRows: number, seed: number): Dataset {
  const random = uniform(seed);
  const nFeatures = 5;
  const x = new Float64Array(nRows * nFeatures);
  const y = new Float64Array(nRows);
  for (let i = 0; i < nRows; i++) {
    const row = x.subarray(i * nFeatures, (i + 1) * nFeatures);
    row[0] = random();
    row[1] = Math.floor(random() * 4);
    row[2] = random() < 0.2 ? 1 : 0;
    row[3] = random() * 100;
    row[4] = Math.floor(random() * 40) / 8;
    y[i] = Math.floor(4 * row[0] + row[1] + 2 * row[2] + random() * 3);
  }
  return { x, y, nRows, nFeatures, featureNames: ["a", "b", "c", "d", "e"] };
}

function binned(data: Dataset, params: ForestParams): BinnedData {
  const shared = createSharedTraining(data, params);
  binSharedFeatures(shared);
  return binnedData(shared);
}

/**
 * The tree growing rules written as plainly as possible (recursion, arrays, a full pass over the
 * node's rows per candidate split): the bootstrap, the random feature order, the candidate splits
 * between bins that hold rows, minSamplesLeaf, ties (first feature in the order, then the lowest
 * bin), the middle bin edge as threshold, the weighted mean as leaf value.
 */
function referenceTree(data: BinnedData, params: ForestParams, treeIndex: number) {
  const { nRows, nFeatures, rowBins, y, edges } = data;
  const bin = (row: number, f: number) => rowBins[row * nFeatures + f];
  const rng = new TreeRng(params.seed, treeIndex);
  const counts = bootstrapCounts(rng, nRows);
  let total = 0;
  for (let i = 0; i < nRows; i++) total += y[i];
  const mean = total / nRows;
  const wy = (row: number) => counts[row] * (y[row] - mean);
  const tryFeatures = featuresPerSplit(params, nFeatures);
  const all = tryFeatures === nFeatures;
  const order = Array.from({ length: nFeatures }, (_, f) => f);
  const steps = order.filter((step) => step > 0 && gcd(step, nFeatures) === 1);
  if (steps.length === 0) steps.push(1);
  const drawFrom = (j: number) => {
    const pick = j + rng.below(nFeatures - j);
    [order[j], order[pick]] = [order[pick], order[j]];
    return order[j];
  };
  const feature: number[] = [];
  const value: number[] = [];

  type Split = {
    f: number;
    leftBin: number;
    rightBin: number;
    numerator: number;
    denominator: number;
  };
  const search = (rows: number[], sum: number, weight: number): Split | null => {
    if (rows.length === 2) {
      const [a, b] = rows;
      for (let j = 0; j < nFeatures; j++) {
        const f = drawFrom(j);
        if (bin(a, f) !== bin(b, f)) {
          return {
            f,
            leftBin: Math.min(bin(a, f), bin(b, f)),
            rightBin: Math.max(bin(a, f), bin(b, f)),
            numerator: 0,
            denominator: 1,
          };
        }
      }
      return null;
    }
    let best: Split | null = null;
    let bestNumerator = Number.NEGATIVE_INFINITY;
    let bestDenominator = 1;
    const random = all ? rng.nextUint32() : 0;
    const first = (random & 0xffff) % nFeatures;
    const step = steps[(random >>> 16) % steps.length];
    let tried = 0;
    for (let j = 0; j < nFeatures && tried < tryFeatures; j++) {
      const f = all ? (first + j * step) % nFeatures : drawFrom(j);
      const bins = [...new Set(rows.map((row) => bin(row, f)))].sort((p, q) => p - q);
      if (bins.length < 2) continue;
      tried++;
      for (let k = 0; k + 1 < bins.length; k++) {
        const left = rows.filter((row) => bin(row, f) <= bins[k]);
        if (
          left.length < params.minSamplesLeaf ||
          rows.length - left.length < params.minSamplesLeaf
        ) {
          continue;
        }
        let sumLeft = 0;
        let weightLeft = 0;
        for (const row of left) {
          sumLeft += wy(row);
          weightLeft += counts[row];
        }
        // sklearn's MSE proxy sumL^2 / wL + sumR^2 / wR, less the node's S^2 / W, times W.
        const gap = sumLeft * weight - sum * weightLeft;
        const numerator = gap * gap;
        const denominator = weightLeft * (weight - weightLeft);
        if (numerator * bestDenominator > bestNumerator * denominator) {
          bestNumerator = numerator;
          bestDenominator = denominator;
          best = { f, leftBin: bins[k], rightBin: bins[k + 1], numerator, denominator };
        }
      }
    }
    return best;
  };

  const grow = (rows: number[], depth: number): void => {
    const node = feature.length;
    feature.push(-1);
    value.push(0);
    let sum = 0;
    let weight = 0;
    for (const row of rows) {
      sum += wy(row);
      weight += counts[row];
    }
    const pure = rows.every((row) => y[row] === y[rows[0]]);
    const split =
      rows.length >= params.minSamplesSplit &&
      rows.length >= 2 * params.minSamplesLeaf &&
      depth < (params.maxDepth ?? Number.POSITIVE_INFINITY) &&
      !pure
        ? search(rows, sum, weight)
        : null;
    if (!split) {
      let weighted = 0;
      for (const row of rows) weighted += counts[row] * y[row];
      value[node] = Math.fround(weighted / weight);
      return;
    }
    const edge = split.leftBin + ((split.rightBin - 1 - split.leftBin) >> 1);
    feature[node] = split.f;
    value[node] = edges[split.f][edge];
    grow(
      rows.filter((row) => bin(row, split.f) <= split.leftBin),
      depth + 1,
    );
    grow(
      rows.filter((row) => bin(row, split.f) > split.leftBin),
      depth + 1,
    );
  };
  const drawn = Array.from({ length: nRows }, (_, row) => row).filter((row) => counts[row] > 0);
  grow(drawn, 0);
  return { feature, value, rootRows: drawn.length };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The right child of each split of a preorder tree, found the slow way: after the left subtree. */
function preorderRights(feature: number[]): number[] {
  const subtreeEnd = (node: number): number =>
    feature[node] < 0 ? node + 1 : subtreeEnd(subtreeEnd(node + 1));
  return feature.flatMap((f, node) => (f < 0 ? [] : [subtreeEnd(node + 1)]));
}

/** The right children the grower reports for its splits. */
function splitRights(tree: GrownTree): number[] {
  return Array.from(tree.feature).flatMap((f, node) => (f < 0 ? [] : [tree.right[node]]));
}

describe("TreeGrower", () => {
  // 2048 rows draw about 1300 distinct rows: the root and the nodes below it down to LOCAL_ROWS
  // rows are split from histograms, the rest from node-local sorted keys.
  it.each<[string, Partial<ForestParams>]>([
    ["fully grown", {}],
    ["minSamplesLeaf 3, minSamplesSplit 7", { minSamplesLeaf: 3, minSamplesSplit: 7 }],
    ["maxDepth 6", { maxDepth: 6 }],
    ["half the features per split", { maxFeatures: 0.5 }],
    ['"sqrt" features per split', { maxFeatures: "sqrt" }],
    ["16 quantile bins", { maxBins: 16 }],
    ["1000 bins (16-bit)", { maxBins: 1000 }],
  ])("grows the same trees as the plain reference rules: %s", (_, overrides) => {
    const params = { ...DEFAULT_FOREST_PARAMS, seed: 11, ...overrides };
    const data = binned(exactData(2048, 5), params);
    const grower = new TreeGrower(data, params);
    for (let t = 0; t < 6; t++) {
      const tree = grower.grow(t);
      const reference = referenceTree(data, params, t);
      expect(reference.rootRows).toBeGreaterThan(4 * localRows());
      expect(Array.from(tree.feature)).toEqual(reference.feature);
      expect(Array.from(tree.value)).toEqual(reference.value);
      expect(splitRights(tree)).toEqual(preorderRights(reference.feature));
    }
  });

  it("grows the same trees when every node is small", () => {
    const params = { ...DEFAULT_FOREST_PARAMS, seed: 3 };
    const data = binned(exactData(256, 9), params);
    const grower = new TreeGrower(data, params);
    for (let t = 0; t < 10; t++) {
      const tree = grower.grow(t);
      const reference = referenceTree(data, params, t);
      expect(Array.from(tree.feature)).toEqual(reference.feature);
      expect(Array.from(tree.value)).toEqual(reference.value);
      expect(splitRights(tree)).toEqual(preorderRights(reference.feature));
    }
  });
});

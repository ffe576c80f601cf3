import { describe, expect, it } from "vitest";
import { binFeature } from "./binning.ts";
import {
  type Dataset,
  forestFromStored,
  forestFromWalks,
  mergeForests,
  oobRmse,
  WalkAssembler,
} from "./forest.ts";
import { serializeForest } from "./model-file.ts";
import { DEFAULT_FOREST_PARAMS, type ForestParams } from "./params.ts";
import { trainForest } from "./train.ts";

/** A deterministic uniform generator for test data. */
function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** nRows rows of nFeatures uniform features; y = target(row). */
function makeData(
  nRows: number,
  nFeatures: number,
  target: (row: Float64Array) => number,
  seed = 1,
): Dataset {
  const random = uniform(seed);
  const x = new Float64Array(nRows * nFeatures);
  const y = new Float64Array(nRows);
  for (let i = 0; i < nRows; i++) {
    const row = x.subarray(i * nFeatures, (i + 1) * nFeatures);
    for (let f = 0; f < nFeatures; f++) row[f] = random();
    y[i] = target(row);
  }
  return {
    x,
    y,
    nRows,
    nFeatures,
    featureNames: Array.from({ length: nFeatures }, (_, f) => `f${f}`),
  };
}

const params = (overrides: Partial<ForestParams> = {}): ForestParams => ({
  ...DEFAULT_FOREST_PARAMS,
  nEstimators: 8,
  seed: 7,
  ...overrides,
});

const noisy = (row: Float64Array) =>
  100 * row[0] + 30 * Math.sin(6 * row[1]) + (row.length > 3 ? 10 * row[2] * row[3] : 0);

describe("trainForest", () => {
  it("gives byte-identical models for 1, 2 and 3 threads and across runs", async () => {
    // 1 thread: this one alone; 2 and 3: this one and worker threads, taking trees as they go.
    // 1500 rows: the top nodes are split from histograms, the rest from node-local keys.
    const data = makeData(1500, 5, noisy);
    const one = serializeForest(await trainForest(data, params(), { workers: 1 }));
    const two = serializeForest(await trainForest(data, params(), { workers: 2 }));
    const three = serializeForest(await trainForest(data, params(), { workers: 3 }));
    const again = serializeForest(await trainForest(data, params(), { workers: 2 }));
    expect(Buffer.from(two).equals(Buffer.from(one))).toBe(true);
    expect(Buffer.from(three).equals(Buffer.from(one))).toBe(true);
    expect(Buffer.from(again).equals(Buffer.from(one))).toBe(true);
    const otherSeed = serializeForest(await trainForest(data, params({ seed: 8 }), { workers: 2 }));
    expect(Buffer.from(otherSeed).equals(Buffer.from(one))).toBe(false);
  });

  it("learns a step function exactly away from the step", async () => {
    // x0 on a grid of 100 values, 6 rows each, so every bootstrap keeps the values next to the step.
    const step = 0.495;
    const grid = (i: number) => (i % 100) / 100;
    const data = makeData(600, 3, () => 0);
    for (let i = 0; i < data.nRows; i++) {
      data.x[i * 3] = grid(i);
      data.y[i] = grid(i) > step ? 10 : 0;
    }
    const forest = await trainForest(data, params({ nEstimators: 20 }), { workers: 2 });
    // Every tree splits x0 between two training values around the step: outside the band from
    // the second-nearest training value below the step to the second-nearest above, it is exact.
    const values = [...new Set(Array.from({ length: 100 }, (_, i) => grid(i)))].sort(
      (a, b) => a - b,
    );
    const below = values.filter((v) => v <= step);
    const above = values.filter((v) => v > step);
    const bandLow = below[below.length - 2];
    const bandHigh = above[1];
    const random = uniform(99);
    let checked = 0;
    for (let i = 0; i < 2000; i++) {
      const row = [random(), random(), random()];
      if (row[0] > bandLow && row[0] < bandHigh) continue;
      expect(forest.predictOne(row)).toBe(row[0] > step ? 10 : 0);
      checked++;
    }
    expect(checked).toBeGreaterThan(1800);
    const importances = forest.featureImportances();
    expect(importances[0]).toBeCloseTo(1, 6);
    expect(importances.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it.each([255, 1000])("learns a linear ramp within the resolution of %i bins", async (maxBins) => {
    const slope = 3;
    const data = makeData(2000, 3, (row) => slope * row[0], 5);
    const forest = await trainForest(data, params({ nEstimators: 20, maxBins }), { workers: 2 });
    // A fully grown tree on a monotone target splits x0 down to single bins, so a prediction is
    // off by at most the slope times a few bin widths (a bootstrap may miss a bin).
    const x0 = Float64Array.from({ length: data.nRows }, (_, i) => data.x[i * 3]);
    const binEdges = binFeature(x0, x0.length, 1, 0, maxBins, new Uint16Array(x0.length));
    const edges = [Math.min(...x0), ...binEdges, Math.max(...x0)];
    let widest = 0;
    for (let b = 1; b < edges.length; b++) widest = Math.max(widest, edges[b] - edges[b - 1]);
    const bound = slope * 3 * widest;
    const random = uniform(3);
    let worst = 0;
    for (let i = 0; i < 1000; i++) {
      const row = [edges[0] + random() * (edges[edges.length - 1] - edges[0]), random(), random()];
      worst = Math.max(worst, Math.abs(forest.predictOne(row) - slope * row[0]));
    }
    expect(worst).toBeLessThanOrEqual(bound);
    expect(bound).toBeLessThan(0.1 * slope);
  });

  it("trains on more than 65,536 rows (32-bit row lists)", async () => {
    const data = makeData(70_000, 2, (row) => (row[0] > 0.5 ? 10 : 0), 11);
    const forest = await trainForest(data, params({ nEstimators: 2 }), { workers: 2 });
    // Each tree splits x0 at a bin edge next to the step: rows away from it are predicted exactly.
    const predictions = forest.predict(data.x, data.nRows);
    let exact = 0;
    for (let i = 0; i < data.nRows; i++) {
      if (Math.abs(data.x[i * 2] - 0.5) > 0.01) {
        expect(predictions[i]).toBe(data.y[i]);
        exact++;
      }
    }
    expect(exact).toBeGreaterThan(60_000);
  });

  it("predicts the same in batch and one row at a time, from any array type", async () => {
    const data = makeData(300, 4, noisy);
    const forest = await trainForest(data, params(), { workers: 1 });
    const batch = forest.predict(data.x, data.nRows);
    for (let i = 0; i < data.nRows; i++) {
      const row = data.x.subarray(i * 4, (i + 1) * 4);
      expect(forest.predictOne(row)).toBe(batch[i]);
      expect(forest.predictOne(Array.from(row))).toBe(batch[i]);
    }
    expect(() => forest.predictOne([1, 2])).toThrow("predictOne: the row has 2 values; expected 4");
  });

  it("predicts each tree's leaf mean, whatever the tree and row counts, NaN going right", async () => {
    // 11 trees: a lockstep group of 8 and a partial one. Rows: 5 go one by one, 37 tree by tree,
    // 200 tree by tree with each tree read through first, and 2,100 in blocks of 1,024.
    const data = makeData(400, 3, noisy);
    const forest = await trainForest(data, params({ nEstimators: 11 }), { workers: 1 });
    const random = uniform(21);
    for (const nRows of [37, 5, 200, 2100]) {
      const x = Float64Array.from({ length: nRows * 3 }, (_, i) =>
        i % 7 === 3 ? Number.NaN : random(),
      );
      const batch = forest.predict(x, nRows);
      for (let i = 0; i < nRows; i++) {
        let sum = 0;
        for (let t = 0; t < forest.nTrees; t++) sum += forest.predictTree(t, x, i * 3);
        expect(batch[i]).toBe(sum / forest.nTrees);
        expect(forest.predictOne(x.subarray(i * 3, i * 3 + 3))).toBe(batch[i]);
      }
    }
    // A NaN goes right at every split: the rightmost leaf of every tree.
    const allNaN = forest.predictOne([Number.NaN, Number.NaN, Number.NaN]);
    const { nodeValue, treeOffsets } = forest.storedTrees();
    let rightmost = 0;
    for (let t = 0; t < forest.nTrees; t++) rightmost += nodeValue[treeOffsets[t + 1] - 1];
    expect(allNaN).toBe(rightmost / forest.nTrees);
  });

  it("honours maxDepth, minSamplesLeaf and sqrt features", async () => {
    const data = makeData(400, 9, noisy);
    const shallow = await trainForest(data, params({ maxDepth: 3, maxFeatures: "sqrt" }), {
      workers: 2,
    });
    for (let t = 0; t < shallow.nTrees; t++) {
      const nodes = shallow.treeOffsets[t + 1] - shallow.treeOffsets[t];
      expect(nodes).toBeLessThanOrEqual(2 ** 4 - 1);
    }
    const leafy = await trainForest(data, params({ minSamplesLeaf: 20 }), { workers: 2 });
    const full = await trainForest(data, params(), { workers: 2 });
    // At least 20 distinct rows per leaf: at most 400 / 20 leaves per tree.
    for (let t = 0; t < leafy.nTrees; t++) {
      const nodes = leafy.treeOffsets[t + 1] - leafy.treeOffsets[t];
      expect((nodes + 1) / 2).toBeLessThanOrEqual(400 / 20);
    }
    expect(full.nodeCount).toBeGreaterThan(leafy.nodeCount);
  });

  it("handles a single row, a constant target and constant features", async () => {
    const one = makeData(1, 3, () => 7);
    const single = await trainForest(one, params({ nEstimators: 3 }), { workers: 2 });
    expect(single.nodeCount).toBe(3);
    expect(single.predictOne([0.5, 0.5, 0.5])).toBe(7);
    const flat = makeData(50, 2, () => 4.25);
    const constant = await trainForest(flat, params({ nEstimators: 4 }), { workers: 2 });
    expect(constant.nodeCount).toBe(4);
    expect(constant.predictOne([0.1, 0.9])).toBe(4.25);
    expect(Array.from(constant.featureImportances())).toEqual([0, 0]);
    const sameRows = makeData(40, 2, (row) => row[0]);
    sameRows.x.fill(1);
    const unsplittable = await trainForest(sameRows, params({ nEstimators: 2 }), { workers: 1 });
    expect(unsplittable.nodeCount).toBe(2);
  });

  it("rejects data it cannot train on, naming the row and feature", async () => {
    const data = makeData(50, 2, noisy);
    data.x[7 * 2 + 1] = Number.NaN;
    await expect(trainForest(data, params())).rejects.toThrow(
      "dataset: row 7, feature f1: NaN is not a finite number; impute missing values before training",
    );
    const short = { ...makeData(50, 2, noisy), nRows: 60 };
    await expect(trainForest(short, params())).rejects.toThrow(
      "x has 100 values; expected nRows * nFeatures = 120",
    );
    await expect(
      trainForest(makeData(50, 2, noisy), params(), { treeRange: [5, 20] }),
    ).rejects.toThrow(
      "treeRange: [5, 20] is not allowed; expected integers 0 <= start < end <= nEstimators (8)",
    );
    await expect(trainForest(makeData(50, 2, noisy), params(), { workers: 0 })).rejects.toThrow(
      "workers: 0 is not allowed; expected an integer >= 1",
    );
  });

  it("reports progress once per tree", async () => {
    const calls: [number, number][] = [];
    await trainForest(makeData(100, 2, noisy), params({ nEstimators: 5 }), {
      workers: 2,
      onProgress: (done, total) => calls.push([done, total]),
    });
    expect(calls).toEqual([1, 2, 3, 4, 5].map((done) => [done, 5]));
    const failing = trainForest(makeData(100, 2, noisy), params({ nEstimators: 5 }), {
      workers: 2,
      onProgress: () => {
        throw new Error("progress display closed");
      },
    });
    await expect(failing).rejects.toThrow("progress display closed");
  });
});

describe("shards", () => {
  it("merge into the byte-identical one-process model, in any order", async () => {
    const data = makeData(500, 4, noisy);
    const full = await trainForest(data, params(), { workers: 2 });
    const first = await trainForest(data, params(), { treeRange: [0, 3], workers: 1 });
    const second = await trainForest(data, params(), { treeRange: [3, 8], workers: 2 });
    expect(first.treeRange).toEqual([0, 3]);
    const merged = mergeForests([second, first]);
    expect(Buffer.from(serializeForest(merged)).equals(Buffer.from(serializeForest(full)))).toBe(
      true,
    );
    expect(oobRmse(merged, data)).toBe(oobRmse(full, data));
  });

  it("refuse gaps, overlaps and mismatched params", async () => {
    const data = makeData(200, 3, noisy);
    const a = await trainForest(data, params(), { treeRange: [0, 2], workers: 1 });
    const c = await trainForest(data, params(), { treeRange: [4, 8], workers: 1 });
    expect(() => mergeForests([a, c])).toThrow(
      "mergeForests: trees 2..3 are missing; train a shard with treeRange [2, 4]",
    );
    expect(() => mergeForests([a, a])).toThrow("overlaps trees already given");
    const otherSeed = await trainForest(data, params({ seed: 1 }), {
      treeRange: [2, 4],
      workers: 1,
    });
    expect(() => mergeForests([a, otherSeed])).toThrow(
      /shard with trees 2\.\.3 has params .*"seed":1/,
    );
    expect(() => mergeForests([])).toThrow("no shard given");
  });
});

describe("oobRmse", () => {
  it("estimates the error on rows each tree did not see", async () => {
    const data = makeData(800, 4, (row) => noisy(row) + 20 * (row[3] - 0.5));
    const forest = await trainForest(data, params({ nEstimators: 30 }), { workers: 2 });
    const oob = oobRmse(forest, data);
    const mean = data.y.reduce((a, b) => a + b, 0) / data.nRows;
    const std = Math.sqrt(data.y.reduce((a, b) => a + (b - mean) ** 2, 0) / data.nRows);
    const trained = forest.predict(data.x, data.nRows);
    const trainRmse = Math.sqrt(
      trained.reduce((a, p, i) => a + (p - data.y[i]) ** 2, 0) / data.nRows,
    );
    // Out-of-bag error is honest: above the (optimistic) training error, below predicting the mean.
    expect(oob).toBeGreaterThan(trainRmse);
    expect(oob).toBeLessThan(std);
  });

  it("refuses data other than the training data", async () => {
    const data = makeData(100, 2, noisy);
    const forest = await trainForest(data, params(), { workers: 1 });
    const other = makeData(100, 2, noisy, 2);
    expect(() => oobRmse(forest, other)).toThrow(
      /is not the forest's training data .* pass the exact training data/,
    );
  });
});

describe("WalkAssembler", () => {
  /** The info and walk records of a trained forest, each tree in its own buffer. */
  async function walks(overrides: Partial<ForestParams>) {
    const forest = await trainForest(makeData(300, 4, noisy), params(overrides), { workers: 1 });
    const trees = Array.from({ length: forest.nTrees }, (_, t) => {
      const { walk, importance } = forest.walkTree(t);
      return { walk: walk.slice().buffer, importance: importance.slice() };
    });
    return { forest, trees };
  }

  it("builds the same forest from trees coming in any order", async () => {
    const { forest, trees } = await walks({ nEstimators: 9 });
    const assembler = new WalkAssembler(trees.length, forest.nFeatures);
    for (const t of [3, 1, 0, 2, 8, 5, 4, 7, 6]) assembler.add(t, trees[t]);
    const assembled = assembler.forest(forest);
    expect(serializeForest(assembled)).toEqual(serializeForest(forest));
    expect(assembled.predict(makeData(50, 4, noisy, 5).x, 50)).toEqual(
      forest.predict(makeData(50, 4, noisy, 5).x, 50),
    );
  });

  it("grows its buffer when the trees outgrow the room the first tree suggested", async () => {
    // A stump first, then fully grown trees: far more nodes than the first tree suggests.
    const stumps = await walks({ nEstimators: 2, maxDepth: 1 });
    const { trees } = await walks({ nEstimators: 4 });
    const mixed = [stumps.trees[0], ...trees];
    const assembler = new WalkAssembler(mixed.length, 4);
    mixed.forEach((tree, t) => {
      assembler.add(t, tree);
    });
    const info = { ...stumps.forest, treeStart: 0 };
    expect(serializeForest(assembler.forest(info))).toEqual(
      serializeForest(forestFromWalks(info, mixed)),
    );
  });

  it("refuses to build a forest with a tree missing", async () => {
    const { forest, trees } = await walks({ nEstimators: 3 });
    const assembler = new WalkAssembler(3, 4);
    assembler.add(0, trees[0]);
    assembler.add(2, trees[2]);
    expect(() => assembler.forest(forest)).toThrow("WalkAssembler: tree 1 of 3 is missing");
  });
});

describe("walks", () => {
  // Thresholds at the edges of float32: zeros, subnormals, the largest finite values.
  const f32 = (value: number) => Math.fround(value);
  const thresholds = [0, -0, 1, -1, f32(0.1), f32(-2.5), 2 ** -149, -(2 ** -149), f32(1e-40)];
  thresholds.push(f32(3.4028234663852886e38), -f32(3.4028234663852886e38), f32(123456.7));
  const nFeatures = 2;

  /** Random trees in preorder over `thresholds`, lopsided either way, so heavier children sit on both sides. */
  function randomTrees(nTrees: number, seed: number, features = nFeatures) {
    const random = uniform(seed);
    const nodeFeature: number[] = [];
    const nodeValue: number[] = [];
    const treeOffsets = [0];
    const grow = (depth: number, leftBias: number) => {
      if (depth === 0 || random() < 0.15) {
        nodeFeature.push(-1);
        nodeValue.push(Math.round(random() * 1000));
        return;
      }
      nodeFeature.push(Math.floor(random() * features));
      nodeValue.push(thresholds[Math.floor(random() * thresholds.length)]);
      grow(random() < leftBias ? depth - 1 : 0, leftBias);
      grow(random() < 1 - leftBias ? depth - 1 : 0, leftBias);
    };
    for (let t = 0; t < nTrees; t++) {
      grow(9, t % 2 === 0 ? 0.9 : 0.1);
      treeOffsets.push(nodeFeature.length);
    }
    return {
      treeOffsets: Int32Array.from(treeOffsets),
      nodeFeature: Int16Array.from(nodeFeature),
      nodeValue: Float32Array.from(nodeValue),
      treeImportances: new Float64Array(nTrees * features),
    };
  }

  /** The plain walk of a stored tree from node `at`: left exactly when value <= threshold. */
  function referenceLeaf(trees: ReturnType<typeof randomTrees>, at: number, row: number[]) {
    const { nodeFeature, nodeValue } = trees;
    let node = at;
    while (nodeFeature[node] >= 0) {
      if (row[nodeFeature[node]] <= nodeValue[node]) {
        node++;
        continue;
      }
      // Skip the left subtree: in preorder it ends once leaves outnumber splits.
      let open = 1;
      node++;
      while (open > 0) open += nodeFeature[node++] >= 0 ? 1 : -1;
    }
    return nodeValue[node];
  }

  const info = {
    params: DEFAULT_FOREST_PARAMS,
    nFeatures,
    featureNames: ["a", "b"],
    trainingRows: 1,
    trainingDataSha256: "",
    treeStart: 0,
  };

  // 2 features take the walks' general code; 20 (keys within 8 bits, as the project's 16) the
  // one-row walk's copy with constant field widths.
  it.each([2, 20])(
    "send a value left exactly when it is at most the threshold, at and around every threshold (%i features)",
    (features) => {
      const trees = randomTrees(13, 3, features);
      const names = Array.from({ length: features }, (_, f) => `f${f}`);
      const forest = forestFromStored({ ...info, nFeatures: features, featureNames: names }, trees);
      // Each threshold, a float64 step either side of it, and values float32 cannot hold.
      const values = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e39, -1e39];
      values.push(1e-50, -1e-50, 2 ** -150, -(2 ** -150), 5e-324, -5e-324);
      for (const t of thresholds) {
        const ulp = Math.max(Math.abs(t) * 2 ** -52, 5e-324);
        values.push(t, t + ulp, t - ulp, t + f32(ulp * 2 ** 29), t - f32(ulp * 2 ** 29));
      }
      // Every value against every third one; further features take values in turn.
      const pairs = values.flatMap((a) => values.filter((_, i) => i % 3 === 0).map((b) => [a, b]));
      const rows = pairs.map((pair, i) =>
        Array.from({ length: features }, (_, f) =>
          f < 2 ? pair[f] : values[(i + f) % values.length],
        ),
      );
      const x = Float64Array.from(rows.flat());
      const batch = forest.predict(x, rows.length);
      rows.forEach((row, i) => {
        let sum = 0;
        for (let t = 0; t < forest.nTrees; t++) {
          const expected = referenceLeaf(trees, trees.treeOffsets[t], row);
          expect(forest.predictTree(t, x, i * features)).toBe(expected);
          sum += expected;
        }
        expect(batch[i]).toBe(sum / forest.nTrees);
        expect(forest.predictOne(row)).toBe(batch[i]);
      });
    },
  );

  it("give back the stored trees, with a threshold of -0 as 0", () => {
    const trees = randomTrees(13, 4);
    const back = forestFromStored(info, trees).storedTrees();
    expect(Array.from(back.nodeFeature)).toEqual(Array.from(trees.nodeFeature));
    const zeroed = trees.nodeValue.map((value) => (value === 0 ? 0 : value));
    expect(Array.from(back.nodeValue)).toEqual(Array.from(zeroed));
    expect(Array.from(trees.nodeValue).some((value) => Object.is(value, -0))).toBe(true);
  });

  it("refuse a tree too large for the records' distances, saying what to change", () => {
    // With 4,096 features a key's offset takes 16 bits, which leaves room for trees of 8,192
    // nodes; this one is a chain of 4,096 splits, each with a leaf on its left: 8,193 nodes.
    const many = 4096;
    const splits = 4096;
    const nodeFeature = Int16Array.from({ length: 2 * splits + 1 }, (_, i) =>
      i % 2 === 0 && i < 2 * splits ? 7 : -1,
    );
    const trees = {
      treeOffsets: Int32Array.from([0, nodeFeature.length]),
      nodeFeature,
      nodeValue: new Float32Array(nodeFeature.length),
      treeImportances: new Float64Array(many),
    };
    const wide = { ...info, nFeatures: many, featureNames: Array.from({ length: many }, String) };
    expect(() => forestFromStored(wide, trees)).toThrow(
      "tree 0 has 8193 nodes; with 4096 features a tree may have at most 8192: grow smaller trees (a maxDepth, or a larger minSamplesLeaf)",
    );
    // One split fewer fits, and walks: all the way right to the last leaf, or left at the root.
    trees.nodeValue[nodeFeature.length - 1] = 5;
    trees.nodeValue[3] = 3;
    const fits = forestFromStored(wide, {
      ...trees,
      treeOffsets: Int32Array.from([0, nodeFeature.length - 2]),
      nodeFeature: nodeFeature.subarray(2),
      nodeValue: trees.nodeValue.subarray(2),
    });
    const row = new Float64Array(many).fill(1);
    expect(fits.predictOne(row)).toBe(5);
    row[7] = 0;
    expect(fits.predictOne(row)).toBe(3);
  });

  it("refuse a split threshold that is not a finite number", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const trees = randomTrees(2, 5);
      const split = trees.nodeFeature.findIndex((feature) => feature >= 0);
      trees.nodeValue[split] = bad;
      expect(() => forestFromStored(info, trees)).toThrow(
        `node ${split}: split threshold ${bad} is not a finite number`,
      );
    }
  });
});

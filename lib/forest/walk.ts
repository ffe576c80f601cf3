// The walk records of trees: how the forest holds its nodes in memory for prediction, built
// from the preorder trees that growing and model files produce. Workers import only this, not
// the forest, so that they start quickly.

/** Bits of a walk record that hold the split feature (0..nFeatures, nFeatures marking a leaf). */
export function featureBits(nFeatures: number): number {
  return 32 - Math.clz32(nFeatures);
}

/**
 * Fills the walk records (see Forest) from preorder trees in one pass, and checks on the way that
 * every tree's nodes form exactly one complete binary tree with split features in range.
 */
export function fillWalk(
  treeOffsets: Int32Array,
  nodeFeature: Int16Array,
  nodeValue: Float32Array,
  nFeatures: number,
  walkInt: Int32Array,
  walkFloat: Float32Array,
): void {
  const shift = featureBits(nFeatures);
  let largest = 0;
  for (let t = 0; t + 1 < treeOffsets.length; t++) {
    const size = treeOffsets[t + 1] - treeOffsets[t];
    if (size >= 2 ** (32 - shift)) {
      throw new Error(
        `tree ${t} has ${size} nodes; with ${nFeatures} features a tree may have at most ${2 ** (32 - shift) - 1}`,
      );
    }
    largest = Math.max(largest, size);
  }
  const pending = new Int32Array(largest + 1);
  for (let t = 0; t + 1 < treeOffsets.length; t++) {
    const begin = treeOffsets[t];
    const end = treeOffsets[t + 1];
    let top = 0;
    let node = begin;
    let complete = false;
    // In preorder, a leaf ends a left branch: the next node is the right child of the most recent
    // split still waiting for one.
    for (; node < end && !complete; node++) {
      const feature = nodeFeature[node];
      walkFloat[2 * node + 1] = nodeValue[node];
      if (feature >= 0) {
        if (feature >= nFeatures) {
          throw new Error(
            `node ${node}: split feature ${feature} is out of range; the forest has ${nFeatures} features`,
          );
        }
        walkInt[2 * node] = feature;
        pending[top++] = node;
      } else {
        if (feature !== -1)
          throw new Error(`node ${node}: split feature ${feature} is out of range`);
        walkInt[2 * node] = nFeatures;
        if (top === 0) complete = true;
        else {
          const split = pending[--top];
          walkInt[2 * split] |= (node + 1 - split) << shift;
        }
      }
    }
    if (!complete || node !== end) {
      throw new Error(
        `tree ${t}: its ${end - begin} nodes do not form one complete binary tree in preorder`,
      );
    }
  }
}

/** One tree as a forest walks it: its walk records (8 bytes per node) and raw importances. */
export interface WalkTree {
  walk: ArrayBuffer;
  importance: Float64Array;
}

/** The walk records of one preorder tree (checked like any stored tree). */
export function treeWalk(feature: Int16Array, value: Float32Array, nFeatures: number): ArrayBuffer {
  const walk = new ArrayBuffer(feature.length * 8);
  const offsets = Int32Array.of(0, feature.length);
  fillWalk(offsets, feature, value, nFeatures, new Int32Array(walk), new Float32Array(walk));
  return walk;
}

// The walk records of trees: how the forest holds its nodes in memory for prediction, built
// from the preorder trees that growing and model files produce. Workers import only this, not
// the forest, so that they start quickly.

/**
 * Bits of a walk record that hold the byte offset of its key (see Forest.walkInt): 0 to
 * 8 * nFeatures, the last for a leaf; the far child's distance in bytes is above them.
 */
export function keyBits(nFeatures: number): number {
  return 32 - Math.clz32(8 * nFeatures);
}

/** A leaf's walk record: the offset of the NaN key, and distance 0 (see Forest.walkInt). */
export function leafRecord(nFeatures: number): number {
  return 8 * nFeatures;
}

/** Walk keys per row: each value's key, each key negated, and a NaN for leaves. */
export function keysPerRow(nFeatures: number): number {
  return 2 * nFeatures + 1;
}

const scratchFloat = new Float32Array(1);
const scratchBits = new Int32Array(scratchFloat.buffer);

/**
 * The float32 neighbour of a float32 value, one ulp up or down (±0 steps to ± the smallest
 * subnormal); as lib/forest/assembly/float32.ts.
 */
function stepFloat32(value: number, up: boolean): number {
  if (value === 0) return up ? 2 ** -149 : -(2 ** -149);
  scratchFloat[0] = value;
  scratchBits[0] += value > 0 === up ? 1 : -1;
  return scratchFloat[0];
}

/**
 * The walk key of a value: the least float32 at or above it, so that for any float32 threshold t,
 * value <= t exactly when key <= t. NaN, which goes right at every split, becomes +Infinity,
 * which does too (thresholds are finite). As keyOf in lib/forest/assembly/float32.ts.
 */
function keyOf(value: number): number {
  if (Number.isNaN(value)) return Number.POSITIVE_INFINITY;
  const rounded = Math.fround(value);
  return rounded < value ? stepFloat32(rounded, true) : rounded;
}

/**
 * Writes the walk keys of the row x[from..from + nFeatures) to keys[at..at + keysPerRow) (see
 * Forest.walkInt).
 */
export function writeWalkKeys(
  x: ArrayLike<number>,
  from: number,
  nFeatures: number,
  keys: Float32Array,
  at: number,
): void {
  for (let f = 0; f < nFeatures; f++) {
    const key = keyOf(x[from + f]);
    keys[at + f] = key;
    keys[at + nFeatures + f] = -key;
  }
  keys[at + 2 * nFeatures] = Number.NaN;
}

/**
 * The float a split's record holds when its near child is the right one: a row goes there when
 * value > t, that is when key >= the next float32 above t, that is when -key <= this.
 */
function nearRightFloat(threshold: number): number {
  return -stepFloat32(threshold, true);
}

/** The threshold of a split whose near child is the right one, from its record's float. */
function thresholdOfNearRight(float: number): number {
  return stepFloat32(-float, false);
}

/**
 * Fills the walk records (see Forest) from preorder trees, and checks on the way that every tree's
 * nodes form exactly one complete binary tree with split features in range.
 *
 * The records are laid out heavier child first: each split is followed by the child with the
 * larger subtree (most of the training rows, and so most of the rows to predict, go there); when
 * that is the right child, the record compares the row's negated key (see Forest.walkInt). A walk
 * then mostly moves to the next record, in the same cache line, rather than jumping: on the real
 * hold-out rows, 100 fully grown trees touch about a quarter fewer cache lines per row than in
 * plain preorder.
 */
export function fillWalk(
  treeOffsets: Int32Array,
  nodeFeature: Int16Array,
  nodeValue: Float32Array,
  nFeatures: number,
  walkInt: Int32Array,
  walkFloat: Float32Array,
): void {
  let largest = 0;
  for (let t = 0; t + 1 < treeOffsets.length; t++) {
    const size = treeOffsets[t + 1] - treeOffsets[t];
    checkTreeSize(t, size, nFeatures);
    largest = Math.max(largest, size);
  }
  // Per node of the current tree (indexed from its first node): its right child, its subtree size.
  const right = new Int32Array(largest);
  const size = new Int32Array(largest);
  const stack = new Int32Array(largest + 1);
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
      if (feature >= 0) {
        if (feature >= nFeatures) {
          throw new Error(
            `node ${node}: split feature ${feature} is out of range; the forest has ${nFeatures} features`,
          );
        }
        if (!Number.isFinite(nodeValue[node])) {
          throw new Error(
            `node ${node}: split threshold ${nodeValue[node]} is not a finite number`,
          );
        }
        stack[top++] = node - begin;
      } else {
        if (feature !== -1)
          throw new Error(`node ${node}: split feature ${feature} is out of range`);
        if (top === 0) complete = true;
        else right[stack[--top]] = node + 1 - begin;
      }
    }
    if (!complete || node !== end) {
      throw new Error(
        `tree ${t}: its ${end - begin} nodes do not form one complete binary tree in preorder`,
      );
    }
    placeTree(
      begin,
      end,
      nodeFeature,
      nodeValue,
      right,
      nFeatures,
      walkInt,
      walkFloat,
      size,
      stack,
    );
  }
}

/** Throws when tree t is too large for the distance field of the walk records. */
function checkTreeSize(t: number, size: number, nFeatures: number): void {
  // Above the key's offset: the distance to the far child in bytes, at most 8 * (size - 1).
  const largestTree = 2 ** (32 - keyBits(nFeatures) - 3);
  if (size > largestTree) {
    throw new Error(
      `tree ${t} has ${size} nodes; with ${nFeatures} features a tree may have at most ${largestTree}: grow smaller trees (a maxDepth, or a larger minSamplesLeaf)`,
    );
  }
}

/**
 * Writes the walk records of the valid preorder tree nodeFeature/nodeValue[begin..end), whose
 * split node begin + i has its right child at begin + right[i], to records begin..end-1.
 * `size` and `stack` are scratch space of at least end - begin + 1 entries.
 */
function placeTree(
  begin: number,
  end: number,
  nodeFeature: Int16Array,
  nodeValue: Float32Array,
  right: Int32Array,
  nFeatures: number,
  walkInt: Int32Array,
  walkFloat: Float32Array,
  size: Int32Array,
  stack: Int32Array,
): void {
  const bits = keyBits(nFeatures);
  // Children come after their parent: sizes in reverse order.
  for (let i = end - begin - 1; i >= 0; i--) {
    size[i] = nodeFeature[begin + i] < 0 ? 1 : 1 + size[i + 1] + size[right[i]];
  }
  // Depth first, heavier child first: each record is placed as it is popped.
  let at = begin;
  let top = 0;
  stack[top++] = 0;
  while (top > 0) {
    const i = stack[--top];
    const feature = nodeFeature[begin + i];
    if (feature < 0) {
      walkInt[2 * at] = leafRecord(nFeatures);
      walkFloat[2 * at + 1] = nodeValue[begin + i];
    } else {
      // A threshold of -0 is kept as 0: both send every value the same way, and only 0 comes
      // back from nearRightFloat.
      const threshold = nodeValue[begin + i] === 0 ? 0 : nodeValue[begin + i];
      const rightFirst = size[right[i]] > size[i + 1];
      const next = rightFirst ? right[i] : i + 1;
      const other = rightFirst ? i + 1 : right[i];
      const key = rightFirst ? nFeatures + feature : feature;
      walkInt[2 * at] = (4 * key) | ((8 * (1 + size[next])) << bits);
      walkFloat[2 * at + 1] = rightFirst ? nearRightFloat(threshold) : threshold;
      stack[top++] = other;
      stack[top++] = next;
    }
    at++;
  }
}

/**
 * The preorder trees (left child first) of walk records laid out by fillWalk: the split feature
 * (-1 for a leaf) and the threshold or leaf value of each node.
 */
export function storedFromWalk(
  treeOffsets: Int32Array,
  nFeatures: number,
  walkInt: Int32Array,
  walkFloat: Float32Array,
): { nodeFeature: Int16Array; nodeValue: Float32Array } {
  const bits = keyBits(nFeatures);
  const mask = (1 << bits) - 1;
  const nTrees = treeOffsets.length - 1;
  const nodes = treeOffsets[nTrees];
  const nodeFeature = new Int16Array(nodes);
  const nodeValue = new Float32Array(nodes);
  let largest = 0;
  for (let t = 0; t < nTrees; t++) largest = Math.max(largest, treeOffsets[t + 1] - treeOffsets[t]);
  const stack = new Int32Array(largest + 1);
  let out = 0;
  for (let t = 0; t < nTrees; t++) {
    let top = 0;
    stack[top++] = treeOffsets[t];
    while (top > 0) {
      const at = stack[--top];
      const record = walkInt[2 * at];
      const key = (record & mask) >> 2;
      const float = walkFloat[2 * at + 1];
      if (key === 2 * nFeatures) {
        nodeValue[out] = float;
        nodeFeature[out++] = -1;
        continue;
      }
      const rightFirst = key >= nFeatures;
      nodeFeature[out] = rightFirst ? key - nFeatures : key;
      nodeValue[out++] = rightFirst ? thresholdOfNearRight(float) : float;
      const far = at + (record >>> bits) / 8;
      // Push the right child, then the left one, which preorder visits first.
      stack[top++] = rightFirst ? at + 1 : far;
      stack[top++] = rightFirst ? far : at + 1;
    }
  }
  return { nodeFeature, nodeValue };
}

/** One tree as a forest walks it: its walk records (8 bytes per node) and raw importances. */
export interface WalkTree {
  walk: ArrayBuffer;
  importance: Float64Array;
}

/**
 * The walk records of one tree just grown (see GrownTree): valid by construction, and with the
 * right child of each split given, so unlike fillWalk this neither checks nor searches the tree.
 * `scratch` holds at least 2 * nodes + 1 entries; a caller building many trees passes the same
 * one each time, since fresh memory costs a page fault per 4 KiB on first touch (on a virtual
 * machine, as much as building the records).
 */
export function treeWalk(
  feature: Int16Array,
  value: Float32Array,
  right: Int32Array,
  nFeatures: number,
  scratch: Int32Array,
): ArrayBuffer {
  const nodes = feature.length;
  checkTreeSize(0, nodes, nFeatures);
  const walk = new ArrayBuffer(nodes * 8);
  placeTree(
    0,
    nodes,
    feature,
    value,
    right,
    nFeatures,
    new Int32Array(walk),
    new Float32Array(walk),
    scratch.subarray(0, nodes),
    scratch.subarray(nodes, 2 * nodes + 1),
  );
  return walk;
}

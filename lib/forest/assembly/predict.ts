// Prediction, in AssemblyScript (lib/forest/forest.ts drives it): the tree walks over the walk
// records that Forest describes (8 bytes a node: an int of key offset and far-child distance,
// then a float32 the row's key is compared with, or the leaf value). The same walks as JavaScript took about
// twice as long for a batch and a fifth longer for one row (no bounds checks, and `select` is a
// conditional move where V8 needs tricks to avoid a branch).
//
// One instance holds one forest: predictCreate makes room for its records, one row and a block
// of rows with their keys, all at once, so that the memory never grows after it and the JavaScript views of it
// stay valid.

import { keyOf } from "./float32";

let walk: usize = 0;
let offsets: usize = 0;
let row: usize = 0;
let rows: usize = 0;
let keys: usize = 0;
let out: usize = 0;
let nTrees: i32 = 0;
let nFeatures: i32 = 0;
/** A leaf's record: exactly the offset of the NaN key (see Forest.walkInt). */
let leaf: i32 = 0;
let keyBits: i32 = 0;
let keyMask: i32 = 0;
/** Bytes from one row of `rows` to the next. */
let rowStride: usize = 0;
/** Bytes from one row's keys to the next: 2 * nFeatures + 1 float32 keys. */
let keyStride: usize = 0;

/** Where predictCreate's arrays are, as lib/forest/forest.ts reads them: walk, offsets, row, rows, out. */
const addresses = new StaticArray<u32>(5);

/**
 * Makes room for a forest of `records` walk records (padding leaf included) in `treeCount` trees,
 * one row, and blocks of up to blockRows rows with their keys; returns where the addresses are.
 */
export function predictCreate(
  records: i32,
  treeCount: i32,
  featureCount: i32,
  bits: i32,
  blockRows: i32,
): usize {
  nTrees = treeCount;
  nFeatures = featureCount;
  leaf = featureCount << 3;
  keyBits = bits;
  keyMask = (1 << bits) - 1;
  rowStride = (<usize>featureCount) << 3;
  keyStride = (<usize>(2 * featureCount + 1)) << 2;
  walk = changetype<usize>(new StaticArray<u64>(records));
  offsets = changetype<usize>(new StaticArray<i32>(treeCount + 1));
  row = changetype<usize>(new StaticArray<f64>(featureCount));
  rows = changetype<usize>(new StaticArray<f64>(blockRows * featureCount));
  keys = changetype<usize>(new StaticArray<f32>(blockRows * (2 * featureCount + 1)));
  out = changetype<usize>(new StaticArray<f64>(blockRows));
  addresses[0] = <u32>walk;
  addresses[1] = <u32>offsets;
  addresses[2] = <u32>row;
  addresses[3] = <u32>rows;
  addresses[4] = <u32>out;
  return changetype<usize>(addresses);
}

/**
 * Writes the walk keys of the row at `x` (nFeatures float64 values) to `k`: each value's key, then
 * each key negated, then the NaN that leaves compare (see Forest.walkInt).
 */
function writeKeys(x: usize, k: usize): void {
  const negated = k + ((<usize>nFeatures) << 2);
  for (let f = 0; f < nFeatures; f++) {
    const key = keyOf(load<f64>(x + ((<usize>f) << 3)));
    store<f32>(k + ((<usize>f) << 2), key);
    store<f32>(negated + ((<usize>f) << 2), -key);
  }
  store<f32>(negated + ((<usize>nFeatures) << 2), NaN);
}

/**
 * The record after the one at `at` for the row whose keys are at `k`: the next record when the
 * row's key is at most the record's float, else the far child. A leaf's key is NaN, which
 * compares false, and it is its own far child (distance 0), so a walk that reached a leaf stays
 * there. A few instructions a step, with no direction to decode: the fewer there are, the more
 * of the lockstep walks' cache misses the processor keeps in flight. `mask` and `bits` (keyMask
 * and keyBits) come as locals: read from the globals at every step, they cost about a tenth.
 */
function next(at: usize, k: usize, mask: i32, bits: u32): usize {
  const record = load<i32>(at);
  const key = load<f32>(k + <usize>(record & mask));
  return at + <usize>select<u32>(8, <u32>record >> bits, key <= load<f32>(at, 4));
}

/** Record `index` of the walk. */
function recordAt(index: i32): usize {
  return walk + ((<usize>index) << 3);
}

/** Tree t's root, or the padding leaf past the last tree (it stays put and adds nothing). */
function rootOf(t: i32): usize {
  return recordAt(load<i32>(offsets + ((<usize>min(t, nTrees)) << 2)));
}

/**
 * Lockstep steps between two anyWalking tests. A walk that reached its leaf stays there, so the
 * steps past it change nothing; testing less often leaves fewer instructions a step, and the
 * processor keeps more of the walks' cache misses in flight. One row took 5 to 13% less time
 * than with a test every step (lib/forest/README.md).
 */
const STEPS_PER_CHECK = 4;

/** Non-zero while any of eight lockstep walks has not reached its leaf. */
function anyWalking(
  a: usize,
  b: usize,
  c: usize,
  d: usize,
  e: usize,
  f: usize,
  g: usize,
  h: usize,
  leaf: i32,
): i32 {
  return (
    (load<i32>(a) ^ leaf) |
    (load<i32>(b) ^ leaf) |
    (load<i32>(c) ^ leaf) |
    (load<i32>(d) ^ leaf) |
    (load<i32>(e) ^ leaf) |
    (load<i32>(f) ^ leaf) |
    (load<i32>(g) ^ leaf) |
    (load<i32>(h) ^ leaf)
  );
}

/**
 * The mean of the trees' leaf values for `row`, walked by its keys. Trees are walked eight at a time in lockstep:
 * their nodes are cache misses, and independent walks keep several misses in flight. The leaf
 * values are added one at a time in tree order, as predictBlock adds them. This is predictBlock's
 * lockstep with one row for all eight walks: one walk function shared by both, taking eight key
 * addresses, made one-row prediction about a third slower (eight addresses held where one does).
 */
export function predictRow(): f64 {
  writeKeys(row, keys);
  return keyBits === 8 ? walkRow<u8>(keys) : walkRow<u32>(keys);
}

/**
 * predictRow's walks over the keys at `k`, compiled twice. walkRow<u8> is for key offsets within
 * 8 bits (forests of 16 to 31 features, as this project's 16): its field widths are constants,
 * which the compiler folds into the instructions. walkRow<u32> reads them from keyMask and
 * keyBits, for any forest.
 */
function walkRow<Offset>(k: usize): f64 {
  const narrow = sizeof<Offset>() === 1;
  const mask = narrow ? 0xff : keyMask;
  const bits = narrow ? 8 : <u32>keyBits;
  const end = leaf;
  let sum: f64 = 0;
  for (let t = 0; t < nTrees; t += 8) {
    let a = rootOf(t);
    let b = rootOf(t + 1);
    let c = rootOf(t + 2);
    let d = rootOf(t + 3);
    let e = rootOf(t + 4);
    let f = rootOf(t + 5);
    let g = rootOf(t + 6);
    let h = rootOf(t + 7);
    while (anyWalking(a, b, c, d, e, f, g, h, end)) {
      for (let step = 0; step < STEPS_PER_CHECK; step++) {
        a = next(a, k, mask, bits);
        b = next(b, k, mask, bits);
        c = next(c, k, mask, bits);
        d = next(d, k, mask, bits);
        e = next(e, k, mask, bits);
        f = next(f, k, mask, bits);
        g = next(g, k, mask, bits);
        h = next(h, k, mask, bits);
      }
    }
    sum += <f64>load<f32>(a, 4);
    sum += <f64>load<f32>(b, 4);
    sum += <f64>load<f32>(c, 4);
    sum += <f64>load<f32>(d, 4);
    sum += <f64>load<f32>(e, 4);
    sum += <f64>load<f32>(f, 4);
    sum += <f64>load<f32>(g, 4);
    sum += <f64>load<f32>(h, 4);
  }
  return sum / <f64>nTrees;
}

/**
 * out[i] = the prediction for rows[i], i < nRows (their keys written first), tree by tree, so that each tree's nodes stay in
 * cache while all rows walk it; each row's sum adds the trees in order, as predictRow does. When
 * `touch` is set, each tree's records are read through once, in order, before the rows walk it:
 * the processor then fetches them ahead, where the walks would wait for each miss in turn.
 */
export function predictBlock(nRows: i32, touch: bool): void {
  memory.fill(out, 0, (<usize>nRows) << 3);
  for (let i = 0; i < nRows; i++) {
    writeKeys(rows + <usize>i * rowStride, keys + <usize>i * keyStride);
  }
  const mask = keyMask;
  const bits = <u32>keyBits;
  const end = leaf;
  for (let t = 0; t < nTrees; t++) {
    const root = rootOf(t);
    if (touch) {
      let seen: i32 = 0;
      const end = rootOf(t + 1);
      for (let at = root; at < end; at += 64) seen |= load<i32>(at);
      // Never true (key offsets are multiples of 4): keeps the reads from being dropped.
      if (seen & 3) unreachable();
    }
    let i = 0;
    for (; i + 8 <= nRows; i += 8) {
      const xa = keys + <usize>i * keyStride;
      const xb = xa + keyStride;
      const xc = xb + keyStride;
      const xd = xc + keyStride;
      const xe = xd + keyStride;
      const xf = xe + keyStride;
      const xg = xf + keyStride;
      const xh = xg + keyStride;
      let a = root;
      let b = root;
      let c = root;
      let d = root;
      let e = root;
      let f = root;
      let g = root;
      let h = root;
      while (anyWalking(a, b, c, d, e, f, g, h, end)) {
        for (let step = 0; step < STEPS_PER_CHECK; step++) {
          a = next(a, xa, mask, bits);
          b = next(b, xb, mask, bits);
          c = next(c, xc, mask, bits);
          d = next(d, xd, mask, bits);
          e = next(e, xe, mask, bits);
          f = next(f, xf, mask, bits);
          g = next(g, xg, mask, bits);
          h = next(h, xh, mask, bits);
        }
      }
      const sums = out + ((<usize>i) << 3);
      store<f64>(sums, load<f64>(sums) + <f64>load<f32>(a, 4));
      store<f64>(sums, load<f64>(sums, 8) + <f64>load<f32>(b, 4), 8);
      store<f64>(sums, load<f64>(sums, 16) + <f64>load<f32>(c, 4), 16);
      store<f64>(sums, load<f64>(sums, 24) + <f64>load<f32>(d, 4), 24);
      store<f64>(sums, load<f64>(sums, 32) + <f64>load<f32>(e, 4), 32);
      store<f64>(sums, load<f64>(sums, 40) + <f64>load<f32>(f, 4), 40);
      store<f64>(sums, load<f64>(sums, 48) + <f64>load<f32>(g, 4), 48);
      store<f64>(sums, load<f64>(sums, 56) + <f64>load<f32>(h, 4), 56);
    }
    for (; i < nRows; i++) {
      const x = keys + <usize>i * keyStride;
      let at = root;
      while (load<i32>(at) !== end) at = next(at, x, mask, bits);
      const sums = out + ((<usize>i) << 3);
      store<f64>(sums, load<f64>(sums) + <f64>load<f32>(at, 4));
    }
  }
  for (let i = 0; i < nRows; i++) {
    const sums = out + ((<usize>i) << 3);
    store<f64>(sums, load<f64>(sums) / <f64>nTrees);
  }
}

// Prediction, in AssemblyScript (lib/forest/forest.ts drives it): the tree walks over the walk
// records that Forest describes (8 bytes a node: an int of split feature, flag and far-child
// distance, then the float32 threshold or leaf value). The same walks as JavaScript took about
// twice as long for a batch and a fifth longer for one row (no bounds checks, and `select` is a
// conditional move where V8 needs tricks to avoid a branch).
//
// One instance holds one forest: predictCreate makes room for its records, one row and a block
// of rows, all at once, so that the memory never grows after it and the JavaScript views of it
// stay valid.

let walk: usize = 0;
let offsets: usize = 0;
let row: usize = 0;
let rows: usize = 0;
let out: usize = 0;
let nTrees: i32 = 0;
/** A leaf's record: exactly nFeatures (see Forest.walkInt). */
let leaf: i32 = 0;
let shift: i32 = 0;
let mask: i32 = 0;
/** Bytes from one row of `rows` to the next: nFeatures values and the NaN that leaves compare. */
let stride: usize = 0;

/** Where predictCreate's arrays are, as lib/forest/forest.ts reads them: walk, offsets, row, rows, out. */
const addresses = new StaticArray<u32>(5);

/**
 * Makes room for a forest of `records` walk records (padding leaf included) in `treeCount` trees,
 * one row, and blocks of up to blockRows rows; returns where the addresses are.
 */
export function predictCreate(
  records: i32,
  treeCount: i32,
  nFeatures: i32,
  featureBits: i32,
  blockRows: i32,
): usize {
  nTrees = treeCount;
  leaf = nFeatures;
  shift = featureBits;
  mask = (1 << featureBits) - 1;
  stride = (<usize>(nFeatures + 1)) << 3;
  walk = changetype<usize>(new StaticArray<u64>(records));
  offsets = changetype<usize>(new StaticArray<i32>(treeCount + 1));
  row = changetype<usize>(new StaticArray<f64>(nFeatures + 1));
  rows = changetype<usize>(new StaticArray<f64>(blockRows * (nFeatures + 1)));
  out = changetype<usize>(new StaticArray<f64>(blockRows));
  addresses[0] = <u32>walk;
  addresses[1] = <u32>offsets;
  addresses[2] = <u32>row;
  addresses[3] = <u32>rows;
  addresses[4] = <u32>out;
  return changetype<usize>(addresses);
}

/**
 * The record after the one at `at` for the row at `x`: the next record when the row goes to the
 * near child, else the far child. A leaf compares NaN, goes "right" and is its own far child
 * (distance 0), so a walk that reached a leaf stays there.
 */
function next(at: usize, x: usize): usize {
  const record = load<i32>(at);
  const value = load<f64>(x + ((<usize>(record & mask)) << 3));
  const left = <i32>(value <= <f64>load<f32>(at, 4));
  const above = record >> shift;
  // Bit 0 of `above` is the flag (the near child is the right one), the rest the far child's
  // distance in nodes times two.
  return at + <usize>select<i32>((above & -2) << 2, 8, (left ^ above ^ 1) & 1);
}

/** Record `index` of the walk. */
function recordAt(index: i32): usize {
  return walk + ((<usize>index) << 3);
}

/** Tree t's root, or the padding leaf past the last tree (it stays put and adds nothing). */
function rootOf(t: i32): usize {
  return recordAt(load<i32>(offsets + ((<usize>min(t, nTrees)) << 2)));
}

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
 * The mean of the trees' leaf values for `row`. Trees are walked eight at a time in lockstep:
 * their nodes are cache misses, and independent walks keep several misses in flight. The leaf
 * values are added one at a time in tree order, as predictBlock adds them. This is predictBlock's
 * lockstep with one row for all eight walks: one walk function shared by both, taking eight row
 * addresses, made one-row prediction about a third slower (eight addresses held where one does).
 */
export function predictRow(): f64 {
  const x = row;
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
    while (anyWalking(a, b, c, d, e, f, g, h)) {
      a = next(a, x);
      b = next(b, x);
      c = next(c, x);
      d = next(d, x);
      e = next(e, x);
      f = next(f, x);
      g = next(g, x);
      h = next(h, x);
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
 * out[i] = the prediction for rows[i], i < nRows, tree by tree, so that each tree's nodes stay in
 * cache while all rows walk it; each row's sum adds the trees in order, as predictRow does. When
 * `touch` is set, each tree's records are read through once, in order, before the rows walk it:
 * the processor then fetches them ahead, where the walks would wait for each miss in turn.
 */
export function predictBlock(nRows: i32, touch: bool): void {
  memory.fill(out, 0, (<usize>nRows) << 3);
  for (let t = 0; t < nTrees; t++) {
    const root = rootOf(t);
    if (touch) {
      let seen: i32 = 0;
      const end = rootOf(t + 1);
      for (let at = root; at < end; at += 64) seen |= load<i32>(at);
      // Never true (records are not negative): keeps the reads from being dropped.
      if (seen < 0) unreachable();
    }
    let i = 0;
    for (; i + 8 <= nRows; i += 8) {
      const xa = rows + <usize>i * stride;
      const xb = xa + stride;
      const xc = xb + stride;
      const xd = xc + stride;
      const xe = xd + stride;
      const xf = xe + stride;
      const xg = xf + stride;
      const xh = xg + stride;
      let a = root;
      let b = root;
      let c = root;
      let d = root;
      let e = root;
      let f = root;
      let g = root;
      let h = root;
      while (anyWalking(a, b, c, d, e, f, g, h)) {
        a = next(a, xa);
        b = next(b, xb);
        c = next(c, xc);
        d = next(d, xd);
        e = next(e, xe);
        f = next(f, xf);
        g = next(g, xg);
        h = next(h, xh);
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
      const x = rows + <usize>i * stride;
      let at = root;
      while (load<i32>(at) !== leaf) at = next(at, x);
      const sums = out + ((<usize>i) << 3);
      store<f64>(sums, load<f64>(sums) + <f64>load<f32>(at, 4));
    }
  }
  for (let i = 0; i < nRows; i++) {
    const sums = out + ((<usize>i) << 3);
    store<f64>(sums, load<f64>(sums) / <f64>nTrees);
  }
}

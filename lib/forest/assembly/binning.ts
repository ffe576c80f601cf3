// Pre-binning of features, in AssemblyScript (lib/forest/binning.ts drives it): quantile bin edges
// computed once per training, rounded to float32 so that a model file's float32 thresholds route
// any value exactly like the binned training data did (a value goes left iff value <= threshold).
// Binning runs first in a fit, while nothing is compiled yet: as WebAssembly it takes a few
// milliseconds where the same code as JavaScript took several times as long, cold.
import { stepFloat32 } from "./float32";

/** A float32 t with a <= t < b, near the midpoint of a and b; NaN when float32 cannot separate them. */
function separatingFloat32(a: f64, b: f64): f32 {
  const mid = <f32>(a + (b - a) / 2);
  if (<f64>mid >= a && <f64>mid < b) return mid;
  const step = stepFloat32(mid, <f64>mid < a);
  return <f64>step >= a && <f64>step < b ? step : NaN;
}

// One binner's arrays (one per thread), reused from feature to feature: the feature's values,
// written by lib/forest/binning.ts, and the scratch space.
let nRows: i32 = 0;
let values = new StaticArray<f64>(0);
let spareValues = new StaticArray<f64>(0);
let rows = new StaticArray<i32>(0);
let spareRows = new StaticArray<i32>(0);
/** Per 11-bit digit of the sort keys (6 of them), a counter per digit value. */
const counts = new StaticArray<i32>(6 * 2048);
/** The last feature's edges, and each row's bin. */
let edges = new StaticArray<f32>(0);
let edgeCount: i32 = 0;
let bins = new StaticArray<u16>(0);

/** Where binningCreate's arrays are, as lib/forest/binning.ts reads them: values, edges, bins. */
const addresses = new StaticArray<u32>(3);

/** Makes room for features of nRows rows in up to maxBins bins; returns where the addresses are. */
export function binningCreate(rowCount: i32, maxBins: i32): usize {
  nRows = rowCount;
  values = new StaticArray<f64>(rowCount);
  spareValues = new StaticArray<f64>(rowCount);
  rows = new StaticArray<i32>(rowCount);
  spareRows = new StaticArray<i32>(rowCount);
  edges = new StaticArray<f32>(maxBins - 1);
  bins = new StaticArray<u16>(rowCount);
  addresses[0] = changetype<u32>(values);
  addresses[1] = changetype<u32>(edges);
  addresses[2] = changetype<u32>(bins);
  return changetype<usize>(addresses);
}

/**
 * Bins the feature whose values (by row) were written to values: its edges go to edges (the count
 * is returned) and each row's bin to bins[row].
 * The edges are midpoints between distinct values when there are at most maxBins of them,
 * otherwise between the values at the 1/maxBins quantiles and the next distinct value.
 */
export function binFeature(maxBins: i32): i32 {
  const n = nRows;
  for (let i = 0; i < n; i++) rows[i] = i;
  sortValues(n);
  edgeCount = 0;
  if (!moreDistinctThan(n, maxBins)) {
    for (let i = 1; i < n; i++) if (values[i] !== values[i - 1]) addEdge(values[i - 1], values[i]);
  } else {
    let last = -1;
    for (let k = 1; k < maxBins; k++) {
      const at = max<i32>(<i32>Math.ceil((<f64>k * <f64>n) / <f64>maxBins) - 1, last + 1);
      if (at >= n) break;
      const next = upperBound(values[at], at, n);
      if (next >= n) break;
      addEdge(values[at], values[next]);
      last = next - 1;
    }
  }
  // The rows in value order: their bins only go up, a row's bin being the number of edges below
  // its value (the first edge it does not exceed, or the open last bin), so there is nothing to
  // search.
  let bin = 0;
  for (let i = 0; i < n; i++) {
    while (bin < edgeCount && <f64>edges[bin] < values[i]) bin++;
    bins[rows[i]] = <u16>bin;
  }
  return edgeCount;
}

function addEdge(a: f64, b: f64): void {
  const edge = separatingFloat32(a, b);
  if (!Number.isNaN(edge) && (edgeCount === 0 || edge > edges[edgeCount - 1]))
    edges[edgeCount++] = edge;
}

/** Whether the sorted values hold more than `limit` distinct values. */
function moreDistinctThan(n: i32, limit: i32): bool {
  let distinct = n === 0 ? 0 : 1;
  for (let i = 1; i < n && distinct <= limit; i++) {
    if (values[i] !== values[i - 1]) distinct++;
  }
  return distinct > limit;
}

/** The smallest index i in values[from..n) with values[i] > value (n if none). */
function upperBound(value: f64, from: i32, n: i32): i32 {
  let lo = from;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Sorts values[0..n) ascending (none may be NaN; -0 before 0), rows along. A least significant
 * digit radix sort on the values' bits, 11 at a time: a few passes without a branch on the data,
 * where a comparison sort mispredicts about every other comparison. The bits are first turned
 * into unsigned integers that order like the values: a negative value gets all its bits flipped,
 * any other its sign bit.
 */
function sortValues(n: i32): void {
  const keys = changetype<StaticArray<u64>>(changetype<usize>(values));
  const spareKeys = changetype<StaticArray<u64>>(changetype<usize>(spareValues));
  memory.fill(changetype<usize>(counts), 0, 6 * 2048 * 4);
  for (let i = 0; i < n; i++) {
    const bits = reinterpret<u64>(values[i]);
    const key = bits ^ (<u64>(<i64>bits >> 63) | 0x8000000000000000);
    keys[i] = key;
    for (let digit = 0; digit < 6; digit++) {
      counts[digit * 2048 + <i32>((key >> (<u64>digit * 11)) & 0x7ff)]++;
    }
  }
  let from = keys;
  let to = spareKeys;
  let fromRows = rows;
  let toRows = spareRows;
  for (let digit = 0; digit < 6; digit++) {
    // A digit that all values share leaves the order as it is.
    if (!bucketStarts(digit * 2048, n)) continue;
    const base = digit * 2048;
    const shift = <u64>digit * 11;
    for (let i = 0; i < n; i++) {
      const key = from[i];
      const at = counts[base + <i32>((key >> shift) & 0x7ff)]++;
      to[at] = key;
      toRows[at] = fromRows[i];
    }
    const keysWere = from;
    from = to;
    to = keysWere;
    const rowsWere = fromRows;
    fromRows = toRows;
    toRows = rowsWere;
  }
  if (changetype<usize>(from) !== changetype<usize>(keys)) {
    memory.copy(changetype<usize>(keys), changetype<usize>(from), (<usize>n) << 3);
    memory.copy(changetype<usize>(rows), changetype<usize>(fromRows), (<usize>n) << 2);
  }
  for (let i = 0; i < n; i++) {
    const key = keys[i];
    // The inverse: a clear top bit marks a negative value.
    values[i] = reinterpret<f64>(key ^ (<u64>(<i64>~key >> 63) | 0x8000000000000000));
  }
}

/** Turns one digit's counts into its buckets' start positions; false when one bucket holds all n. */
function bucketStarts(base: i32, n: i32): bool {
  let position = 0;
  let spread = true;
  for (let d = base; d < base + 2048; d++) {
    const inBucket = counts[d];
    if (inBucket === n) spread = false;
    counts[d] = position;
    position += inBucket;
  }
  return spread;
}

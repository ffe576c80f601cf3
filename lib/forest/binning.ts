// Pre-binning of features: quantile bin edges computed once per training, rounded to float32 so that
// a model file's float32 thresholds route any value exactly like the binned training data did
// (a value goes left iff value <= threshold).

const f32 = new Float32Array(1);
const f32Bits = new Int32Array(f32.buffer);

/** The float32 neighbour of a (float32) value, one ulp up or down. */
function stepFloat32(value: number, up: boolean): number {
  if (value === 0) return up ? 1.401298464324817e-45 : -1.401298464324817e-45;
  f32[0] = value;
  f32Bits[0] += value > 0 === up ? 1 : -1;
  return f32[0];
}

/** A float32 t with a <= t < b, near the midpoint of a and b; null when float32 cannot separate them. */
export function separatingFloat32(a: number, b: number): number | null {
  const mid = Math.fround(a + (b - a) / 2);
  if (mid >= a && mid < b) return mid;
  const step = stepFloat32(mid, mid < a);
  return step >= a && step < b ? step : null;
}

/** The smallest index i in sorted[from..] with sorted[i] > value (sorted.length if none). */
function upperBound(sorted: Float64Array, value: number, from: number): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Bin edges of one feature: midpoints between distinct values when there are at most maxBins of
 * them, otherwise between the values at the 1/maxBins quantiles and the next distinct value.
 */
export function featureBinEdges(values: Float64Array, maxBins: number): Float32Array {
  return sortedBinEdges(Float64Array.from(values).sort(), maxBins);
}

/** featureBinEdges of values already sorted. */
function sortedBinEdges(sorted: Float64Array, maxBins: number): Float32Array {
  const n = sorted.length;
  const edges: number[] = [];
  const push = (a: number, b: number) => {
    const edge = separatingFloat32(a, b);
    if (edge !== null && (edges.length === 0 || edge > edges[edges.length - 1])) edges.push(edge);
  };
  let distinct = n === 0 ? 0 : 1;
  for (let i = 1; i < n && distinct <= maxBins; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  if (distinct <= maxBins) {
    for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) push(sorted[i - 1], sorted[i]);
  } else {
    let last = -1;
    for (let k = 1; k < maxBins; k++) {
      const at = Math.max(Math.ceil((k * n) / maxBins) - 1, last + 1);
      if (at >= n) break;
      const next = upperBound(sorted, sorted[at], at);
      if (next >= n) break;
      push(sorted[at], sorted[next]);
      last = next - 1;
    }
  }
  return Float32Array.from(edges);
}

/** The bin of a value: the first edge it does not exceed, or the open last bin. */
export function binOf(edges: Float32Array, value: number): number {
  if (edges.length === 0) return 0;
  // A branch-free binary search: the loop runs log2(edges) times whatever the value, and each
  // step moves by half or not with arithmetic (V8 turns a comparison into 0 or 1 without a branch
  // here, where an if would mispredict on half of the steps).
  let base = 0;
  let n = edges.length;
  while (n > 1) {
    const half = n >>> 1;
    base += half * +(edges[base + half - 1] < value);
    n -= half;
  }
  return base + +(edges[base] < value);
}

/** Where the low and high 32 bits of a float64 are among its two Uint32 words on this machine. */
const LOW = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1 ? 0 : 1;
const HIGH = 1 - LOW;

/** Digit `digit` (0 the lowest) of 11 bits of the unsigned 64-bit integer high:low. */
function radixDigit(digit: number, low: number, high: number): number {
  const shift = 11 * digit;
  if (shift >= 32) return (high >>> (shift - 32)) & 0x7ff;
  if (shift + 11 <= 32) return (low >>> shift) & 0x7ff;
  return ((low >>> shift) | (high << (32 - shift))) & 0x7ff;
}

/**
 * Sorts values ascending (none may be NaN), exactly as Float64Array.prototype.sort does (-0 before
 * 0), and moves rows[i] along with values[i]; spare and spareRows (as long) are scratch. A least
 * significant digit radix sort on the values' bits, 11 at a time: a few passes without a branch
 * on the data, where a comparison sort mispredicts about every other comparison (it takes three
 * times longer on a continuous feature).
 */
export function sortFloat64(
  values: Float64Array,
  rows: Int32Array,
  spare: Float64Array,
  spareRows: Int32Array,
): void {
  const n = values.length;
  let from = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  let to = new Uint32Array(spare.buffer, spare.byteOffset, 2 * n);
  let fromRows = rows;
  let toRows = spareRows;
  // As unsigned 64-bit integers, the bits order like the values once negatives have all their bits
  // flipped and the others their sign bit. One pass also counts the values of all six digits.
  const counts = new Int32Array(6 * 2048);
  for (let i = 0; i < n; i++) {
    const negative = from[2 * i + HIGH] >> 31;
    const low = (from[2 * i + LOW] ^ negative) >>> 0;
    const high = (from[2 * i + HIGH] ^ (negative | 0x80000000)) >>> 0;
    from[2 * i + LOW] = low;
    from[2 * i + HIGH] = high;
    counts[radixDigit(0, low, high)]++;
    counts[2048 + radixDigit(1, low, high)]++;
    counts[4096 + radixDigit(2, low, high)]++;
    counts[6144 + radixDigit(3, low, high)]++;
    counts[8192 + radixDigit(4, low, high)]++;
    counts[10240 + radixDigit(5, low, high)]++;
  }
  for (let digit = 0; digit < 6; digit++) {
    const base = digit * 2048;
    // A digit that all values share leaves the order as it is.
    let position = 0;
    let shared = false;
    for (let d = base; d < base + 2048; d++) {
      const inBucket = counts[d];
      shared ||= inBucket === n;
      counts[d] = position;
      position += inBucket;
    }
    if (shared) continue;
    for (let i = 0; i < n; i++) {
      const low = from[2 * i + LOW];
      const high = from[2 * i + HIGH];
      const at = counts[base + radixDigit(digit, low, high)]++;
      to[2 * at + LOW] = low;
      to[2 * at + HIGH] = high;
      toRows[at] = fromRows[i];
    }
    [from, to] = [to, from];
    [fromRows, toRows] = [toRows, fromRows];
  }
  const out = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  for (let i = 0; i < n; i++) {
    const high = from[2 * i + HIGH];
    // A clear sign bit marks a negative value, all of whose bits were flipped.
    const negative = ~high >> 31;
    out[2 * i + LOW] = from[2 * i + LOW] ^ negative;
    out[2 * i + HIGH] = high ^ (negative | 0x80000000);
  }
  if (fromRows !== rows) rows.set(fromRows);
}

/** binFeature's scratch space, reused from feature to feature: fresh memory costs a page fault per 4 KiB. */
export class BinningScratch {
  readonly values: Float64Array;
  readonly spareValues: Float64Array;
  readonly rows: Int32Array;
  readonly spareRows: Int32Array;

  constructor(nRows: number) {
    this.values = new Float64Array(nRows);
    this.spareValues = new Float64Array(nRows);
    this.rows = new Int32Array(nRows);
    this.spareRows = new Int32Array(nRows);
  }
}

/**
 * Bins feature f of a row-major matrix: returns its edges and writes each row's bin to the
 * row-major bins[row * nFeatures + f].
 */
export function binFeature(
  x: Float64Array,
  nRows: number,
  nFeatures: number,
  f: number,
  maxBins: number,
  bins: Uint8Array | Uint16Array,
  scratch: BinningScratch = new BinningScratch(nRows),
): Float32Array {
  const { values, rows } = scratch;
  for (let i = 0; i < nRows; i++) {
    values[i] = x[i * nFeatures + f];
    rows[i] = i;
  }
  sortFloat64(values, rows, scratch.spareValues, scratch.spareRows);
  const edges = sortedBinEdges(values, maxBins);
  // In value order the bins only go up: a row's bin is the number of edges below its value (as
  // binOf finds it), with no search.
  let bin = 0;
  for (let i = 0; i < nRows; i++) {
    while (bin < edges.length && edges[bin] < values[i]) bin++;
    bins[rows[i] * nFeatures + f] = bin;
  }
  return edges;
}

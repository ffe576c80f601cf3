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

/** Float64 words are little-endian (the low 32 bits first) on this machine. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Digit `digit` (0 the lowest) of 11 bits of the unsigned 64-bit integer high:low. */
function radixDigit(digit: number, low: number, high: number): number {
  const shift = 11 * digit;
  if (shift >= 32) return (high >>> (shift - 32)) & 0x7ff;
  if (shift + 11 <= 32) return (low >>> shift) & 0x7ff;
  return ((low >>> shift) | (high << (32 - shift))) & 0x7ff;
}

/**
 * Sorts values ascending (none may be NaN), exactly as Float64Array.prototype.sort does (-0 before
 * 0), with `spare` (as many values) as scratch. A least significant digit radix sort on the
 * values' bits, 11 at a time: a few passes without a branch on the data, where a comparison sort
 * mispredicts about every other comparison (it takes several times longer on a continuous feature).
 */
export function sortFloat64(values: Float64Array, spare: Float64Array): void {
  const n = values.length;
  if (!LITTLE_ENDIAN || spare.length < n) {
    values.sort();
    return;
  }
  let from = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  let to = new Uint32Array(spare.buffer, spare.byteOffset, 2 * n);
  // As unsigned 64-bit integers, the bits order like the values once negatives have all their bits
  // flipped and the others their sign bit. One pass also counts the values of all six digits.
  const counts = new Int32Array(6 * 2048);
  for (let i = 0; i < 2 * n; i += 2) {
    const negative = from[i + 1] >> 31;
    const low = (from[i] ^ negative) >>> 0;
    const high = (from[i + 1] ^ (negative | 0x80000000)) >>> 0;
    from[i] = low;
    from[i + 1] = high;
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
    for (let i = 0; i < 2 * n; i += 2) {
      const low = from[i];
      const high = from[i + 1];
      const at = 2 * counts[base + radixDigit(digit, low, high)]++;
      to[at] = low;
      to[at + 1] = high;
    }
    const swap = from;
    from = to;
    to = swap;
  }
  const out = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  for (let i = 0; i < 2 * n; i += 2) {
    const high = from[i + 1];
    // A clear sign bit marks a negative value, all of whose bits were flipped.
    const negative = ~high >> 31;
    out[i] = from[i] ^ negative;
    out[i + 1] = high ^ (negative | 0x80000000);
  }
}

/**
 * Bins feature f of a row-major matrix: returns its edges and writes each row's bin to the
 * row-major bins[row * nFeatures + f]. `scratch` (3 * nRows values) may be reused from feature
 * to feature: fresh memory costs a page fault per 4 KiB on first touch.
 */
export function binFeature(
  x: Float64Array,
  nRows: number,
  nFeatures: number,
  f: number,
  maxBins: number,
  bins: Uint8Array | Uint16Array,
  scratch: Float64Array = new Float64Array(3 * nRows),
): Float32Array {
  const column = scratch.subarray(0, nRows);
  const sorted = scratch.subarray(nRows, 2 * nRows);
  for (let i = 0; i < nRows; i++) column[i] = x[i * nFeatures + f];
  sorted.set(column);
  sortFloat64(sorted, scratch.subarray(2 * nRows, 3 * nRows));
  const edges = sortedBinEdges(sorted, maxBins);
  for (let i = 0; i < nRows; i++) bins[i * nFeatures + f] = binOf(edges, column[i]);
  return edges;
}

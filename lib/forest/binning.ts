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
 * Bin edges of one feature, from its values sorted: midpoints between distinct values when there
 * are at most maxBins of them, otherwise between the values at the 1/maxBins quantiles and the
 * next distinct value.
 */
function sortedBinEdges(sorted: Float64Array, maxBins: number): Float32Array {
  const n = sorted.length;
  const edges: number[] = [];
  const push = (a: number, b: number) => {
    const edge = separatingFloat32(a, b);
    if (edge !== null && (edges.length === 0 || edge > edges[edges.length - 1])) edges.push(edge);
  };
  if (!moreDistinctThan(sorted, maxBins)) {
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

/** Whether sorted holds more than `limit` distinct values. (A loop on its own: see binFeature.) */
function moreDistinctThan(sorted: Float64Array, limit: number): boolean {
  let distinct = sorted.length === 0 ? 0 : 1;
  for (let i = 1; i < sorted.length && distinct <= limit; i++) {
    if (sorted[i] !== sorted[i - 1]) distinct++;
  }
  return distinct > limit;
}

/** Where the low and high 32 bits of a float64 are among its two Uint32 words on this machine. */
const LOW = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1 ? 0 : 1;
const HIGH = 1 - LOW;

/**
 * The six 11-bit digits of an unsigned 64-bit integer high:low, lowest first, as
 * ((low >>> lowShift) & lowMask) | (((high >>> highShift) << highUp) & highMask): per digit,
 * [lowShift, lowMask, highShift, highUp, highMask].
 */
const DIGITS = [
  [0, 0x7ff, 0, 0, 0],
  [11, 0x7ff, 0, 0, 0],
  [22, 0x3ff, 0, 10, 0x400],
  [0, 0, 1, 0, 0x7ff],
  [0, 0, 12, 0, 0x7ff],
  [0, 0, 23, 0, 0x7ff],
];

/**
 * Sorts values ascending (none may be NaN), exactly as Float64Array.prototype.sort does (-0 before
 * 0), and moves rows[i] along with values[i]; spare and spareRows (as long) are scratch. A least
 * significant digit radix sort on the values' bits, 11 at a time: a few passes without a branch
 * on the data, where a comparison sort mispredicts about every other comparison (it takes three
 * times longer on a continuous feature). Each pass is a small function of one loop, which V8
 * optimizes sooner than loops of one large function: binning runs first, while the code is cold.
 */
export function sortFloat64(
  values: Float64Array,
  rows: Int32Array,
  spare: Float64Array,
  spareRows: Int32Array,
): void {
  const n = values.length;
  // Int32 views: the bits as signed words, which V8 keeps in integer registers.
  const words = new Int32Array(values.buffer, values.byteOffset, 2 * n);
  const spareWords = new Int32Array(spare.buffer, spare.byteOffset, 2 * n);
  const counts = new Int32Array(6 * 2048);
  toSortableBits(words, n, counts);
  let inSpare = false;
  for (let digit = 0; digit < 6; digit++) {
    // A digit that all values share leaves the order as it is.
    if (!bucketStarts(counts, digit * 2048, n)) continue;
    if (inSpare) radixPass(spareWords, spareRows, words, rows, n, counts, digit);
    else radixPass(words, rows, spareWords, spareRows, n, counts, digit);
    inSpare = !inSpare;
  }
  if (inSpare) {
    words.set(spareWords);
    rows.set(spareRows);
  }
  fromSortableBits(words, n);
}

/**
 * Turns the float64 bits into integers that order like the values, as unsigned high:low: a
 * negative value gets all its bits flipped, any other its sign bit. Counts each digit's values.
 */
function toSortableBits(words: Int32Array, n: number, counts: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const negative = words[2 * i + HIGH] >> 31;
    const low = words[2 * i + LOW] ^ negative;
    const high = words[2 * i + HIGH] ^ (negative | 0x80000000);
    words[2 * i + LOW] = low;
    words[2 * i + HIGH] = high;
    counts[low & 0x7ff]++;
    counts[2048 + ((low >>> 11) & 0x7ff)]++;
    counts[4096 + (((low >>> 22) & 0x3ff) | ((high << 10) & 0x400))]++;
    counts[6144 + ((high >>> 1) & 0x7ff)]++;
    counts[8192 + ((high >>> 12) & 0x7ff)]++;
    counts[10240 + ((high >>> 23) & 0x7ff)]++;
  }
}

/** The inverse of toSortableBits: a clear sign bit marks a negative value. */
function fromSortableBits(words: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const high = words[2 * i + HIGH];
    const negative = ~high >> 31;
    words[2 * i + LOW] ^= negative;
    words[2 * i + HIGH] = high ^ (negative | 0x80000000);
  }
}

/** Turns one digit's counts into its buckets' start positions; false when one bucket holds all n. */
function bucketStarts(counts: Int32Array, base: number, n: number): boolean {
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

/** Moves the values (as sortable bits) and their rows into their digit's buckets, in order. */
function radixPass(
  from: Int32Array,
  fromRows: Int32Array,
  to: Int32Array,
  toRows: Int32Array,
  n: number,
  counts: Int32Array,
  digit: number,
): void {
  const base = digit * 2048;
  const [lowShift, lowMask, highShift, highUp, highMask] = DIGITS[digit];
  for (let i = 0; i < n; i++) {
    const low = from[2 * i + LOW];
    const high = from[2 * i + HIGH];
    const value = ((low >>> lowShift) & lowMask) | (((high >>> highShift) << highUp) & highMask);
    const at = counts[base + value]++;
    to[2 * at + LOW] = low;
    to[2 * at + HIGH] = high;
    toRows[at] = fromRows[i];
  }
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
 * row-major bins[row * nFeatures + f]. (Its loops are functions of their own, as in
 * TreeGrower.partitionLeft: this runs while the code is cold.)
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
  readColumn(x, nRows, nFeatures, f, values, rows);
  sortFloat64(values, rows, scratch.spareValues, scratch.spareRows);
  const edges = sortedBinEdges(values, maxBins);
  writeBins(values, rows, edges, nFeatures, f, bins);
  return edges;
}

/** Feature f's values, and the row of each. */
function readColumn(
  x: Float64Array,
  nRows: number,
  nFeatures: number,
  f: number,
  values: Float64Array,
  rows: Int32Array,
): void {
  for (let i = 0; i < nRows; i++) {
    values[i] = x[i * nFeatures + f];
    rows[i] = i;
  }
}

/**
 * Writes the bins of rows in value order: they only go up, a row's bin being the number of edges
 * below its value (the first edge it does not exceed, or the open last bin), so there is nothing
 * to search.
 */
function writeBins(
  values: Float64Array,
  rows: Int32Array,
  edges: Float32Array,
  nFeatures: number,
  f: number,
  bins: Uint8Array | Uint16Array,
): void {
  let bin = 0;
  for (let i = 0; i < values.length; i++) {
    while (bin < edges.length && edges[bin] < values[i]) bin++;
    bins[rows[i] * nFeatures + f] = bin;
  }
}

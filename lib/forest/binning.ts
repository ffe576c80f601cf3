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

/**
 * Bins feature f of a row-major matrix: returns its edges and writes each row's bin to the
 * row-major bins[row * nFeatures + f]. `scratch` (2 * nRows values) may be reused from feature
 * to feature: fresh memory costs a page fault per 4 KiB on first touch.
 */
export function binFeature(
  x: Float64Array,
  nRows: number,
  nFeatures: number,
  f: number,
  maxBins: number,
  bins: Uint8Array | Uint16Array,
  scratch: Float64Array = new Float64Array(2 * nRows),
): Float32Array {
  const column = scratch.subarray(0, nRows);
  const sorted = scratch.subarray(nRows, 2 * nRows);
  for (let i = 0; i < nRows; i++) column[i] = x[i * nFeatures + f];
  sorted.set(column);
  const edges = sortedBinEdges(sorted.sort(), maxBins);
  for (let i = 0; i < nRows; i++) bins[i * nFeatures + f] = binOf(edges, column[i]);
  return edges;
}

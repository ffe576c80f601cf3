// Pre-binning of features: quantile bin edges computed once per training, rounded to float32 so that
// a model file's float32 thresholds route any value exactly like the binned training data did
// (a value goes left iff value <= threshold). The work is WebAssembly
// (lib/forest/assembly/binning.ts, which describes how; see wasm.ts).
import { addresses, type ForestWasm, instantiate } from "./wasm.ts";

/**
 * Bins features of row-major matrices of nRows rows, one at a time, in a WebAssembly instance of
 * its own (which holds one feature at a time, so its memory grows with the rows only).
 */
export class Binner {
  private readonly wasm: ForestWasm;
  private readonly valuesAt: number;
  private readonly edgesAt: number;
  private readonly binsAt: number;
  private readonly nRows: number;
  private readonly maxBins: number;

  constructor(nRows: number, maxBins: number) {
    this.nRows = nRows;
    this.maxBins = maxBins;
    const wasm = instantiate();
    this.wasm = wasm;
    [this.valuesAt, this.edgesAt, this.binsAt] = addresses(
      wasm,
      wasm.binningCreate(nRows, maxBins),
      3,
    );
  }

  /**
   * Bins feature f of the row-major x (nFeatures per row): returns its edges and writes each row's
   * bin to the row-major bins[row * nFeatures + f].
   */
  bin(x: Float64Array, nFeatures: number, f: number, bins: Uint8Array | Uint16Array): Float32Array {
    const { wasm, nRows } = this;
    const values = new Float64Array(wasm.memory.buffer, this.valuesAt, nRows);
    for (let row = 0; row < nRows; row++) values[row] = x[row * nFeatures + f];
    const count = wasm.binFeature(this.maxBins);
    const { buffer } = wasm.memory;
    const column = new Uint16Array(buffer, this.binsAt, nRows);
    for (let row = 0; row < nRows; row++) bins[row * nFeatures + f] = column[row];
    return new Float32Array(buffer, this.edgesAt, count).slice();
  }
}

/** Bins feature f of a row-major matrix: returns its edges and writes each row's bin to bins[row * nFeatures + f]. */
export function binFeature(
  x: Float64Array,
  nRows: number,
  nFeatures: number,
  f: number,
  maxBins: number,
  bins: Uint8Array | Uint16Array,
): Float32Array {
  return new Binner(nRows, maxBins).bin(x, nFeatures, f, bins);
}

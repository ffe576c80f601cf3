// Pre-binning of features: quantile bin edges computed once per training, rounded to float32 so that
// a model file's float32 thresholds route any value exactly like the binned training data did
// (a value goes left iff value <= threshold). The work is WebAssembly
// (lib/forest/assembly/binning.ts, which describes how; see wasm.ts).
import { addresses, type ForestWasm, instantiate } from "./wasm.ts";

/** Bins the features of one row-major matrix, one at a time, in a WebAssembly instance of its own. */
export class Binner {
  private readonly wasm: ForestWasm;
  private readonly edgesAt: number;
  private readonly binsAt: number;
  private readonly nRows: number;
  private readonly nFeatures: number;
  private readonly maxBins: number;

  constructor(x: Float64Array, nRows: number, nFeatures: number, maxBins: number) {
    this.nRows = nRows;
    this.nFeatures = nFeatures;
    this.maxBins = maxBins;
    const wasm = instantiate();
    this.wasm = wasm;
    const [xAt, edgesAt, binsAt] = addresses(
      wasm,
      wasm.binningCreate(nRows, nFeatures, maxBins),
      3,
    );
    this.edgesAt = edgesAt;
    this.binsAt = binsAt;
    new Float64Array(wasm.memory.buffer, xAt, nRows * nFeatures).set(
      x.subarray(0, nRows * nFeatures),
    );
  }

  /** Bins feature f: returns its edges and writes each row's bin to the row-major bins[row * nFeatures + f]. */
  bin(f: number, bins: Uint8Array | Uint16Array): Float32Array {
    const { wasm, nRows, nFeatures } = this;
    const count = wasm.binFeature(f, this.maxBins);
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
  return new Binner(x, nRows, nFeatures, maxBins).bin(f, bins);
}

// The forest's WebAssembly: lib/forest/assembly/ (AssemblyScript), compiled to forest.wasm by
// `npm run build:wasm`. grow.ts, binning.ts and forest.ts (prediction) each make instances of
// their own, with their own memory, freed with them: the runtime compiled in never frees, so memory is reclaimed by dropping
// the instance.
import { wasmInstances } from "../io/wasm.ts";

/** What lib/forest/assembly/grow.ts and binning.ts export. */
export interface ForestWasm {
  memory: { buffer: ArrayBuffer };
  LOCAL_ROWS: { value: number };
  create(
    nRows: number,
    nFeatures: number,
    maxBins: number,
    tryFeatures: number,
    maxDepth: number,
    minLeaf: number,
    minSplit: number,
  ): number;
  init(): void;
  grow(a: number, b: number, c: number, d: number): number;
  binningCreate(nRows: number, maxBins: number): number;
  binFeature(maxBins: number): number;
  predictCreate(
    records: number,
    nTrees: number,
    nFeatures: number,
    featureBits: number,
    blockRows: number,
  ): number;
  predictRow(): number;
  predictBlock(nRows: number, touch: boolean): void;
}

/** A fresh instance of forest.wasm, with a memory of its own. */
export const instantiate = wasmInstances<ForestWasm>(new URL("./forest.wasm", import.meta.url));

/** Unsigned 32-bit addresses published by the WebAssembly side, at `at` in its memory. */
export function addresses(wasm: ForestWasm, at: number, count: number): Uint32Array {
  return new Uint32Array(wasm.memory.buffer, at, count);
}

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../io/files.ts";
import type { Dataset, Forest } from "./forest.ts";
import {
  deserializeForest,
  FOREST_FORMAT,
  MODEL_FORMAT_VERSION,
  modelFileManifest,
  serializeForest,
} from "./model-file.ts";
import { DEFAULT_FOREST_PARAMS } from "./params.ts";
import { trainForest } from "./train.ts";

function makeData(nRows: number, nFeatures: number): Dataset {
  let state = 17;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const x = Float64Array.from({ length: nRows * nFeatures }, random);
  const y = Float64Array.from({ length: nRows }, (_, i) => 1000 * x[i * nFeatures] + 50 * random());
  return {
    x,
    y,
    nRows,
    nFeatures,
    featureNames: Array.from({ length: nFeatures }, (_, f) => `feature ${f}`),
  };
}

let dir: string;
let data: Dataset;
let forest: Forest;
let bytes: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "forest-model-"));
  data = makeData(400, 6);
  forest = await trainForest(
    data,
    { ...DEFAULT_FOREST_PARAMS, nEstimators: 6, seed: 3 },
    { workers: 2 },
  );
  bytes = serializeForest(forest);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Writes bytes to a real file and reads them back, as training and serving do. */
async function roundTripFile(name: string, content: Uint8Array): Promise<Uint8Array> {
  const path = join(dir, name);
  await writeFileAtomic(path, content);
  const read = await readFile(path);
  return new Uint8Array(read.buffer, read.byteOffset, read.byteLength);
}

describe("model file", () => {
  it("round-trips to identical predictions, importances and bytes", async () => {
    const loaded = deserializeForest(await roundTripFile("model.bin", bytes));
    expect(loaded.nTrees).toBe(6);
    expect(loaded.featureNames).toEqual(data.featureNames);
    expect(loaded.params).toEqual(forest.params);
    expect(loaded.trainingDataSha256).toBe(forest.trainingDataSha256);
    expect(Array.from(loaded.predict(data.x, data.nRows))).toEqual(
      Array.from(forest.predict(data.x, data.nRows)),
    );
    for (let i = 0; i < 20; i++) {
      const row = data.x.subarray(i * 6, (i + 1) * 6);
      expect(loaded.predictOne(row)).toBe(forest.predictOne(row));
    }
    expect(Array.from(loaded.featureImportances())).toEqual(
      Array.from(forest.featureImportances()),
    );
    expect(Buffer.from(serializeForest(loaded)).equals(Buffer.from(bytes))).toBe(true);
  });

  it("stores about 5 bytes per node", () => {
    expect(bytes.length).toBeLessThan(forest.nodeCount * 5 + 2000);
  });

  it("describes itself for the manifest, with the sha256 of its bytes", async () => {
    const manifest = modelFileManifest(bytes);
    const { createHash } = await import("node:crypto");
    expect(manifest.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(manifest).toMatchObject({
      formatVersion: MODEL_FORMAT_VERSION,
      bytes: bytes.length,
      nTrees: 6,
      treeRange: [0, 6],
      nodeCount: forest.nodeCount,
      featureNames: data.featureNames,
    });
    expect(FOREST_FORMAT).toContain(`v${MODEL_FORMAT_VERSION}`);
  });

  it("fails on a truncated file, saying so and what to do", async () => {
    const cut = await roundTripFile("cut.bin", bytes.subarray(0, bytes.length - 100));
    expect(() => deserializeForest(cut)).toThrow(
      `model file is truncated: it has ${bytes.length - 100} bytes but declares ${bytes.length}; fetch the model file again, or retrain the model`,
    );
    expect(() => deserializeForest(bytes.subarray(0, 20))).toThrow(
      /truncated: it has 20 bytes, fewer than the 52-byte prefix/,
    );
  });

  it("fails on a corrupted file through its checksum", async () => {
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 10] ^= 0x40;
    const read = await roundTripFile("flipped.bin", flipped);
    expect(() => deserializeForest(read)).toThrow(
      /^model file is corrupted: its content has sha256 [0-9a-f]{64} but the file declares [0-9a-f]{64}; fetch the model file again, or retrain the model$/,
    );
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(() => deserializeForest(longer)).toThrow(
      "model file is corrupted: it has 3 bytes after its declared end",
    );
  });

  it("fails on trees that do not fit together, even with a valid checksum", async () => {
    const { createHash } = await import("node:crypto");
    const broken = Uint8Array.from(bytes);
    // The last byte is the last node's split feature: a split there leaves the tree incomplete.
    broken[broken.length - 1] = 0;
    broken.set(createHash("sha256").update(broken.subarray(52)).digest(), 20);
    expect(() => deserializeForest(broken)).toThrow(
      /^model file is corrupted: tree 5: its \d+ nodes do not form one complete binary tree in preorder; fetch the model file again, or retrain the model$/,
    );
  });

  it("fails on another format version, saying which versions", () => {
    const future = Uint8Array.from(bytes);
    new DataView(future.buffer).setUint32(8, MODEL_FORMAT_VERSION + 1, true);
    expect(() => deserializeForest(future)).toThrow(
      `model file has format version ${MODEL_FORMAT_VERSION + 1} but this code reads version ${MODEL_FORMAT_VERSION}; retrain the model with this version of the pipeline, or serve it with the version that wrote it`,
    );
  });

  it("fails on something that is not a model file", () => {
    const json = new TextEncoder().encode(
      JSON.stringify({ hello: "world", padding: "x".repeat(80) }),
    );
    expect(() => deserializeForest(json)).toThrow(
      /^not a forest model file: it starts with .* instead of "HPFOREST"; pass the model file that training wrote$/,
    );
  });

  it("refuses to store a model of another engine", () => {
    const other = { predictOne: () => 0 } as unknown as Forest;
    expect(() => serializeForest(other)).toThrow(
      /ml-random-forest model is saved with its own toJSON\(\)/,
    );
  });
});

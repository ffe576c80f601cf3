// The benchmark's train/test split as plain files, so every side (our engine, sklearn,
// ml-random-forest) reads the identical matrices in its own process: little-endian float64
// x (row-major) and y per side, plus shape.json.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Dataset } from "../../lib/forest/forest.ts";

interface Shape {
  train_rows: number;
  test_rows: number;
  features: number;
  feature_names: string[];
}

function bytesOf(array: Float64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Writes train_x.bin, train_y.bin, test_x.bin, test_y.bin and shape.json into dir. */
export async function writeSplitFiles(dir: string, train: Dataset, test: Dataset): Promise<void> {
  const shape: Shape = {
    train_rows: train.nRows,
    test_rows: test.nRows,
    features: train.nFeatures,
    feature_names: train.featureNames,
  };
  await writeFile(join(dir, "shape.json"), JSON.stringify(shape));
  for (const [side, data] of [
    ["train", train],
    ["test", test],
  ] as const) {
    await writeFile(join(dir, `${side}_x.bin`), bytesOf(data.x));
    await writeFile(join(dir, `${side}_y.bin`), bytesOf(data.y));
  }
}

async function readFloat64(path: string): Promise<Float64Array> {
  const bytes = await readFile(path);
  // A copy: the file's buffer may not be 8-byte aligned.
  return new Float64Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
}

/** Reads what writeSplitFiles wrote. */
export async function readSplitFiles(dir: string): Promise<{ train: Dataset; test: Dataset }> {
  const shape = JSON.parse(await readFile(join(dir, "shape.json"), "utf8")) as Shape;
  const side = async (name: "train" | "test", nRows: number): Promise<Dataset> => ({
    x: await readFloat64(join(dir, `${name}_x.bin`)),
    y: await readFloat64(join(dir, `${name}_y.bin`)),
    nRows,
    nFeatures: shape.features,
    featureNames: shape.feature_names,
  });
  return {
    train: await side("train", shape.train_rows),
    test: await side("test", shape.test_rows),
  };
}

/** Root mean squared error of predictions against targets. */
export function rmse(predictions: ArrayLike<number>, targets: Float64Array): number {
  let squared = 0;
  for (let i = 0; i < targets.length; i++) squared += (predictions[i] - targets[i]) ** 2;
  return Math.sqrt(squared / targets.length);
}

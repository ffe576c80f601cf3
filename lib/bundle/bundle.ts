// The model bundle: the trained model file plus its manifest, the run's experiment record
// (what MLflow would log for a run). Training writes it, the registry stores it, serving loads it.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ForestPredictor } from "../forest/forest.ts";
import { loadMlRandomForest } from "../forest/ml-random-forest.ts";
import { deserializeForest } from "../forest/model-file.ts";
import { sha256 } from "../io/files.ts";
import type { FeatureSchema } from "../schema/features.ts";

export const MODEL_NAME = "house-price";
/** The model file format of the ml-random-forest engine: the package's own JSON export. */
export const ML_RANDOM_FOREST_FORMAT = "ml-random-forest-json";
export const BUNDLE_FILES = {
  model: "model.bin",
  manifest: "manifest.json",
  metrics: "metrics.json",
} as const;

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number;
}

export interface ModelMetrics {
  train: RegressionMetrics;
  oob: { rmse: number } | null;
  validation: RegressionMetrics;
}

export interface ModelManifest {
  name: string;
  /** Set by the registry when the bundle is registered, e.g. v1.2.0. */
  version?: string;
  engine: { name: string; version: string };
  params: Record<string, unknown>;
  metrics: ModelMetrics;
  featureImportances: Record<string, number>;
  featureSchema: FeatureSchema;
  data: { inputSha256: string; featuresSha256: string; trainRows: number; testRows: number };
  git: { commit: string | null };
  run: { id: string; url: string } | null;
  createdAt: string;
  durations: Record<string, number>;
  model: { file: string; sha256: string; bytes: number; format: string };
}

export interface LoadedBundle {
  manifest: ModelManifest;
  model: ForestPredictor;
}

/** Loads a bundle folder, checking the model file against the manifest's sha256 and schema. */
export async function readBundle(dir: string): Promise<LoadedBundle> {
  const manifestPath = join(dir, BUNDLE_FILES.manifest);
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, "utf8")) as ModelManifest;
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message;
    throw new Error(
      `${manifestPath}: ${reason}; expected a model bundle (model.bin + manifest.json)`,
    );
  }
  const modelPath = join(dir, manifest.model?.file ?? BUNDLE_FILES.model);
  const bytes = await readFile(modelPath).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${modelPath}: ${error.code === "ENOENT" ? "not found" : error.message}`);
  });
  const actual = sha256(bytes);
  if (actual !== manifest.model.sha256) {
    throw new Error(
      `${modelPath}: sha256 ${actual} does not match the manifest's ${manifest.model.sha256}; the file is corrupt or belongs to another bundle`,
    );
  }
  const model =
    manifest.model.format === ML_RANDOM_FOREST_FORMAT
      ? loadMlRandomForest(JSON.parse(bytes.toString("utf8")), manifest.featureSchema.features)
      : deserializeForest(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const expected = manifest.featureSchema.features;
  if (
    model.nFeatures !== expected.length ||
    model.featureNames.some((name, i) => name !== expected[i])
  ) {
    throw new Error(
      `${modelPath}: the model's features (${model.featureNames.join(", ")}) differ from the manifest's feature schema (${expected.join(", ")})`,
    );
  }
  return { manifest, model };
}

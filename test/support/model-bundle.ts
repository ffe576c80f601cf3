import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256 } from "../../lib/io/files.ts";
import { buildFeatureSchema, type FeatureSchema } from "../../lib/schema/features.ts";

// Small model bundles for tests: random model bytes with a manifest that describes them.

export interface FixtureBundleOptions {
  name?: string;
  /** The commit that "produced" the model (40 hex). */
  commit: string;
  modelBytes?: Uint8Array;
  validationRmse?: number;
  /** Override to simulate an incompatible feature schema. */
  featureSchema?: FeatureSchema;
  runUrl?: string | null;
}

export interface FixtureBundle {
  dir: string;
  modelSha256: string;
  modelBytes: Uint8Array;
}

/** Writes model.bin, manifest.json and metrics.json into `dir`. */
export async function writeModelBundle(
  dir: string,
  options: FixtureBundleOptions,
): Promise<FixtureBundle> {
  await mkdir(dir, { recursive: true });
  const modelBytes = options.modelBytes ?? randomBytes(2048);
  const featureSchema = options.featureSchema ?? buildFeatureSchema({ total_bedrooms: 435 });
  const rmse = options.validationRmse ?? 48_000 + Math.round(Math.random() * 1000);
  const metrics = {
    train: { rmse: rmse * 0.4, mae: rmse * 0.3, r2: 0.95 },
    oob: { rmse: rmse * 1.01 },
    validation: { rmse, mae: rmse * 0.7, r2: 0.82 },
  };
  const modelSha256 = sha256(modelBytes);
  const runUrl = options.runUrl === undefined ? "https://ci.invalid/runs/42" : options.runUrl;
  const manifest = {
    name: options.name ?? "house-price",
    engine: { name: "ml-random-forest", version: "2.1.0" },
    params: { nEstimators: 50, maxDepth: 12, seed: 7 },
    metrics,
    featureImportances: Object.fromEntries(
      featureSchema.features.map((feature) => [feature, 0.05]),
    ),
    featureSchema,
    data: {
      inputSha256: sha256("input"),
      featuresSha256: sha256("features"),
      trainRows: 800,
      testRows: 200,
    },
    git: { commit: options.commit },
    run: runUrl ? { id: "42", url: runUrl } : null,
    createdAt: new Date().toISOString(),
    durations: {},
    model: {
      file: "model.bin",
      sha256: modelSha256,
      bytes: modelBytes.length,
      format: "ml-random-forest-json",
    },
  };
  await writeFile(join(dir, "model.bin"), modelBytes);
  await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(dir, "metrics.json"), `${JSON.stringify(metrics, null, 2)}\n`);
  return { dir, modelSha256, modelBytes };
}

// The model bundle: the one contract between training, the registry, evaluation, deployment and
// serving. A bundle is a folder with the model file, manifest.json (the run's experiment record,
// what MLflow would log for a run) and metrics.json. Names, the manifest's schema, and reading,
// writing and verifying a bundle live here and nowhere else.
import { readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import type { ForestPredictor } from "../forest/forest.ts";
import { loadMlRandomForest } from "../forest/ml-random-forest.ts";
import { deserializeForest } from "../forest/model-file.ts";
import {
  produceDirAtomic,
  sha256,
  sha256File,
  writeFileAtomic,
  writeJsonAtomic,
} from "../io/files.ts";
import { featureSchemaSchema } from "../schema/features.ts";

/** The model's name: the GTO artifact, the release titles, the manifest's `name`. */
export const MODEL_NAME = "house-price";

/** The registry stages a version moves through. */
export const STAGES = { staging: "staging", production: "production" } as const;

export const BUNDLE_FILES = {
  model: "model.bin",
  manifest: "manifest.json",
  metrics: "metrics.json",
} as const;

/** Files every registered version must carry: without them it cannot be deployed or audited. */
export const REQUIRED_FILES = [BUNDLE_FILES.model, BUNDLE_FILES.manifest, BUNDLE_FILES.metrics];

/** The model file format of the ml-random-forest engine: the package's own JSON export. */
export const ML_RANDOM_FOREST_FORMAT = "ml-random-forest-json";

const finite = z.number().refine(Number.isFinite, "expected a finite number");
const sha = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex characters (a sha256)");

export const regressionMetricsSchema = z.looseObject({ rmse: finite, mae: finite, r2: finite });
export type RegressionMetrics = z.infer<typeof regressionMetricsSchema>;

export const modelMetricsSchema = z.looseObject({
  train: regressionMetricsSchema,
  /** Null for engines that cannot tell (ml-random-forest). */
  oob: z.looseObject({ rmse: finite }).nullable(),
  validation: regressionMetricsSchema,
});
export type ModelMetrics = z.infer<typeof modelMetricsSchema>;

/** manifest.json. Loose objects: a newer trainer may add fields an older reader ignores. */
export const manifestSchema = z.looseObject({
  name: z.string().min(1),
  /** Set when the bundle comes from the registry, e.g. v1.2.0. */
  version: z.string().optional(),
  engine: z.looseObject({ name: z.string(), version: z.string() }),
  params: z.record(z.string(), z.unknown()),
  metrics: modelMetricsSchema,
  featureImportances: z.record(z.string(), z.number()),
  featureSchema: featureSchemaSchema,
  data: z.looseObject({
    inputSha256: sha,
    featuresSha256: sha,
    trainRows: z.number().int().nonnegative(),
    testRows: z.number().int().nonnegative(),
  }),
  git: z.looseObject({
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}$/, "expected a 40-hex commit id")
      .nullable(),
  }),
  run: z.looseObject({ id: z.string(), url: z.string() }).nullable(),
  createdAt: z.string(),
  durations: z.record(z.string(), z.number()),
  model: z.looseObject({
    file: z
      .string()
      .refine((file) => basename(file) === file, "must be a file name inside the bundle"),
    sha256: sha,
    bytes: z.number().int().nonnegative(),
    format: z.string(),
  }),
});
export type ModelManifest = z.infer<typeof manifestSchema>;

/** A verified bundle: its files exist and the model file's size and sha256 match the manifest. */
export interface VerifiedBundle {
  dir: string;
  manifest: ModelManifest;
  modelPath: string;
  /** The bundle's files as release assets: model file, manifest.json, metrics.json. */
  files: { name: string; path: string }[];
}

/** A verified bundle with its model loaded, ready to predict. */
export interface LoadedBundle extends VerifiedBundle {
  model: ForestPredictor;
}

function describeValue(root: unknown, path: PropertyKey[]): string {
  let value: unknown = root;
  for (const key of path) {
    value =
      value && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return value === undefined ? "missing" : (JSON.stringify(value)?.slice(0, 80) ?? "undefined");
}

/** Checks a parsed manifest.json; `where` names it in the error. */
export function parseManifest(raw: unknown, where: string): ModelManifest {
  const parsed = manifestSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) =>
      `${issue.path.join(".") || "(root)"}: ${issue.message} (found ${describeValue(raw, issue.path)})`,
  );
  throw new Error(`${where}: not a valid model manifest:\n  ${problems.join("\n  ")}`);
}

/** Reads and checks `dir`/manifest.json. */
export async function readManifest(dir: string): Promise<ModelManifest> {
  const path = join(dir, BUNDLE_FILES.manifest);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message;
    throw new Error(`${path}: ${reason}; expected a model bundle (model.bin + manifest.json)`);
  }
  return parseManifest(raw, path);
}

/** Writes a bundle folder atomically: all three files or, on failure, none. */
export async function writeBundle(
  dir: string,
  bundle: { model: Uint8Array; manifest: ModelManifest },
): Promise<ModelManifest> {
  const manifest = parseManifest(bundle.manifest, join(dir, BUNDLE_FILES.manifest));
  await produceDirAtomic(dir, async (temp) => {
    await writeFileAtomic(join(temp, manifest.model.file), bundle.model);
    await writeJsonAtomic(join(temp, BUNDLE_FILES.manifest), manifest);
    await writeJsonAtomic(join(temp, BUNDLE_FILES.metrics), manifest.metrics);
  });
  return manifest;
}

/** Verifies a bundle folder without loading the model: files present, size and sha256 as declared. */
export async function verifyBundle(dir: string): Promise<VerifiedBundle> {
  const manifest = await readManifest(dir);
  const manifestPath = join(dir, BUNDLE_FILES.manifest);
  const modelPath = join(dir, manifest.model.file);
  const metricsPath = join(dir, BUNDLE_FILES.metrics);
  for (const path of [modelPath, metricsPath]) {
    await stat(path).catch(() => {
      throw new Error(`${path}: missing from the model bundle ${dir}`);
    });
  }
  const bytes = (await stat(modelPath)).size;
  if (bytes !== manifest.model.bytes) {
    throw new Error(
      `${modelPath}: has ${bytes} bytes but ${manifestPath} model.bytes says ${manifest.model.bytes}`,
    );
  }
  const actual = await sha256File(modelPath);
  if (actual !== manifest.model.sha256) {
    throw new Error(
      `${modelPath}: sha256 is ${actual} but ${manifestPath} model.sha256 says ${manifest.model.sha256}; the file does not match its manifest (corrupt, or from another bundle)`,
    );
  }
  return {
    dir,
    manifest,
    modelPath,
    files: [
      { name: manifest.model.file, path: modelPath },
      { name: BUNDLE_FILES.manifest, path: manifestPath },
      { name: BUNDLE_FILES.metrics, path: metricsPath },
    ],
  };
}

/** Loads a bundle folder: verifies it, then reads the model and checks it against the feature schema. */
export async function readBundle(dir: string): Promise<LoadedBundle> {
  const verified = await verifyBundle(dir);
  const { manifest, modelPath } = verified;
  const bytes = await readFile(modelPath);
  // The file may have changed since it was verified (a deploy swapping it): check these bytes.
  if (sha256(bytes) !== manifest.model.sha256) {
    throw new Error(`${modelPath}: changed while it was being read; try again`);
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
  return { ...verified, model };
}

import { readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { sha256, sha256File } from "../io/files.ts";
import type { Lineage } from "../registry/types.ts";
import type { FeatureSchema } from "../schema/features.ts";

// The model bundle a training run leaves behind: model.bin, manifest.json and metrics.json.

export const MODEL_FILE = "model.bin";
export const MANIFEST_FILE = "manifest.json";
export const METRICS_FILE = "metrics.json";
/** Files every release must carry: without them a version cannot be deployed or audited. */
export const REQUIRED_ASSETS = [MODEL_FILE, MANIFEST_FILE, METRICS_FILE];

const finite = z.number().refine(Number.isFinite, "expected a finite number");
const sha = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex characters (a sha256)");

const manifestSchema = z.looseObject({
  name: z.string().min(1),
  engine: z.looseObject({ name: z.string(), version: z.string() }),
  params: z.record(z.string(), z.unknown()),
  metrics: z.looseObject({
    train: z.looseObject({ rmse: finite, mae: finite, r2: finite }),
    // Null for engines that cannot tell (ml-random-forest).
    oob: z.looseObject({ rmse: finite }).nullable(),
    validation: z.looseObject({ rmse: finite, mae: finite, r2: finite }),
  }),
  featureImportances: z.record(z.string(), z.number()).optional(),
  featureSchema: z.looseObject({
    features: z.array(z.string()).min(1),
    category: z.looseObject({ column: z.string(), values: z.array(z.string()) }),
    numericInputs: z.array(z.string()).optional(),
    ratios: z
      .array(z.looseObject({ name: z.string(), numerator: z.string(), denominator: z.string() }))
      .optional(),
  }),
  data: z.looseObject({ inputSha256: sha, featuresSha256: sha }),
  git: z.looseObject({ commit: z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-hex commit id") }),
  run: z
    .looseObject({ id: z.union([z.string(), z.number()]), url: z.string() })
    .nullable()
    .optional(),
  createdAt: z.string(),
  model: z.looseObject({ file: z.string(), sha256: sha, bytes: z.number().int().nonnegative() }),
});

export type BundleManifest = z.infer<typeof manifestSchema>;

export interface ModelBundle {
  dir: string;
  manifest: BundleManifest;
  modelPath: string;
  /** The bundle's release assets: model file, manifest.json, metrics.json. */
  files: { name: string; path: string }[];
  lineage: Lineage;
}

function describeValue(root: unknown, path: PropertyKey[]): string {
  let value: unknown = root;
  for (const key of path) {
    value =
      value && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return value === undefined ? "missing" : JSON.stringify(value)?.slice(0, 80);
}

/** Reads and checks a model bundle: manifest fields present, model file bytes and sha256 as declared. */
export async function readModelBundle(dir: string): Promise<ModelBundle> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(manifestPath, "utf8"));
  } catch (error) {
    throw new Error(
      `${manifestPath}: cannot read the bundle manifest: ${(error as Error).message}`,
    );
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) =>
        `${issue.path.join(".") || "(root)"}: ${issue.message} (found ${describeValue(raw, issue.path)})`,
    );
    throw new Error(`${manifestPath}: not a valid model manifest:\n  ${problems.join("\n  ")}`);
  }
  const manifest = parsed.data;
  if (basename(manifest.model.file) !== manifest.model.file) {
    throw new Error(
      `${manifestPath}: model.file "${manifest.model.file}" must be a file name inside the bundle, e.g. "${MODEL_FILE}"`,
    );
  }
  const modelPath = join(dir, manifest.model.file);
  const metricsPath = join(dir, METRICS_FILE);
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
  const modelSha = await sha256File(modelPath);
  if (modelSha !== manifest.model.sha256) {
    throw new Error(
      `${modelPath}: sha256 is ${modelSha} but ${manifestPath} model.sha256 says ${manifest.model.sha256}`,
    );
  }
  return {
    dir,
    manifest,
    modelPath,
    files: [
      { name: manifest.model.file, path: modelPath },
      { name: MANIFEST_FILE, path: manifestPath },
      { name: METRICS_FILE, path: metricsPath },
    ],
    lineage: lineageFromManifest(manifest),
  };
}

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The parts of a FeatureSchema that callers depend on. */
type SchemaContract = Pick<FeatureSchema, "features"> & {
  category: Pick<FeatureSchema["category"], "column" | "values">;
} & Partial<Pick<FeatureSchema, "numericInputs" | "ratios">>;

/** sha256 of what callers must send: ordered features, vocabulary and derived-feature definitions. */
export function featureContractSha256(schema: SchemaContract): string {
  return sha256(
    canonicalJson({
      features: schema.features,
      category: { column: schema.category.column, values: schema.category.values },
      numericInputs: schema.numericInputs ?? null,
      ratios: schema.ratios ?? null,
    }),
  );
}

/** The lineage recorded in a registration tag, taken from a bundle manifest. */
export function lineageFromManifest(manifest: BundleManifest): Lineage {
  const { train, oob, validation } = manifest.metrics;
  return {
    model: { ...manifest.model },
    engine: { name: manifest.engine.name, version: manifest.engine.version },
    params: manifest.params,
    metrics: {
      train: { rmse: train.rmse, mae: train.mae, r2: train.r2 },
      oob: oob ? { rmse: oob.rmse } : null,
      validation: { rmse: validation.rmse, mae: validation.mae, r2: validation.r2 },
    },
    data: { inputSha256: manifest.data.inputSha256, featuresSha256: manifest.data.featuresSha256 },
    featureSchemaSha256: sha256(canonicalJson(manifest.featureSchema)),
    featureContractSha256: featureContractSha256(manifest.featureSchema),
    features: [...manifest.featureSchema.features],
    git: { commit: manifest.git.commit },
    run: manifest.run ? { id: String(manifest.run.id), url: manifest.run.url } : null,
    trainedAt: manifest.createdAt,
  };
}

/** The lineage inside a tag message's JSON block, or null when it is not one. */
export function lineageFromTagData(data: unknown): Lineage | null {
  if (!data || typeof data !== "object") return null;
  const lineage = (data as { lineage?: unknown }).lineage;
  if (!lineage || typeof lineage !== "object") return null;
  const model = (lineage as { model?: { sha256?: unknown } }).model;
  return typeof model?.sha256 === "string" ? (lineage as Lineage) : null;
}

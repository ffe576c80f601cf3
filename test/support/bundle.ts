// Small trained model bundles for tests: a synthetic housing dataset built with the schema's own
// featureVector, a few trees trained by the real forest engine, and a bundle folder (model.bin,
// manifest.json, metrics.json) whose manifest checksum matches, as the train stage writes it.
import {
  BUNDLE_FILES,
  MODEL_NAME,
  type ModelManifest,
  writeBundle,
} from "../../lib/bundle/bundle.ts";
import { regressionMetrics } from "../../lib/bundle/metrics.ts";
import type { Dataset, Forest } from "../../lib/forest/forest.ts";
import { FOREST_FORMAT, serializeForest } from "../../lib/forest/model-file.ts";
import { DEFAULT_FOREST_PARAMS, type ForestParams } from "../../lib/forest/params.ts";
import { trainForest } from "../../lib/forest/train.ts";
import { sha256 } from "../../lib/io/files.ts";
import {
  buildFeatureSchema,
  type FeatureSchema,
  featureVector,
  OCEAN_PROXIMITY_VALUES,
  type RawRecord,
} from "../../lib/schema/features.ts";

/** The imputation values of test schemas (total_bedrooms' median, as ingest would compute it). */
export const TEST_IMPUTATION = { total_bedrooms: 435 };

/** The feature schema test bundles are trained with. */
export function testSchema(): FeatureSchema {
  return buildFeatureSchema({ ...TEST_IMPUTATION });
}

export type TestRecord = RawRecord & { ocean_proximity: string };

/** A plausible raw record inside the ingest rules' ranges; `i` varies it deterministically. */
export function sampleRecord(i: number): TestRecord {
  return {
    longitude: -124 + ((i * 7) % 90) / 10,
    latitude: 33 + ((i * 13) % 80) / 10,
    housing_median_age: 1 + (i % 52),
    total_rooms: 500 + ((i * 37) % 4000),
    total_bedrooms: 100 + ((i * 13) % 600),
    population: 200 + ((i * 17) % 3000),
    households: 80 + ((i * 11) % 700),
    median_income: 0.5 + ((i * 7) % 140) / 10,
    ocean_proximity: OCEAN_PROXIMITY_VALUES[i % OCEAN_PROXIMITY_VALUES.length],
  };
}

/** A synthetic price that depends on income, location and proximity, like the real data. */
function samplePrice(record: TestRecord, seed: number): number {
  const proximity = OCEAN_PROXIMITY_VALUES.indexOf(record.ocean_proximity);
  return (
    40_000 +
    38_000 * (record.median_income ?? 0) +
    [60_000, -30_000, 150_000, 90_000, 70_000][proximity] -
    4_000 * ((record.latitude ?? 33) - 33) +
    200 * (record.housing_median_age ?? 0) +
    seed * 1_000
  );
}

/** `rows` synthetic records featurized with featureVector, with their prices. */
export function syntheticDataset(rows: number, schema: FeatureSchema, seed = 0): Dataset {
  const nFeatures = schema.features.length;
  const x = new Float64Array(rows * nFeatures);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const record = sampleRecord(i + seed * 7);
    featureVector(record, schema, x.subarray(i * nFeatures, (i + 1) * nFeatures));
    y[i] = samplePrice(record, seed);
  }
  return { x, y, nRows: rows, nFeatures, featureNames: [...schema.features] };
}

export interface TestForestOptions {
  /** Trees (default 5). */
  trees?: number;
  /** Training rows (default 400). */
  rows?: number;
  /** Varies the data and the forest's seed, so two seeds give two different models. */
  seed?: number;
  params?: Partial<ForestParams>;
  schema?: FeatureSchema;
}

/** Trains a small forest on synthetic data with the real engine (one worker thread). */
export async function trainTestForest(
  options: TestForestOptions = {},
): Promise<{ forest: Forest; data: Dataset; schema: FeatureSchema }> {
  const schema = options.schema ?? testSchema();
  const seed = options.seed ?? 0;
  const data = syntheticDataset(options.rows ?? 400, schema, seed);
  const params: ForestParams = {
    ...DEFAULT_FOREST_PARAMS,
    nEstimators: options.trees ?? 5,
    maxDepth: 8,
    seed: 42 + seed,
    ...options.params,
  };
  const forest = await trainForest(data, params, { workers: 1 });
  return { forest, data, schema };
}

/** Writes a bundle folder for `forest` atomically, with a manifest the registry also accepts. */
export async function writeTestBundle(
  dir: string,
  forest: Forest,
  options: {
    schema?: FeatureSchema;
    data?: Dataset;
    version?: string;
    createdAt?: string;
    /** The commit that "produced" it (default a made-up id); the registry needs a real one. */
    commit?: string;
  } = {},
): Promise<ModelManifest> {
  const schema = options.schema ?? testSchema();
  const bytes = serializeForest(forest);
  const data = options.data;
  const fit = data
    ? regressionMetrics(data.y, forest.predict(data.x, data.nRows))
    : { rmse: 0, mae: 0, r2: 0 };
  const metrics = { train: fit, oob: { rmse: fit.rmse }, validation: fit };
  const importances = forest.featureImportances();
  const manifest: ModelManifest = {
    name: MODEL_NAME,
    ...(options.version === undefined ? {} : { version: options.version }),
    engine: { name: "forest", version: `${FOREST_FORMAT}` },
    params: { ...forest.params },
    metrics,
    featureImportances: Object.fromEntries(
      schema.features.map((name, f) => [name, importances[f]]),
    ),
    featureSchema: schema,
    data: {
      inputSha256: sha256("synthetic test data"),
      featuresSha256: forest.trainingDataSha256,
      trainRows: forest.trainingRows,
      testRows: 0,
    },
    git: { commit: options.commit ?? sha256("test commit").slice(0, 40) },
    run: null,
    createdAt: options.createdAt ?? new Date().toISOString(),
    durations: {},
    model: {
      file: BUNDLE_FILES.model,
      sha256: sha256(bytes),
      bytes: bytes.byteLength,
      format: FOREST_FORMAT,
    },
  };
  return writeBundle(dir, { model: bytes, manifest });
}

/** Trains a small forest and writes its bundle to `dir`. */
export async function makeTestBundle(
  dir: string,
  options: TestForestOptions & { version?: string; commit?: string } = {},
): Promise<{ manifest: ModelManifest; forest: Forest; schema: FeatureSchema; data: Dataset }> {
  const { forest, data, schema } = await trainTestForest(options);
  const manifest = await writeTestBundle(dir, forest, {
    schema,
    data,
    version: options.version,
    commit: options.commit,
  });
  return { manifest, forest, schema, data };
}

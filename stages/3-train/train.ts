// The train stage: features -> a trained forest written as a model bundle (model file +
// manifest with params, metrics, importances, schema and lineage).
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  BUNDLE_FILES,
  ML_RANDOM_FOREST_FORMAT,
  MODEL_NAME,
  type ModelManifest,
  writeBundle,
} from "../../lib/bundle/bundle.ts";
import { type Dataset, loadSplit } from "../../lib/bundle/dataset.ts";
import { regressionMetrics } from "../../lib/bundle/metrics.ts";
import type { Shard } from "../../lib/cli/settings.ts";
import { Forest, type ForestPredictor, mergeForests, oobRmse } from "../../lib/forest/forest.ts";
import {
  type MlRandomForestModel,
  trainWithMlRandomForest,
} from "../../lib/forest/ml-random-forest.ts";
import { deserializeForest, FOREST_FORMAT, serializeForest } from "../../lib/forest/model-file.ts";
import type { ForestParams } from "../../lib/forest/params.ts";
import { trainForest } from "../../lib/forest/train.ts";
import { produceDirAtomic, sha256, writeFileAtomic, writeJsonAtomic } from "../../lib/io/files.ts";
import { packageVersion } from "../../lib/io/versions.ts";
import type { Engine } from "../../lib/params/params.ts";
import { FEATURES_FILES } from "../../lib/schema/features.ts";
import type { FeaturesReport } from "../2-features/features.ts";

export interface TrainContext {
  /** The commit that produced the model (the adapter passes GITHUB_SHA); git's HEAD when absent. */
  commit?: string | null;
  run?: { id: string; url: string } | null;
}

export interface TrainOptions {
  featuresDir: string;
  outDir: string;
  params: ForestParams & { engine?: Engine };
  /** Train only shard `index` of `count` (trees split evenly); merge the shards with runMerge. */
  shard?: Shard;
  workers?: number;
  context?: TrainContext;
  onProgress?: (done: number, total: number) => void;
}

export const SHARD_FILE = "shard.json";

/** A one-line summary of a trained bundle. */
export function describeModel(manifest: ModelManifest): string {
  const { validation, oob } = manifest.metrics;
  return `${manifest.params.nEstimators} trees; validation RMSE ${validation.rmse.toFixed(0)}, MAE ${validation.mae.toFixed(0)}, R² ${validation.r2.toFixed(3)}${oob ? `; OOB RMSE ${oob.rmse.toFixed(0)}` : ""}`;
}

/** What training one shard yields: its index and the trees it grew, [start, end). */
export interface ShardResult {
  shard: number;
  trees: [number, number];
}

/** True when runTrain trained one shard (no bundle yet: merge the shards). */
export function isShardResult(result: ModelManifest | ShardResult): result is ShardResult {
  return typeof result.shard === "number" && Array.isArray(result.trees);
}

/** The trees shard `index` of `count` grows: an even split of the forest's trees. */
export function shardTreeRange(
  nEstimators: number,
  index: number,
  count: number,
): [number, number] {
  if (!Number.isInteger(count) || count < 1 || count > nEstimators) {
    throw new Error(
      `shards: ${count} is not allowed; expected an integer in 1..${nEstimators} (the number of trees)`,
    );
  }
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new Error(`shard index: ${index} is not allowed; expected an integer in 0..${count - 1}`);
  }
  const start = Math.floor((nEstimators * index) / count);
  return [start, Math.floor((nEstimators * (index + 1)) / count)];
}

/** A trained model in the form the bundle stores, whichever engine made it. */
interface TrainedModel {
  predictor: ForestPredictor;
  engine: { name: Engine; version: string };
  bytes: Uint8Array;
  format: string;
  importances: Float64Array | null;
  /** Out-of-bag RMSE; null when the engine cannot tell. */
  oobRmse: number | null;
}

function fromForest(forest: Forest, train: Dataset): TrainedModel {
  return {
    predictor: forest,
    engine: { name: "forest", version: packageVersion() },
    bytes: serializeForest(forest),
    format: FOREST_FORMAT,
    importances: forest.featureImportances(),
    oobRmse: oobRmse(forest, train),
  };
}

function fromMlRandomForest(model: MlRandomForestModel): TrainedModel {
  return {
    predictor: model,
    engine: { name: "ml-random-forest", version: packageVersion("ml-random-forest") },
    bytes: new TextEncoder().encode(JSON.stringify(model.toJSON())),
    format: ML_RANDOM_FOREST_FORMAT,
    importances: null,
    oobRmse: null,
  };
}

/** Trains the forest (or one shard of it) and writes the bundle to outDir. */
export async function runTrain(options: TrainOptions): Promise<ModelManifest | ShardResult> {
  const started = Date.now();
  const { engine = "forest", ...params } = options.params;
  const { train, test, schema } = await loadSplit(options.featuresDir);
  let model: Forest | MlRandomForestModel;
  if (engine === "ml-random-forest") {
    if (options.shard) {
      throw new Error("shard: the ml-random-forest engine cannot be sharded; use engine forest");
    }
    model = trainWithMlRandomForest(train, params);
  } else {
    const range = options.shard
      ? shardTreeRange(params.nEstimators, options.shard.index, options.shard.count)
      : undefined;
    model = await trainForest(train, params, {
      workers: options.workers,
      treeRange: range,
      onProgress: options.onProgress,
    });
    if (options.shard && range) {
      const shard: ShardResult = { shard: options.shard.index, trees: range };
      const fitSeconds = (Date.now() - started) / 1000;
      const bytes = serializeForest(model);
      await produceDirAtomic(options.outDir, async (dir) => {
        await writeFileAtomic(join(dir, BUNDLE_FILES.model), bytes);
        await writeJsonAtomic(join(dir, SHARD_FILE), {
          ...shard,
          of: options.shard?.count,
          fitSeconds,
        });
      });
      return shard;
    }
  }
  const fitSeconds = (Date.now() - started) / 1000;
  const trained = model instanceof Forest ? fromForest(model, train) : fromMlRandomForest(model);
  return writeTrainedBundle(trained, {
    ...options,
    params,
    train,
    test,
    schema,
    durations: { fitSeconds },
  });
}

/** Merges trained shards (folders written by runTrain with `shard`) into one bundle. */
export async function runMerge(options: {
  shardDirs: string[];
  featuresDir: string;
  outDir: string;
  context?: TrainContext;
}): Promise<ModelManifest> {
  const shards: Forest[] = [];
  for (const dir of options.shardDirs) {
    const path = join(dir, BUNDLE_FILES.model);
    const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        `${path}: ${error.code === "ENOENT" ? "not found; train the shard first" : error.message}`,
      );
    });
    shards.push(
      deserializeForest(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
    );
  }
  const forest = mergeForests(shards);
  const { train, test, schema } = await loadSplit(options.featuresDir);
  return writeTrainedBundle(fromForest(forest, train), {
    ...options,
    params: forest.params,
    train,
    test,
    schema,
    durations: {},
  });
}

async function writeTrainedBundle(
  model: TrainedModel,
  options: {
    featuresDir: string;
    outDir: string;
    params: ForestParams;
    context?: TrainContext;
    train: Dataset;
    test: Dataset;
    schema: ModelManifest["featureSchema"];
    durations: Record<string, number>;
  },
): Promise<ModelManifest> {
  const { train, test, schema } = options;
  const scoring = Date.now();
  const metrics = {
    train: regressionMetrics(train.y, model.predictor.predict(train.x, train.nRows)),
    oob: model.oobRmse === null ? null : { rmse: model.oobRmse },
    validation: regressionMetrics(test.y, model.predictor.predict(test.x, test.nRows)),
  };
  const { bytes, importances } = model;
  const featuresReport = JSON.parse(
    await readFile(join(options.featuresDir, FEATURES_FILES.report), "utf8"),
  ) as FeaturesReport;
  const manifest: ModelManifest = {
    name: MODEL_NAME,
    engine: model.engine,
    params: { ...options.params },
    metrics,
    featureImportances: importances
      ? Object.fromEntries(schema.features.map((name, f) => [name, importances[f]]))
      : {},
    featureSchema: schema,
    data: {
      inputSha256: featuresReport.input.rawSha256,
      featuresSha256: featuresReport.outputs.features.sha256,
      trainRows: train.nRows,
      testRows: test.nRows,
    },
    git: { commit: options.context?.commit ?? (await currentCommit()) },
    run: options.context?.run ?? null,
    createdAt: new Date().toISOString(),
    durations: { ...options.durations, scoreSeconds: (Date.now() - scoring) / 1000 },
    model: {
      file: BUNDLE_FILES.model,
      sha256: sha256(bytes),
      bytes: bytes.byteLength,
      format: model.format,
    },
  };
  return writeBundle(options.outDir, { model: bytes, manifest });
}

/** The commit checked out in `dir` (git's HEAD), or null outside a git checkout. */
export async function currentCommit(dir = process.cwd()): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)("git", ["rev-parse", "HEAD"], { cwd: dir });
    return stdout.trim();
  } catch {
    return null;
  }
}

// The train stage: features -> a trained forest written as a model bundle (model file +
// manifest with params, metrics, importances, schema and lineage).
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { FEATURES_FILES, type FeaturesReport } from "../features/features.ts";
import { type Forest, mergeForests, oobRmse } from "../forest/forest.ts";
import { deserializeForest, FOREST_FORMAT, serializeForest } from "../forest/model-file.ts";
import type { ForestParams } from "../forest/params.ts";
import { trainForest } from "../forest/train.ts";
import { produceDirAtomic, sha256, writeFileAtomic, writeJsonAtomic } from "../io/files.ts";
import { BUNDLE_FILES, MODEL_NAME, type ModelManifest } from "./bundle.ts";
import { type Dataset, loadSplit } from "./dataset.ts";
import { regressionMetrics } from "./metrics.ts";

export interface TrainContext {
  /** The commit that produced the model; read from git or GITHUB_SHA when absent. */
  commit?: string | null;
  run?: { id: string; url: string } | null;
}

export interface TrainOptions {
  featuresDir: string;
  outDir: string;
  params: ForestParams;
  /** Train only shard `index` of `count` (trees split evenly); merge the shards with runMerge. */
  shard?: { index: number; count: number };
  workers?: number;
  context?: TrainContext;
  onProgress?: (done: number, total: number) => void;
}

export const SHARD_FILE = "shard.json";

/** The trees shard `index` of `count` grows: an even split of the forest's trees. */
export function shardTreeRange(nEstimators: number, index: number, count: number): [number, number] {
  if (!Number.isInteger(count) || count < 1 || count > nEstimators) {
    throw new Error(`shards: ${count} is not allowed; expected an integer in 1..${nEstimators} (the number of trees)`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new Error(`shard index: ${index} is not allowed; expected an integer in 0..${count - 1}`);
  }
  const start = Math.floor((nEstimators * index) / count);
  return [start, Math.floor((nEstimators * (index + 1)) / count)];
}

/** Trains the forest (or one shard of it) and writes the bundle to outDir. */
export async function runTrain(options: TrainOptions): Promise<ModelManifest | { shard: number; trees: [number, number] }> {
  const started = Date.now();
  const { train, test, schema } = await loadSplit(options.featuresDir);
  const range = options.shard
    ? shardTreeRange(options.params.nEstimators, options.shard.index, options.shard.count)
    : undefined;
  const forest = await trainForest(train, options.params, {
    workers: options.workers,
    treeRange: range,
    onProgress: options.onProgress,
  });
  const fitSeconds = (Date.now() - started) / 1000;
  if (options.shard && range) {
    const shard = { shard: options.shard.index, trees: range };
    await produceDirAtomic(options.outDir, async (dir) => {
      await writeFileAtomic(join(dir, BUNDLE_FILES.model), serializeForest(forest));
      await writeJsonAtomic(join(dir, SHARD_FILE), { ...shard, of: options.shard?.count, fitSeconds });
    });
    return shard;
  }
  return writeBundle(forest, { ...options, train, test, schema, durations: { fitSeconds } });
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
      throw new Error(`${path}: ${error.code === "ENOENT" ? "not found; train the shard first" : error.message}`);
    });
    shards.push(deserializeForest(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  }
  const forest = mergeForests(shards);
  const { train, test, schema } = await loadSplit(options.featuresDir);
  return writeBundle(forest, {
    ...options,
    params: forest.params,
    train,
    test,
    schema,
    durations: {},
  });
}

async function writeBundle(
  forest: Forest,
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
    train: regressionMetrics(train.y, forest.predict(train.x, train.nRows)),
    oob: { rmse: oobRmse(forest, train) },
    validation: regressionMetrics(test.y, forest.predict(test.x, test.nRows)),
  };
  const importances = forest.featureImportances();
  const bytes = serializeForest(forest);
  const featuresReport = JSON.parse(
    await readFile(join(options.featuresDir, FEATURES_FILES.report), "utf8"),
  ) as FeaturesReport;
  const manifest: ModelManifest = {
    name: MODEL_NAME,
    engine: { name: "forest", version: `${FOREST_FORMAT}` },
    params: { ...options.params },
    metrics,
    featureImportances: Object.fromEntries(schema.features.map((name, f) => [name, importances[f]])),
    featureSchema: schema,
    data: {
      inputSha256: featuresReport.input.rawSha256,
      featuresSha256: featuresReport.outputs.features.sha256,
      trainRows: train.nRows,
      testRows: test.nRows,
    },
    git: { commit: options.context?.commit ?? (await currentCommit()) },
    run: options.context?.run ?? runFromEnvironment(),
    createdAt: new Date().toISOString(),
    durations: { ...options.durations, scoreSeconds: (Date.now() - scoring) / 1000 },
    model: { file: BUNDLE_FILES.model, sha256: sha256(bytes), bytes: bytes.byteLength, format: FOREST_FORMAT },
  };
  await produceDirAtomic(options.outDir, async (dir) => {
    await writeFileAtomic(join(dir, BUNDLE_FILES.model), bytes);
    await writeJsonAtomic(join(dir, BUNDLE_FILES.manifest), manifest);
    await writeJsonAtomic(join(dir, BUNDLE_FILES.metrics), metrics);
  });
  return manifest;
}

/** The commit checked out in the current folder: GITHUB_SHA inside Actions, else git's HEAD. */
export async function currentCommit(): Promise<string | null> {
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  try {
    const { stdout } = await promisify(execFile)("git", ["rev-parse", "HEAD"]);
    return stdout.trim();
  } catch {
    return null;
  }
}

/** The Actions run (id and URL) when running inside GitHub Actions. */
export function runFromEnvironment(): { id: string; url: string } | null {
  const { GITHUB_RUN_ID, GITHUB_SERVER_URL, GITHUB_REPOSITORY } = process.env;
  if (!GITHUB_RUN_ID || !GITHUB_REPOSITORY) return null;
  return {
    id: GITHUB_RUN_ID,
    url: `${GITHUB_SERVER_URL ?? "https://github.com"}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`,
  };
}

import type { ModelManifest } from "../../lib/bundle/bundle.ts";
import type { Command, OptionSpec } from "../../lib/cli/command.ts";
import { progressPrinter } from "../../lib/io/progress.ts";
import { DEFAULT_PARAMS_FILE, loadParams, PARAM_ALIASES } from "../../lib/params/params.ts";
import { isShardResult, runMerge, runTrain } from "./train.ts";

/** CLI options that override params.json, one per alias (e.g. --trees). */
export const PARAM_OPTIONS: Record<string, OptionSpec> = Object.fromEntries(
  Object.entries(PARAM_ALIASES).map(([alias, path]) => [
    alias,
    { type: "string", value: "VALUE", description: `override ${path}` },
  ]),
);

/** The --features option of the commands that read the features stage's output. */
export const FEATURES_OPTION: OptionSpec = {
  type: "string",
  value: "DIR",
  default: ".pipeline/features",
  description: "features output folder",
};

/** The param overrides given on the command line. */
export function paramOverrides(values: Record<string, string | boolean | undefined>) {
  return Object.fromEntries(
    Object.keys(PARAM_ALIASES).map((alias) => [alias, values[alias] as string | undefined]),
  );
}

/** A one-line summary of a trained bundle. */
export function describeModel(manifest: ModelManifest): string {
  const { validation, oob } = manifest.metrics;
  return `${manifest.params.nEstimators} trees; validation RMSE ${validation.rmse.toFixed(0)}, MAE ${validation.mae.toFixed(0)}, R² ${validation.r2.toFixed(3)}${oob ? `; OOB RMSE ${oob.rmse.toFixed(0)}` : ""}`;
}

function parseShard(text: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match)
    throw new Error(`--shard: "${text}" is not allowed; expected INDEX/COUNT such as 0/2`);
  return { index: Number(match[1]), count: Number(match[2]) };
}

export const trainCommand: Command = {
  name: "train",
  summary: "Train the random forest on the train split and write the model bundle.",
  options: {
    features: FEATURES_OPTION,
    out: { type: "string", value: "DIR", default: ".pipeline/train", description: "bundle folder" },
    params: {
      type: "string",
      value: "FILE",
      default: DEFAULT_PARAMS_FILE,
      description: "params file",
    },
    shard: {
      type: "string",
      value: "K/N",
      description: "train only shard K of N (0-based); merge with `merge`",
    },
    workers: { type: "string", value: "N", description: "worker threads (default: all cores)" },
    ...PARAM_OPTIONS,
  },
  details:
    "Writes model.bin, manifest.json (params, metrics, importances, schema, lineage) and metrics.json.",
  async run(values) {
    const params = await loadParams(values.params as string, paramOverrides(values));
    const result = await runTrain({
      featuresDir: values.features as string,
      outDir: values.out as string,
      params: params.train,
      shard: values.shard ? parseShard(values.shard as string) : undefined,
      workers: values.workers ? Number(values.workers) : undefined,
      onProgress: progressPrinter("train", "trees"),
    });
    if (isShardResult(result))
      console.log(
        `train: shard ${result.shard} grew trees ${result.trees[0]}..${result.trees[1] - 1} -> ${values.out}`,
      );
    else console.log(`train: ${describeModel(result)} -> ${values.out}`);
  },
};

export const mergeCommand: Command = {
  name: "merge",
  summary: "Merge forest shards trained with `train --shard K/N` into one model bundle.",
  options: {
    shards: {
      type: "string",
      value: "DIRS",
      description: "comma-separated shard folders, in shard order",
    },
    features: FEATURES_OPTION,
    out: { type: "string", value: "DIR", default: ".pipeline/train", description: "bundle folder" },
  },
  async run(values) {
    if (!values.shards)
      throw new Error("--shards: required; give the shard folders, e.g. --shards s0,s1");
    const manifest = await runMerge({
      shardDirs: (values.shards as string).split(",").filter(Boolean),
      featuresDir: values.features as string,
      outDir: values.out as string,
    });
    console.log(`merge: ${describeModel(manifest)} -> ${values.out}`);
  },
};

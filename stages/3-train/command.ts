import { Command } from "commander";
import { settingsOf, withSettings } from "../../lib/cli/program.ts";
import type { RunContext } from "../../lib/cli/run-context.ts";
import { progressPrinter } from "../../lib/io/progress.ts";
import { loadParams, paramOverrides } from "../../lib/params/params.ts";
import { MERGE_SETTINGS, TRAIN_SETTINGS } from "./settings.ts";
import { describeModel, isShardResult, runMerge, runTrain } from "./train.ts";

export function trainCommand(context: RunContext): Command {
  return withSettings(new Command("train"), TRAIN_SETTINGS)
    .summary("train the random forest on the train split and write the model bundle")
    .description(
      "Train the random forest on the train split and write the model bundle:\n" +
        "model.bin, manifest.json (params, metrics, importances, schema, lineage) and metrics.json.\n" +
        "Register it with `evaluate --bundle-dir` (or `npm run registry -- register DIR`).",
    )
    .action(async (_options, command: Command) => {
      const settings = settingsOf(TRAIN_SETTINGS, command);
      const params = await loadParams(settings["params-file"], paramOverrides(settings));
      const progress = progressPrinter("train", "trees");
      const result = await runTrain({
        featuresDir: settings["features-dir"],
        outDir: settings["out-dir"],
        params: params.train,
        shard: settings.shard,
        workers: settings.workers,
        context,
        onProgress: progress.update,
      });
      progress.end();
      const out = settings["out-dir"];
      if (isShardResult(result))
        console.log(
          `train: shard ${result.shard} grew trees ${result.trees[0]}..${result.trees[1] - 1} -> ${out}`,
        );
      else console.log(`train: ${describeModel(result)} -> ${out}`);
    });
}

export function mergeCommand(context: RunContext): Command {
  return withSettings(new Command("merge"), MERGE_SETTINGS)
    .summary("merge forest shards trained with `train --shard K/N` into one model bundle")
    .action(async (_options, command: Command) => {
      const settings = settingsOf(MERGE_SETTINGS, command);
      const manifest = await runMerge({
        shardDirs: settings["shard-dirs"],
        featuresDir: settings["features-dir"],
        outDir: settings["out-dir"],
        context,
      });
      console.log(`merge: ${describeModel(manifest)} -> ${settings["out-dir"]}`);
    });
}

import { Command } from "commander";
import { settingsOf, withSettings } from "../../lib/cli/program.ts";
import { loadParams, paramOverrides } from "../../lib/params/params.ts";
import { describeFeatures, runFeatures } from "./features.ts";
import { FEATURES_SETTINGS } from "./settings.ts";

export function featuresCommand(): Command {
  return withSettings(new Command("features"), FEATURES_SETTINGS)
    .summary("derive model features and the seeded train/test split")
    .description(
      "Derive model features and the seeded train/test split from the ingest output.\n" +
        "Writes features.parquet (with a split column), feature_schema.json, split.json and features.json.",
    )
    .action(async (_options, command: Command) => {
      const settings = settingsOf(FEATURES_SETTINGS, command);
      const params = await loadParams(settings["params-file"], paramOverrides(settings));
      const report = await runFeatures({
        ingestDir: settings["ingest-dir"],
        outDir: settings["out-dir"],
        ...params.features,
      });
      console.log(`features: ${describeFeatures(report)} -> ${settings["out-dir"]}`);
    });
}

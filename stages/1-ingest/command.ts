import { Command } from "commander";
import { settingsOf, withSettings } from "../../lib/cli/program.ts";
import { loadParams, paramOverrides } from "../../lib/params/params.ts";
import { describeIngest, runIngest } from "./ingest.ts";
import { INGEST_SETTINGS } from "./settings.ts";

export function ingestCommand(): Command {
  return withSettings(new Command("ingest"), INGEST_SETTINGS)
    .summary("validate the raw CSV, quarantine bad rows, impute, write clean Parquet")
    .description(
      "Validate the raw housing CSV, quarantine bad rows, impute, write clean Parquet.\n" +
        "Writes clean.parquet, quarantine.csv (line number and reason of every rejected row) and ingest.json.",
    )
    .action(async (_options, command: Command) => {
      const settings = settingsOf(INGEST_SETTINGS, command);
      const params = await loadParams(settings["params-file"], paramOverrides(settings));
      const report = await runIngest({
        input: settings.input,
        outDir: settings["out-dir"],
        maxQuarantineShare: params.ingest.maxQuarantineShare,
      });
      console.log(`ingest: ${describeIngest(report)} -> ${settings["out-dir"]}`);
    });
}

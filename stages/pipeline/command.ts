import { Command } from "commander";
import { settingsOf, withSettings } from "../../lib/cli/program.ts";
import { text } from "../../lib/cli/settings.ts";
import {
  loadParams,
  PARAMS_FILE_SETTING,
  paramOverrides,
  paramSettings,
} from "../../lib/params/params.ts";
import { SAMPLE_RECORD } from "../../lib/schema/features.ts";
import { DEFAULT_DATASET_PATH } from "../0-fetch/fetch.ts";
import { CURRENT_LINK, DEFAULT_MODELS_DIR } from "../6-deploy/deploy.ts";
import { PIPELINE_STAGES, runPipeline } from "./pipeline.ts";

const PIPELINE_SETTINGS = {
  data: text({
    description: "raw CSV (env HOUSING_CSV); downloaded and verified when missing",
    value: "PATH",
    default: process.env.HOUSING_CSV || DEFAULT_DATASET_PATH,
  }),
  "work-dir": text({ description: "working folder", value: "DIR", default: ".pipeline" }),
  "models-dir": text({
    description: "where the deployed model goes (the server loads DIR/current)",
    value: "DIR",
    default: DEFAULT_MODELS_DIR,
  }),
  "params-file": PARAMS_FILE_SETTING,
  ...paramSettings("ingest", "features", "train", "evaluate"),
};

export function pipelineCommand(): Command {
  return withSettings(new Command("pipeline"), PIPELINE_SETTINGS)
    .summary(
      `run every stage in order (${PIPELINE_STAGES.map((stage) => stage.name).join(" -> ")})`,
    )
    .description(
      `Run every stage in order (${PIPELINE_STAGES.map((stage) => stage.name).join(" -> ")}) in one process.\n` +
        "The registry is this git repository's tags (GTO format) with release files in .registry/;\n" +
        "`npm run registry -- history` shows what the run registered and assigned.",
    )
    .action(async (_options, command: Command) => {
      const started = performance.now();
      const settings = settingsOf(PIPELINE_SETTINGS, command);
      const params = await loadParams(settings["params-file"], paramOverrides(settings));
      const modelsDir = settings["models-dir"];
      const workDir = settings["work-dir"];
      const timings = await runPipeline({
        data: settings.data,
        workDir,
        modelsDir,
        params,
        log: (line) => console.log(line),
      });
      const total = (performance.now() - started) / 1000;
      console.log(`\nPipeline finished in ${total.toFixed(2)} s, outputs in ${workDir}/`);
      for (const timing of timings) {
        console.log(
          `  ${timing.name.padEnd(10)} ${timing.seconds.toFixed(2).padStart(7)} s  ${timing.summary}`,
        );
      }
      console.log(
        [
          "",
          "Serve the deployed model:",
          `  MODEL_DIR=${modelsDir}/${CURRENT_LINK} npm run serve`,
          "Then ask for a prediction:",
          `  curl -s localhost:8080/predict -H 'content-type: application/json' -d '${JSON.stringify(SAMPLE_RECORD)}'`,
        ].join("\n"),
      );
    });
}

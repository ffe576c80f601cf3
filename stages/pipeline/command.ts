import type { Command } from "../../lib/cli/command.ts";
import { DEFAULT_PARAMS_FILE, loadParams } from "../../lib/params/params.ts";
import { SAMPLE_RECORD } from "../../lib/schema/features.ts";
import { DEFAULT_DATASET_PATH } from "../0-fetch/fetch.ts";
import { PARAM_OPTIONS, paramOverrides } from "../3-train/command.ts";
import { CURRENT_LINK, DEFAULT_MODELS_DIR } from "../6-deploy/deploy.ts";
import { PIPELINE_STAGES, runPipeline } from "./pipeline.ts";

export const pipelineCommand: Command = {
  name: "pipeline",
  summary: `Run every stage in order (${PIPELINE_STAGES.map((stage) => stage.name).join(" -> ")}) in one process.`,
  options: {
    data: {
      type: "string",
      value: "PATH",
      default: process.env.HOUSING_CSV ?? DEFAULT_DATASET_PATH,
      description: "raw CSV (env HOUSING_CSV); downloaded and verified when missing",
    },
    "work-dir": {
      type: "string",
      value: "DIR",
      default: ".pipeline",
      description: "working folder",
    },
    "models-dir": {
      type: "string",
      value: "DIR",
      default: DEFAULT_MODELS_DIR,
      description: "where the deployed model goes (the server loads DIR/current)",
    },
    params: {
      type: "string",
      value: "FILE",
      default: DEFAULT_PARAMS_FILE,
      description: "params file",
    },
    ...PARAM_OPTIONS,
  },
  details:
    "The registry is this git repository's tags (GTO format) with release files in .registry/;\n" +
    "`npm run registry -- history` shows what the run registered and assigned.",
  async run(values) {
    const started = performance.now();
    const params = await loadParams(values.params as string, paramOverrides(values));
    const modelsDir = values["models-dir"] as string;
    const timings = await runPipeline({
      data: values.data as string,
      workDir: values["work-dir"] as string,
      modelsDir,
      params,
      log: (line) => console.log(line),
    });
    const total = (performance.now() - started) / 1000;
    console.log(`\nPipeline finished in ${total.toFixed(2)} s, outputs in ${values["work-dir"]}/`);
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
  },
};

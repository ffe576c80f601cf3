import type { Command } from "../cli/command.ts";
import { DEFAULT_DATASET_PATH } from "../data/fetch.ts";
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
  },
  async run(values) {
    const started = performance.now();
    const timings = await runPipeline({
      data: values.data as string,
      workDir: values["work-dir"] as string,
      log: (line) => console.log(line),
    });
    const total = (performance.now() - started) / 1000;
    console.log(`\nPipeline finished in ${total.toFixed(2)} s, outputs in ${values["work-dir"]}/`);
    for (const timing of timings) {
      console.log(
        `  ${timing.name.padEnd(10)} ${timing.seconds.toFixed(2).padStart(7)} s  ${timing.summary}`,
      );
    }
  },
};

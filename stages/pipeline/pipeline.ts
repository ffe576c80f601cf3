// `npm run pipeline`: every stage in order, in one process, into one working folder.
import { join } from "node:path";
import { ensureDataset } from "../data/fetch.ts";
import { describeFeatures } from "../features/command.ts";
import { runFeatures } from "../features/features.ts";
import { describeIngest } from "../ingest/command.ts";
import { runIngest } from "../ingest/ingest.ts";

export interface PipelineOptions {
  /** The raw CSV; fetched (and verified) when missing. */
  data: string;
  /** Working folder; each stage writes its own subfolder. */
  workDir: string;
  log?: (line: string) => void;
}

export interface PipelineStage {
  name: string;
  /** Runs the stage and returns a one-line summary. */
  run(options: PipelineOptions): Promise<string>;
}

export interface StageTiming {
  name: string;
  seconds: number;
  summary: string;
}

/** The stages of the pipeline, in order. */
export const PIPELINE_STAGES: PipelineStage[] = [
  {
    name: "ingest",
    async run({ data, workDir, log = () => {} }) {
      const dataset = await ensureDataset(data, {
        onProgress: (bytes, total) =>
          log(`  downloading ${data}: ${bytes}${total ? ` / ${total}` : ""} bytes`),
      });
      if (dataset.fetched) log(`  fetched ${data} (sha256 ${dataset.sha256})`);
      const report = await runIngest({ input: data, outDir: join(workDir, "ingest") });
      return describeIngest(report);
    },
  },
  {
    name: "features",
    async run({ workDir }) {
      const report = await runFeatures({
        ingestDir: join(workDir, "ingest"),
        outDir: join(workDir, "features"),
      });
      return describeFeatures(report);
    },
  },
];

/** Runs every stage in order, logging progress and time per stage; stops at the first failure. */
export async function runPipeline(
  options: PipelineOptions,
  stages: PipelineStage[] = PIPELINE_STAGES,
): Promise<StageTiming[]> {
  const log = options.log ?? (() => {});
  const timings: StageTiming[] = [];
  for (const [index, stage] of stages.entries()) {
    log(`[${index + 1}/${stages.length}] ${stage.name} ...`);
    const started = performance.now();
    const summary = await stage.run(options);
    const seconds = (performance.now() - started) / 1000;
    timings.push({ name: stage.name, seconds, summary });
    log(
      `[${index + 1}/${stages.length}] ${stage.name} done in ${seconds.toFixed(2)} s: ${summary}`,
    );
  }
  return timings;
}

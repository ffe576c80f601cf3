// `npm run pipeline`: every stage in order, in one process, into one working folder.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelManifest } from "../../lib/bundle/bundle.ts";
import { progressPrinter } from "../../lib/io/progress.ts";
import type { PipelineParams } from "../../lib/params/params.ts";
import { createPromotionTarget } from "../../lib/registry/create-registry.ts";
import type { PromotionTarget } from "../../lib/registry/proposal.ts";
import { ensureDataset } from "../0-fetch/fetch.ts";
import { describeIngest, runIngest } from "../1-ingest/ingest.ts";
import { describeFeatures, runFeatures } from "../2-features/features.ts";
import { currentCommit, describeModel, runTrain } from "../3-train/train.ts";
import { evaluateCandidate } from "../4-evaluate/candidate.ts";
import { preparePromotion } from "../5-promote/promote.ts";
import { CURRENT_LINK, DEFAULT_MODELS_DIR, runDeploy } from "../6-deploy/deploy.ts";

export interface PipelineOptions {
  /** The raw CSV; fetched (and verified) when missing. */
  data: string;
  /** Working folder; each stage writes its own subfolder. */
  workDir: string;
  params: PipelineParams;
  /** The git repository whose tags are the registry (local backend); default the current folder. */
  repoDir?: string;
  /** Where deployed models go; the server loads `<modelsDir>/current`. */
  modelsDir?: string;
  log?: (line: string) => void;
}

/** What the stages hand each other within one run. */
interface RunState {
  target?: PromotionTarget;
  version?: string;
  report?: string;
}

export interface PipelineStage {
  name: string;
  /** Runs the stage and returns a one-line summary. */
  run(options: PipelineOptions, state: RunState): Promise<string>;
}

export interface StageTiming {
  name: string;
  seconds: number;
  summary: string;
}

async function registryOf(options: PipelineOptions, state: RunState): Promise<PromotionTarget> {
  state.target ??= await createPromotionTarget({ backend: "local", repoDir: options.repoDir });
  return state.target;
}

/** The stages of the pipeline, in order. */
export const PIPELINE_STAGES: PipelineStage[] = [
  {
    name: "ingest",
    async run({ data, workDir, params, log = () => {} }) {
      const dataset = await ensureDataset(data, {
        onProgress: (bytes, total) =>
          log(`  downloading ${data}: ${bytes}${total ? ` / ${total}` : ""} bytes`),
      });
      if (dataset.fetched) log(`  fetched ${data} (sha256 ${dataset.sha256})`);
      const report = await runIngest({
        input: data,
        outDir: join(workDir, "ingest"),
        maxQuarantineShare: params.ingest.maxQuarantineShare,
      });
      return describeIngest(report);
    },
  },
  {
    name: "features",
    async run({ workDir, params }) {
      const report = await runFeatures({
        ingestDir: join(workDir, "ingest"),
        outDir: join(workDir, "features"),
        ...params.features,
      });
      return describeFeatures(report);
    },
  },
  {
    name: "train",
    async run(options, state) {
      const { workDir, params } = options;
      const progress = progressPrinter("  train", "trees");
      const manifest = (await runTrain({
        featuresDir: join(workDir, "features"),
        outDir: join(workDir, "train"),
        params: params.train,
        context: { commit: await currentCommit(options.repoDir) },
        onProgress: progress.update,
      })) as ModelManifest;
      progress.end();
      const { registry } = await registryOf(options, state);
      const known = (await registry.list()).find(
        (version) => version.lineage?.model.sha256 === manifest.model.sha256,
      );
      return `${describeModel(manifest)}; ${known ? `already registered as ${known.tag}` : "a new model"}`;
    },
  },
  {
    name: "evaluate",
    async run(options, state) {
      const { registry } = await registryOf(options, state);
      const result = await evaluateCandidate({
        registry,
        featuresDir: join(options.workDir, "features"),
        bundleDir: join(options.workDir, "train"),
        workDir: join(options.workDir, "evaluate"),
        ...options.params.evaluate,
      });
      state.version = result.version;
      state.report = join(result.reportDir, "report.md");
      return `${result.created ? "registered" : "already registered as"} ${result.tag}; hold-out RMSE ${result.report.candidate.metrics.rmse.toFixed(0)} passed the gate; assigned ${result.stagingTag}`;
    },
  },
  {
    name: "promote",
    async run(options, state) {
      const target = await registryOf(options, state);
      const proposal = await preparePromotion(target, {
        version: state.version as string,
        report: await readFile(state.report as string, "utf8"),
      });
      return `branch ${proposal.branch} points deploy/production.json at ${proposal.pointer.version}${proposal.instructions ? ` (${proposal.instructions.split("\n")[0]})` : ""}`;
    },
  },
  {
    name: "deploy",
    async run(options, state) {
      // Locally the pipeline stands in for merging the promotion: it deploys the staged version.
      const { registry } = await registryOf(options, state);
      const result = await runDeploy({
        registry,
        version: state.version,
        modelsDir: options.modelsDir,
      });
      return `${result.tag} deployed to ${join(options.modelsDir ?? DEFAULT_MODELS_DIR, CURRENT_LINK)}; assigned ${result.assignmentTag}`;
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
  const state: RunState = {};
  for (const [index, stage] of stages.entries()) {
    log(`[${index + 1}/${stages.length}] ${stage.name} ...`);
    const started = performance.now();
    const summary = await stage.run(options, state);
    const seconds = (performance.now() - started) / 1000;
    timings.push({ name: stage.name, seconds, summary });
    log(
      `[${index + 1}/${stages.length}] ${stage.name} done in ${seconds.toFixed(2)} s: ${summary}`,
    );
  }
  return timings;
}

// Evaluation against the registry: score the latest candidate (and production) on the persisted
// hold-out, attach the report to the candidate's release, and assign staging when the gate passes.
import { join } from "node:path";
import { STAGES } from "../../lib/bundle/bundle.ts";
import { fetchBundle } from "../../lib/registry/fetch-bundle.ts";
import type { Registry } from "../../lib/registry/types.ts";
import { EVALUATION_FILES, type EvaluationReport, runEvaluate } from "./evaluate.ts";

export interface CandidateOptions {
  registry: Registry;
  featuresDir: string;
  /** Work folder: receives the downloaded bundles and the report (in `report/`). */
  workDir: string;
  rmseThreshold: number;
  tolerance: number;
  /** The version to evaluate; default the latest registered one. */
  version?: string;
}

export interface CandidateResult {
  report: EvaluationReport;
  version: string;
  tag: string;
  /** Folder with report.md, evaluation.json and the plots. */
  reportDir: string;
  /** The staging assignment tag when the gate passed. */
  stagingTag: string | null;
}

/** The gate failed: the message is the reason; the report was still written and attached. */
export class GateFailedError extends Error {
  readonly result: CandidateResult;
  constructor(result: CandidateResult) {
    super(
      `house-price ${result.version} did not pass the evaluation gate: ${result.report.reason}`,
    );
    this.result = result;
  }
}

/** Evaluates a registered candidate; on pass assigns staging, on fail throws GateFailedError. */
export async function evaluateCandidate(options: CandidateOptions): Promise<CandidateResult> {
  const { registry, workDir } = options;
  const candidate = options.version
    ? await registry.show(options.version)
    : await registry.latest();
  if (!candidate)
    throw new Error(`no version of ${registry.name} is registered yet; run the train stage first`);
  const production = await registry.stageVersion(STAGES.production);
  const candidateDir = await fetchBundle(registry, candidate.version, join(workDir, "candidate"));
  const productionDir =
    production && production.version.version !== candidate.version
      ? await fetchBundle(registry, production.version.version, join(workDir, "production"))
      : null;

  const reportDir = join(workDir, "report");
  const report = await runEvaluate({
    featuresDir: options.featuresDir,
    candidate: { dir: candidateDir, version: candidate.version },
    production:
      productionDir && production
        ? { dir: productionDir, version: production.version.version }
        : null,
    rmseThreshold: options.rmseThreshold,
    tolerance: options.tolerance,
    outDir: reportDir,
  });
  await registry.uploadAssets(
    candidate.version,
    [EVALUATION_FILES.report, EVALUATION_FILES.evaluation, ...EVALUATION_FILES.plots].map((file) =>
      join(reportDir, file),
    ),
  );
  const result: CandidateResult = {
    report,
    version: candidate.version,
    tag: candidate.tag,
    reportDir,
    stagingTag: null,
  };
  if (!report.passed) throw new GateFailedError(result);
  const assignment = await registry.assign(candidate.version, STAGES.staging);
  return { ...result, stagingTag: assignment.tag };
}

// Evaluation against the registry: score a candidate (and the production version, if any) on the
// persisted hold-out, and assign staging when the gate passes.
//
// The pipeline's way (`bundleDir`): the freshly trained bundle is scored first and registered
// afterwards, with its report, plots and evaluation in the same release and tag. Everything a
// release needs is in it before it is published, so releases may be immutable. A version that
// fails the gate is registered too (as MLflow registers every run's model), without staging.
//
// Evaluating a registered version again (`version`): its report is attached to its release when
// the release can still change; on GitHub with immutable releases it stays in the report folder.
import { join } from "node:path";
import { readManifest, STAGES } from "../../lib/bundle/bundle.ts";
import { fetchBundle } from "../../lib/registry/fetch-bundle.ts";
import type { Registry } from "../../lib/registry/types.ts";
import {
  EVALUATION_FILES,
  type EvaluationReport,
  evaluationSummary,
  rewriteReport,
  runEvaluate,
} from "./evaluate.ts";

export interface CandidateOptions {
  registry: Registry;
  featuresDir: string;
  /** Work folder: receives the downloaded bundles and the report (in `report/`). */
  workDir: string;
  rmseThreshold: number;
  tolerance: number;
  /** A trained bundle to evaluate and then register with its report. */
  bundleDir?: string;
  /** Without bundleDir: the registered version to evaluate; default the latest. */
  version?: string;
  /** Without bundleDir: called when the report cannot be attached to the version's release (an
   * immutable release); without it, that failure is an error. */
  warn?: (message: string) => void;
}

export interface CandidateResult {
  report: EvaluationReport;
  version: string;
  tag: string;
  /** False when the bundle's model was registered before (same sha256): that version is reused. */
  created: boolean;
  /** Folder with report.md, evaluation.json and the plots. */
  reportDir: string;
  /** The staging assignment tag when the gate passed. */
  stagingTag: string | null;
}

/** The gate failed: the message is the reason; the report was still written (and registered). */
export class GateFailedError extends Error {
  readonly result: CandidateResult;
  constructor(result: CandidateResult) {
    super(
      `house-price ${result.version} did not pass the evaluation gate: ${result.report.reason}`,
    );
    this.result = result;
  }
}

const reportFiles = (reportDir: string) =>
  [EVALUATION_FILES.report, EVALUATION_FILES.evaluation, ...EVALUATION_FILES.plots].map((file) =>
    join(reportDir, file),
  );

/** Scores `candidate` (a bundle folder) against the production version on the hold-out. */
async function scoreAgainstProduction(
  options: CandidateOptions,
  candidate: { dir: string; version: string; modelSha256: string },
  reportDir: string,
): Promise<EvaluationReport> {
  const { registry, workDir } = options;
  const production = await registry.stageVersion(STAGES.production);
  const productionDir =
    production && production.version.lineage?.model.sha256 !== candidate.modelSha256
      ? await fetchBundle(registry, production.version.version, join(workDir, "production"))
      : null;
  return runEvaluate({
    featuresDir: options.featuresDir,
    candidate: { dir: candidate.dir, version: candidate.version },
    production:
      productionDir && production
        ? { dir: productionDir, version: production.version.version }
        : null,
    rmseThreshold: options.rmseThreshold,
    tolerance: options.tolerance,
    outDir: reportDir,
  });
}

/** Evaluates a candidate; on pass assigns staging, on fail throws GateFailedError. */
export async function evaluateCandidate(options: CandidateOptions): Promise<CandidateResult> {
  const { registry, workDir } = options;
  const reportDir = join(workDir, "report");
  let result: CandidateResult;
  if (options.bundleDir) {
    const manifest = await readManifest(options.bundleDir);
    const modelSha256 = manifest.model.sha256;
    const report = await scoreAgainstProduction(
      options,
      { dir: options.bundleDir, version: `candidate ${modelSha256.slice(0, 12)}`, modelSha256 },
      reportDir,
    );
    const registered = await registry.register(options.bundleDir, {
      evaluation: evaluationSummary(report),
      // The report names the version, which is known only as the registration picks it.
      assets: async (version) => {
        report.candidate.version = version;
        await rewriteReport(reportDir, report);
        return reportFiles(reportDir);
      },
    });
    if (report.candidate.version !== registered.version) {
      report.candidate.version = registered.version;
      await rewriteReport(reportDir, report);
    }
    result = { report, ...registered, reportDir, stagingTag: null };
  } else {
    const candidate = options.version
      ? await registry.show(options.version)
      : await registry.latest();
    if (!candidate)
      throw new Error(
        `no version of ${registry.name} is registered yet; train a model and evaluate its bundle-dir`,
      );
    const dir = await fetchBundle(registry, candidate.version, join(workDir, "candidate"));
    const report = await scoreAgainstProduction(
      options,
      { dir, version: candidate.version, modelSha256: candidate.lineage?.model.sha256 ?? "" },
      reportDir,
    );
    await registry.uploadAssets(candidate.version, reportFiles(reportDir)).catch((error) => {
      if (!options.warn) throw error;
      options.warn(
        `the report stays in ${reportDir}: it could not be attached to ${candidate.tag} (${(error as Error).message})`,
      );
    });
    result = { report, ...candidate, created: false, reportDir, stagingTag: null };
  }
  if (!result.report.passed) throw new GateFailedError(result);
  const assignment = await registry.assign(result.version, STAGES.staging);
  return { ...result, stagingTag: assignment.tag };
}

// The evaluate stage: score a candidate bundle (and production, if any) on the persisted hold-out,
// apply the gate, and write the report with its plots.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type LoadedBundle, type RegressionMetrics, readBundle } from "../../lib/bundle/bundle.ts";
import { type Dataset, loadSide, readFeatureSchema } from "../../lib/bundle/dataset.ts";
import { regressionMetrics } from "../../lib/bundle/metrics.ts";
import { produceDirAtomic, writeFileAtomic, writeJsonAtomic } from "../../lib/io/files.ts";
import { FEATURES_FILES, type FeatureSchema, oneHotName } from "../../lib/schema/features.ts";
import type { SplitInfo } from "../2-features/features.ts";
import { importancesSpec, predictedVsActualSpec, renderSvg, residualsSpec } from "./plots.ts";

export const EVALUATION_FILES = {
  report: "report.md",
  evaluation: "evaluation.json",
  plots: ["predicted-vs-actual.svg", "residuals.svg", "feature-importances.svg"],
} as const;

export interface ModelScore {
  version: string;
  metrics: RegressionMetrics;
  /** Metrics per ocean_proximity value. */
  segments: Record<string, RegressionMetrics & { rows: number }>;
}

export interface GateRule {
  name: string;
  passed: boolean;
  detail: string;
}

export interface EvaluationReport {
  stage: "evaluate";
  passed: boolean;
  /** Why the gate failed (empty when it passed). */
  reason: string;
  candidate: ModelScore;
  production: ModelScore | null;
  rules: GateRule[];
  holdout: { rows: number; testRowsSha256: string };
  thresholds: { rmseThreshold: number; tolerance: number };
  createdAt: string;
}

export interface EvaluateOptions {
  featuresDir: string;
  candidate: { dir: string; version: string };
  /** The bundle currently in production, when there is one. */
  production?: { dir: string; version: string } | null;
  rmseThreshold: number;
  /** How much worse than production the candidate's RMSE may be, as a share (0.02 = 2%). */
  tolerance: number;
  outDir: string;
}

/** Scores a model on a dataset: overall and per ocean_proximity segment. */
export function scoreModel(
  bundle: LoadedBundle,
  version: string,
  data: Dataset,
  schema: FeatureSchema,
): ModelScore {
  const predicted = bundle.model.predict(data.x, data.nRows);
  const segments: ModelScore["segments"] = {};
  for (const value of schema.category.values) {
    const column = schema.features.indexOf(oneHotName(value));
    const rows: number[] = [];
    for (let r = 0; r < data.nRows; r++)
      if (data.x[r * data.nFeatures + column] === 1) rows.push(r);
    if (rows.length === 0) continue;
    const truth = Float64Array.from(rows, (r) => data.y[r]);
    const guess = Float64Array.from(rows, (r) => predicted[r]);
    segments[value] = { rows: rows.length, ...regressionMetrics(truth, guess) };
  }
  return { version, metrics: regressionMetrics(data.y, predicted), segments };
}

/** The gate: RMSE under the threshold, and not worse than production by more than the tolerance. */
export function applyGate(
  candidate: ModelScore,
  production: ModelScore | null,
  rmseThreshold: number,
  tolerance: number,
): GateRule[] {
  const rmse = candidate.metrics.rmse;
  const rules: GateRule[] = [
    {
      name: `RMSE <= ${rmseThreshold}`,
      passed: rmse <= rmseThreshold,
      detail: `candidate RMSE ${rmse.toFixed(0)} ${rmse <= rmseThreshold ? "<=" : ">"} threshold ${rmseThreshold}`,
    },
  ];
  if (production) {
    const limit = production.metrics.rmse * (1 + tolerance);
    rules.push({
      name: `not worse than production by more than ${(tolerance * 100).toFixed(1)}%`,
      passed: rmse <= limit,
      detail: `candidate RMSE ${rmse.toFixed(0)} vs production ${production.version} RMSE ${production.metrics.rmse.toFixed(0)} (limit ${limit.toFixed(0)})`,
    });
  }
  return rules;
}

/** Runs the evaluation and writes report.md, evaluation.json and the plots to outDir. */
export async function runEvaluate(options: EvaluateOptions): Promise<EvaluationReport> {
  const schema = await readFeatureSchema(options.featuresDir);
  const split = JSON.parse(
    await readFile(join(options.featuresDir, FEATURES_FILES.split), "utf8"),
  ) as SplitInfo;
  const holdout = await loadSide(options.featuresDir, schema, "test");
  const candidateBundle = await readBundle(options.candidate.dir);
  assertSameFeatures(candidateBundle, schema, options.candidate.version);
  const candidate = scoreModel(candidateBundle, options.candidate.version, holdout, schema);

  let production: ModelScore | null = null;
  if (options.production) {
    const productionBundle = await readBundle(options.production.dir);
    assertSameFeatures(productionBundle, schema, options.production.version);
    production = scoreModel(productionBundle, options.production.version, holdout, schema);
  }
  const rules = applyGate(candidate, production, options.rmseThreshold, options.tolerance);
  const failed = rules.filter((rule) => !rule.passed);
  const report: EvaluationReport = {
    stage: "evaluate",
    passed: failed.length === 0,
    reason: failed.map((rule) => `${rule.name} failed: ${rule.detail}`).join("; "),
    candidate,
    production,
    rules,
    holdout: { rows: holdout.nRows, testRowsSha256: split.testRowsSha256 },
    thresholds: { rmseThreshold: options.rmseThreshold, tolerance: options.tolerance },
    createdAt: new Date().toISOString(),
  };

  const predicted = candidateBundle.model.predict(holdout.x, holdout.nRows);
  await produceDirAtomic(options.outDir, async (dir) => {
    // A sample keeps the scatter readable and the SVG small.
    const step = Math.max(1, Math.floor(holdout.nRows / 2000));
    const points: { actual: number; predicted: number }[] = [];
    for (let r = 0; r < holdout.nRows; r += step)
      points.push({ actual: holdout.y[r], predicted: predicted[r] });
    const residuals = Array.from(predicted, (value, r) => value - holdout.y[r]);
    const [scatter, histogram, importances] = await Promise.all([
      renderSvg(predictedVsActualSpec(points)),
      renderSvg(residualsSpec(residuals)),
      renderSvg(importancesSpec(candidateBundle.manifest.featureImportances)),
    ]);
    const [scatterFile, residualsFile, importancesFile] = EVALUATION_FILES.plots;
    await writeFileAtomic(join(dir, scatterFile), scatter);
    await writeFileAtomic(join(dir, residualsFile), histogram);
    await writeFileAtomic(join(dir, importancesFile), importances);
    await writeFileAtomic(join(dir, EVALUATION_FILES.report), evaluationMarkdown(report));
    await writeJsonAtomic(join(dir, EVALUATION_FILES.evaluation), report);
  });
  return report;
}

function assertSameFeatures(bundle: LoadedBundle, schema: FeatureSchema, version: string): void {
  const features = bundle.manifest.featureSchema.features;
  if (features.join("\u0000") !== schema.features.join("\u0000")) {
    throw new Error(
      `model ${version} was trained on features (${features.join(", ")}) that differ from the hold-out's (${schema.features.join(", ")}); re-run the features stage with the model's schema`,
    );
  }
}

const money = (value: number) => Math.round(value).toLocaleString("en-US");

/** The evaluation as markdown: for the job summary, the release and the promotion PR. */
export function evaluationMarkdown(report: EvaluationReport): string {
  const { candidate, production } = report;
  const row = (label: string, pick: (score: ModelScore) => string) =>
    `| ${label} | ${pick(candidate)} |${production ? ` ${pick(production)} |` : ""}`;
  const lines = [
    `## Evaluation of house-price ${candidate.version}: ${report.passed ? "PASSED" : "FAILED"}`,
    "",
    `Hold-out: ${report.holdout.rows} rows (persisted split, test rows sha256 \`${report.holdout.testRowsSha256.slice(0, 12)}…\`).`,
    "",
    `| metric | candidate ${candidate.version} |${production ? ` production ${production.version} |` : ""}`,
    `| --- | --- |${production ? " --- |" : ""}`,
    row("RMSE", (score) => money(score.metrics.rmse)),
    row("MAE", (score) => money(score.metrics.mae)),
    row("R²", (score) => score.metrics.r2.toFixed(4)),
    "",
    "### Gate",
    "",
    "| rule | result | detail |",
    "| --- | --- | --- |",
    ...report.rules.map(
      (rule) => `| ${rule.name} | ${rule.passed ? "✅ pass" : "❌ fail"} | ${rule.detail} |`,
    ),
    ...(production ? [] : ["", "No version is in production yet: only the threshold applies."]),
    "",
    "### Error by ocean_proximity",
    "",
    `| segment | rows | RMSE | MAE |${production ? " production RMSE |" : ""}`,
    `| --- | --- | --- | --- |${production ? " --- |" : ""}`,
    ...Object.entries(candidate.segments).map(([segment, metrics]) => {
      const previous = production?.segments[segment];
      return `| ${segment} | ${metrics.rows} | ${money(metrics.rmse)} | ${money(metrics.mae)} |${production ? ` ${previous ? money(previous.rmse) : "–"} |` : ""}`;
    }),
    "",
    "### Plots",
    "",
    ...EVALUATION_FILES.plots.map((file) => `- \`${file}\``),
    "",
  ];
  return lines.join("\n");
}

// The evaluate stage: score a candidate bundle (and production, if any) on the persisted hold-out,
// apply the gate, and write the report with its plots.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type LoadedBundle, type RegressionMetrics, readBundle } from "../../lib/bundle/bundle.ts";
import { type Dataset, loadSide, readFeatureSchema } from "../../lib/bundle/dataset.ts";
import { regressionMetrics } from "../../lib/bundle/metrics.ts";
import { produceDirAtomic, writeFileAtomic, writeJsonAtomic } from "../../lib/io/files.ts";
import type { EvaluationSummary, HoldoutScore } from "../../lib/registry/types.ts";
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

/** Histogram of residuals (predicted - actual) and the calibration by decile of the prediction. */
export interface ResidualSummary {
  residuals: EvaluationSummary["residuals"];
  calibration: EvaluationSummary["calibration"];
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
  /** The candidate's residuals, summarised. */
  errors: ResidualSummary;
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
  const predicted = candidateBundle.model.predict(holdout.x, holdout.nRows);
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
    errors: residualSummary(holdout.y, predicted),
    createdAt: new Date().toISOString(),
  };

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

/** Writes report.md and evaluation.json for `report` again (after the candidate got its version). */
export async function rewriteReport(outDir: string, report: EvaluationReport): Promise<void> {
  await writeFileAtomic(join(outDir, EVALUATION_FILES.report), evaluationMarkdown(report));
  await writeJsonAtomic(join(outDir, EVALUATION_FILES.evaluation), report);
}

/** A residual histogram (about 30 bins of a round width) and the mean prediction and truth per
 * decile of the prediction: enough to draw both plots again without the rows. */
export function residualSummary(truth: Float64Array, predicted: Float64Array): ResidualSummary {
  const n = truth.length;
  const residuals = Array.from(predicted, (value, r) => value - truth[r]);
  const [low, high] = residuals.reduce(
    ([min, max], value) => [Math.min(min, value), Math.max(max, value)],
    [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
  );
  const span = n > 0 ? Math.max(high - low, 1) : 1;
  const magnitude = 10 ** Math.floor(Math.log10(span / 30));
  const binWidth =
    [1, 2, 5, 10].map((step) => step * magnitude).find((w) => span / w <= 30) ?? span;
  const counts = new Map<number, number>();
  for (const value of residuals) {
    const start = Math.floor(value / binWidth) * binWidth;
    counts.set(start, (counts.get(start) ?? 0) + 1);
  }
  const bins = [...counts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, count]) => ({ start, count }));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => predicted[a] - predicted[b]);
  const calibration: ResidualSummary["calibration"] = [];
  for (let decile = 0; decile < 10 && n > 0; decile++) {
    const rows = order.slice(Math.floor((decile * n) / 10), Math.floor(((decile + 1) * n) / 10));
    if (rows.length === 0) continue;
    const mean = (values: (r: number) => number) =>
      rows.reduce((sum, r) => sum + values(r), 0) / rows.length;
    calibration.push({
      predicted: mean((r) => predicted[r]),
      actual: mean((r) => truth[r]),
      rows: rows.length,
    });
  }
  return { residuals: { binWidth, bins }, calibration };
}

function holdoutScore(rows: number, metrics: RegressionMetrics): HoldoutScore {
  return { rows, rmse: metrics.rmse, mae: metrics.mae, r2: metrics.r2 };
}

/** The evaluation as the registry records it with the version (small enough for a tag message). */
export function evaluationSummary(report: EvaluationReport): EvaluationSummary {
  const segments = (score: ModelScore) =>
    Object.fromEntries(
      Object.entries(score.segments).map(([name, segment]) => [
        name,
        holdoutScore(segment.rows, segment),
      ]),
    );
  return {
    passed: report.passed,
    reason: report.reason,
    thresholds: report.thresholds,
    holdout: holdoutScore(report.holdout.rows, report.candidate.metrics),
    segments: segments(report.candidate),
    production: report.production
      ? {
          version: report.production.version,
          rmse: report.production.metrics.rmse,
          segments: segments(report.production),
        }
      : null,
    residuals: report.errors.residuals,
    calibration: report.errors.calibration,
    evaluatedAt: report.createdAt,
  };
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

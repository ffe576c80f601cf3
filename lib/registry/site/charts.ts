// The site's charts as vega-lite specs over named data sets, compiled to vega specs in
// assets/chart-specs.json by `node lib/registry/site/charts.ts` (`--check` reports a stale file; a
// test runs it). Thousands of version pages share these charts and embed only their data;
// assets/charts.js hands it to vega's view in the browser, which then needs vega alone, and a site
// build needs no vega-lite compile at all.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { TopLevelSpec } from "vega-lite";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const MONEY = ",.0f";

/** Colours with enough contrast on white for marks and their legends. */
const COLORS = { primary: "#1f5f99", secondary: "#b3541e", threshold: "#a4161a", muted: "#5c6670" };

/** The charts by name, each with the data sets a page must provide. */
export const CHART_SPECS = {
  /** RMSE and MAE per version with the gate's threshold. Data: `metrics` [{version, metric,
   * value}], `thresholds` [{version, threshold}]. */
  trend: {
    $schema: SCHEMA,
    description: "Hold-out RMSE and MAE per version, with the evaluation gate's RMSE threshold",
    width: 640,
    height: 260,
    layer: [
      {
        data: { name: "metrics" },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "version", type: "ordinal", sort: null, title: "version" },
          y: { field: "value", type: "quantitative", title: "error ($)", axis: { format: MONEY } },
          color: {
            field: "metric",
            type: "nominal",
            title: null,
            scale: { range: [COLORS.primary, COLORS.secondary] },
          },
          tooltip: [
            { field: "version", type: "ordinal" },
            { field: "metric", type: "nominal" },
            { field: "value", type: "quantitative", format: MONEY },
          ],
        },
      },
      {
        data: { name: "thresholds" },
        mark: { type: "line", strokeDash: [6, 4], color: COLORS.threshold, interpolate: "step" },
        encoding: {
          x: { field: "version", type: "ordinal", sort: null },
          y: { field: "threshold", type: "quantitative" },
          tooltip: [{ field: "threshold", type: "quantitative", title: "gate threshold" }],
        },
      },
    ],
  },
  /** R² per version. Data: `r2` [{version, r2}]. */
  r2: {
    $schema: SCHEMA,
    description: "Hold-out R² per version",
    width: 640,
    height: 160,
    data: { name: "r2" },
    mark: { type: "line", point: true, color: COLORS.primary },
    encoding: {
      x: { field: "version", type: "ordinal", sort: null, title: "version" },
      y: { field: "r2", type: "quantitative", title: "R²", scale: { zero: false } },
      tooltip: [
        { field: "version", type: "ordinal" },
        { field: "r2", type: "quantitative", format: ".4f" },
      ],
    },
  },
  /** RMSE per ocean_proximity segment, this version beside production. Data: `segments`
   * [{segment, model, rmse}]. */
  segments: {
    $schema: SCHEMA,
    description: "Hold-out RMSE per ocean_proximity segment, this version beside production",
    width: 480,
    height: 220,
    data: { name: "segments" },
    mark: "bar",
    encoding: {
      x: { field: "segment", type: "nominal", title: "ocean_proximity", axis: { labelAngle: 0 } },
      // This version first (and in the primary colour), production beside it.
      xOffset: { field: "model", type: "nominal", sort: null },
      y: { field: "rmse", type: "quantitative", title: "RMSE ($)", axis: { format: MONEY } },
      color: {
        field: "model",
        type: "nominal",
        sort: null,
        title: null,
        scale: { range: [COLORS.primary, COLORS.muted] },
      },
      tooltip: [
        { field: "segment", type: "nominal" },
        { field: "model", type: "nominal" },
        { field: "rmse", type: "quantitative", format: MONEY },
      ],
    },
  },
  /** Impurity importances, largest first. Data: `importances` [{feature, importance}]. */
  importances: {
    $schema: SCHEMA,
    description: "Feature importances (impurity decrease), largest first",
    width: 420,
    data: { name: "importances" },
    mark: { type: "bar", color: COLORS.primary },
    encoding: {
      y: { field: "feature", type: "nominal", sort: "-x", title: null },
      x: { field: "importance", type: "quantitative", title: "importance" },
      tooltip: [
        { field: "feature", type: "nominal" },
        { field: "importance", type: "quantitative", format: ".4f" },
      ],
    },
  },
  /** Histogram of residuals (predicted - actual). Data: `residuals` [{start, end, count}]. */
  residuals: {
    $schema: SCHEMA,
    description: "Histogram of hold-out residuals, predicted minus actual price",
    width: 420,
    height: 220,
    data: { name: "residuals" },
    mark: { type: "bar", color: COLORS.primary },
    encoding: {
      x: {
        field: "start",
        type: "quantitative",
        bin: { binned: true },
        title: "residual ($)",
        axis: { format: MONEY },
      },
      x2: { field: "end" },
      y: { field: "count", type: "quantitative", title: "rows" },
      tooltip: [
        { field: "start", type: "quantitative", format: MONEY, title: "from" },
        { field: "end", type: "quantitative", format: MONEY, title: "to" },
        { field: "count", type: "quantitative" },
      ],
    },
  },
  /** Mean prediction against mean actual price per decile of the prediction, and the diagonal.
   * Data: `calibration` [{predicted, actual, rows}], `diagonal` [{predicted, actual}] x2. */
  calibration: {
    $schema: SCHEMA,
    description:
      "Calibration: mean actual against mean predicted price per decile of the prediction",
    width: 320,
    height: 320,
    layer: [
      {
        data: { name: "diagonal" },
        mark: { type: "line", color: COLORS.muted, strokeDash: [4, 4] },
        encoding: {
          x: { field: "predicted", type: "quantitative" },
          y: { field: "actual", type: "quantitative" },
        },
      },
      {
        data: { name: "calibration" },
        mark: { type: "point", filled: true, size: 60, color: COLORS.primary },
        encoding: {
          x: {
            field: "predicted",
            type: "quantitative",
            title: "mean predicted ($)",
            axis: { format: "~s" },
          },
          y: {
            field: "actual",
            type: "quantitative",
            title: "mean actual ($)",
            axis: { format: "~s" },
          },
          tooltip: [
            { field: "predicted", type: "quantitative", format: MONEY },
            { field: "actual", type: "quantitative", format: MONEY },
            { field: "rows", type: "quantitative" },
          ],
        },
      },
    ],
  },
  /** Who held each stage when. Data: `holds` [{stage, version, from, to, since}] (times in
   * milliseconds; `since` as text, for the tooltip). */
  stages: {
    $schema: SCHEMA,
    description: "Which version held each stage over time",
    width: 640,
    height: { step: 40 },
    data: { name: "holds" },
    mark: { type: "bar", cornerRadius: 2 },
    encoding: {
      y: { field: "stage", type: "nominal", title: null },
      x: { field: "from", type: "temporal", title: "time (UTC)", scale: { type: "utc" } },
      x2: { field: "to" },
      color: {
        field: "stage",
        type: "nominal",
        legend: null,
        scale: { range: [COLORS.primary, COLORS.secondary, COLORS.muted] },
      },
      tooltip: [
        { field: "stage", type: "nominal" },
        { field: "version", type: "nominal" },
        { field: "since", type: "nominal" },
      ],
    },
  },
} satisfies Record<string, TopLevelSpec>;

export type ChartName = keyof typeof CHART_SPECS;

/** Where the compiled specs live, beside the page scripts that use them. */
export const CHART_SPECS_FILE = fileURLToPath(new URL("assets/chart-specs.json", import.meta.url));

/** Every chart compiled to a vega spec: what assets/chart-specs.json holds. */
export async function compileCharts(): Promise<Record<string, unknown>> {
  // Loaded only here: vega-lite is large, and building a site does not need it.
  const { compile } = await import("vega-lite");
  const compiled: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CHART_SPECS) as [ChartName, TopLevelSpec][]) {
    compiled[name] = compile(spec).spec;
  }
  return compiled;
}

/** The compiled specs in assets/chart-specs.json (formatted as the formatter likes; the site
 * build writes them compact). */
export async function readChartSpecs(): Promise<unknown> {
  return JSON.parse(await readFile(CHART_SPECS_FILE, "utf8"));
}

if (import.meta.main) {
  const compiled = await compileCharts();
  const current = await readChartSpecs().catch(() => null);
  const stale = JSON.stringify(current) !== JSON.stringify(compiled);
  if (process.argv.includes("--check")) {
    if (stale) {
      console.error(`${CHART_SPECS_FILE} is stale: run node lib/registry/site/charts.ts`);
      process.exitCode = 1;
    }
  } else if (stale) await writeFile(CHART_SPECS_FILE, `${JSON.stringify(compiled, null, 2)}\n`);
}

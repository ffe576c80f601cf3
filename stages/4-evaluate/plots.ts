// Evaluation plots, drawn with vega-lite and rendered to SVG by vega's headless view.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** Renders a vega-lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Predicted against actual price, with the diagonal of a perfect model. */
export function predictedVsActualSpec(
  points: { actual: number; predicted: number }[],
): TopLevelSpec {
  const max = Math.max(...points.map((point) => Math.max(point.actual, point.predicted)));
  return {
    $schema: SCHEMA,
    title: "Predicted vs actual (hold-out)",
    width: 420,
    height: 420,
    layer: [
      {
        data: { values: points },
        mark: { type: "circle", size: 8, opacity: 0.35 },
        encoding: {
          x: { field: "actual", type: "quantitative", title: "actual price ($)" },
          y: { field: "predicted", type: "quantitative", title: "predicted price ($)" },
        },
      },
      {
        data: {
          values: [
            { actual: 0, predicted: 0 },
            { actual: max, predicted: max },
          ],
        },
        mark: { type: "line", color: "firebrick" },
        encoding: {
          x: { field: "actual", type: "quantitative" },
          y: { field: "predicted", type: "quantitative" },
        },
      },
    ],
  };
}

/** Histogram of residuals (predicted - actual). */
export function residualsSpec(residuals: number[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: "Residuals, predicted - actual (hold-out)",
    width: 420,
    height: 260,
    data: { values: residuals.map((residual) => ({ residual })) },
    mark: "bar",
    encoding: {
      x: { field: "residual", type: "quantitative", bin: { maxbins: 60 }, title: "residual ($)" },
      y: { aggregate: "count", type: "quantitative", title: "rows" },
    },
  };
}

/** Horizontal bars of feature importances, largest first. */
export function importancesSpec(importances: Record<string, number>): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: "Feature importances (impurity decrease)",
    width: 360,
    data: {
      values: Object.entries(importances).map(([feature, importance]) => ({ feature, importance })),
    },
    mark: "bar",
    encoding: {
      y: { field: "feature", type: "nominal", sort: "-x", title: null },
      x: { field: "importance", type: "quantitative", title: "importance" },
    },
  };
}

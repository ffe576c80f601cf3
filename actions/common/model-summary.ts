import * as core from "@actions/core";
import type { ModelManifest } from "../../lib/bundle/bundle.ts";
import { describeModel } from "../../stages/3-train/train.ts";
import { writeSummary } from "./runtime.ts";

/** The outputs and job summary of a trained bundle (train and merge alike). */
export async function reportModel(manifest: ModelManifest, title: string): Promise<void> {
  core.info(describeModel(manifest));
  const { metrics } = manifest;
  core.setOutput("metrics", JSON.stringify(metrics));
  core.setOutput("model-sha256", manifest.model.sha256);
  const top = Object.entries(manifest.featureImportances)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, value]) => `${name} ${value.toFixed(3)}`)
    .join(", ");
  await writeSummary(title, [
    ["Engine", `${manifest.engine.name} ${manifest.engine.version}`],
    ["Params", `\`${JSON.stringify(manifest.params)}\``],
    [
      "Validation RMSE / MAE / R²",
      `${metrics.validation.rmse.toFixed(0)} / ${metrics.validation.mae.toFixed(0)} / ${metrics.validation.r2.toFixed(4)}`,
    ],
    ["Train RMSE", metrics.train.rmse.toFixed(0)],
    ["OOB RMSE", metrics.oob ? metrics.oob.rmse.toFixed(0) : "n/a"],
    ["Top feature importances", top || "n/a"],
    ["Model sha256", manifest.model.sha256],
  ]);
}

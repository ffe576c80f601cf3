import * as core from "@actions/core";
import type { ModelManifest } from "../../lib/bundle/bundle.ts";
import { describeModel } from "../../stages/3-train/command.ts";
import { promotionTargetFromInputs, writeSummary } from "./runtime.ts";

/** Registers the bundle (unless told not to), sets the outputs and writes the job summary. */
export async function registerAndReport(
  manifest: ModelManifest,
  bundleDir: string,
  register: boolean,
) {
  core.info(describeModel(manifest));
  let tag = "";
  let version = "";
  if (register) {
    const { registry } = await promotionTargetFromInputs();
    const registered = await registry.register(bundleDir);
    ({ tag, version } = registered);
    core.info(`${registered.created ? "registered" : "already registered as"} ${tag}`);
  }
  const { metrics } = manifest;
  core.setOutput("version", version);
  core.setOutput("tag", tag);
  core.setOutput("metrics", JSON.stringify(metrics));
  core.setOutput("model-sha256", manifest.model.sha256);
  const top = Object.entries(manifest.featureImportances)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, value]) => `${name} ${value.toFixed(3)}`)
    .join(", ");
  await writeSummary(`Train ${tag || "(not registered)"}`, [
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

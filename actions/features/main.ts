import * as core from "@actions/core";
import { loadParams, paramOverrides } from "../../lib/params/params.ts";
import { describeFeatures, runFeatures } from "../../stages/2-features/features.ts";
import { readInputs } from "../common/inputs.ts";
import { downloadDir, runAction, uploadDir, writeSummary } from "../common/runtime.ts";
import { FEATURES_ACTION } from "./spec.ts";

async function main() {
  const inputs = readInputs(FEATURES_ACTION.inputs);
  const params = await loadParams(inputs["params-file"], paramOverrides(inputs));
  await downloadDir(inputs["ingest-artifact"], inputs["ingest-dir"]);
  const report = await runFeatures({
    ingestDir: inputs["ingest-dir"],
    outDir: inputs["out-dir"],
    ...params.features,
    onProgress: (message) => core.info(message),
  });
  core.info(describeFeatures(report));
  const artifactId = await uploadDir(inputs["artifact-name"], inputs["out-dir"]);
  core.setOutput("report", JSON.stringify(report));
  core.setOutput("features", JSON.stringify(report.features));
  core.setOutput("schema-sha256", report.schemaSha256);
  core.setOutput("artifact-id", artifactId ?? "");
  await writeSummary("Features", [
    ["Rows", String(report.rows)],
    ["Features", report.features.join(", ")],
    [
      "Split",
      `${report.split.rows.train} train / ${report.split.rows.test} test (seed ${report.split.seed})`,
    ],
    ["Feature schema sha256", report.schemaSha256],
  ]);
}

await runAction(main);

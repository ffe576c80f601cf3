import * as core from "@actions/core";
import { loadParams, paramOverrides } from "../../lib/params/params.ts";
import { describeIngest, runIngest } from "../../stages/1-ingest/ingest.ts";
import { readInputs } from "../common/inputs.ts";
import { runAction, uploadDir, writeSummary } from "../common/runtime.ts";
import { INGEST_ACTION } from "./spec.ts";

async function main() {
  const inputs = readInputs(INGEST_ACTION.inputs);
  const params = await loadParams(inputs["params-file"], paramOverrides(inputs));
  const report = await runIngest({
    input: inputs.input,
    outDir: inputs["out-dir"],
    maxQuarantineShare: params.ingest.maxQuarantineShare,
    onProgress: (message) => core.info(message),
  });
  core.info(describeIngest(report));
  const artifactId = await uploadDir(inputs["artifact-name"], inputs["out-dir"]);
  core.setOutput("report", JSON.stringify(report));
  core.setOutput("rows-kept", report.rows.kept);
  core.setOutput("rows-quarantined", report.rows.quarantined);
  core.setOutput("artifact-id", artifactId ?? "");
  await writeSummary("Ingest", [
    ["Input", `${report.input.path} (sha256 ${report.input.sha256.slice(0, 12)}…)`],
    ["Rows read", String(report.rows.read)],
    ["Rows kept", String(report.rows.kept)],
    ["Rows quarantined", String(report.rows.quarantined)],
    ...Object.entries(report.quarantinedByRule).map(([rule, count]): [string, string] => [
      `Quarantined: ${rule}`,
      String(count),
    ]),
    ...Object.entries(report.imputed).map(([column, info]): [string, string] => [
      `Imputed ${column}`,
      `${info.count} values with the ${info.method} ${info.value}`,
    ]),
    ["Extra columns left out", report.extraColumns.join(", ") || "none"],
  ]);
}

await runAction(main);

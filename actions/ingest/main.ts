import * as core from "@actions/core";
import { describeIngest, parseShare } from "../../stages/1-ingest/command.ts";
import { runIngest } from "../../stages/1-ingest/ingest.ts";
import { input, runAction, uploadDir, writeSummary } from "../common/runtime.ts";

async function main() {
  const settings = {
    input: input("input", "data/housing.csv"),
    outDir: input("out-dir", ".pipeline/ingest"),
    maxQuarantineShare: parseShare(input("max-quarantine", "0.01"), "max-quarantine"),
    artifact: input("artifact-name"),
  };
  const report = await runIngest({ ...settings, onProgress: (message) => core.info(message) });
  core.info(describeIngest(report));
  const artifactId = await uploadDir(settings.artifact, settings.outDir);
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

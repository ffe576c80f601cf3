import * as core from "@actions/core";
import { describeFeatures } from "../../stages/2-features/command.ts";
import { runFeatures } from "../../stages/2-features/features.ts";
import {
  downloadDir,
  input,
  numberInput,
  runAction,
  uploadDir,
  writeSummary,
} from "../common/runtime.ts";

async function main() {
  const settings = {
    ingestDir: input("ingest-dir", ".pipeline/ingest"),
    outDir: input("out-dir", ".pipeline/features"),
    testFraction: numberInput("test-fraction", 0.2),
    seed: numberInput("seed", 42),
    ingestArtifact: input("ingest-artifact"),
    artifact: input("artifact-name"),
  };
  await downloadDir(settings.ingestArtifact, settings.ingestDir);
  const report = await runFeatures({ ...settings, onProgress: (message) => core.info(message) });
  core.info(describeFeatures(report));
  const artifactId = await uploadDir(settings.artifact, settings.outDir);
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

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as core from "@actions/core";
import { loadParams, paramOverrides } from "../../lib/params/params.ts";
import {
  type CandidateResult,
  evaluateCandidate,
  GateFailedError,
} from "../../stages/4-evaluate/candidate.ts";
import { readInputs } from "../common/inputs.ts";
import {
  actionContext,
  downloadDir,
  promotionTarget,
  runAction,
  uploadDir,
  writeMarkdownSummary,
} from "../common/runtime.ts";
import { EVALUATE_ACTION } from "./spec.ts";

async function main() {
  const inputs = readInputs(EVALUATE_ACTION.inputs);
  const params = await loadParams(inputs["params-file"], paramOverrides(inputs));
  const context = actionContext(inputs["github-token"]);
  await downloadDir(inputs["features-artifact"], inputs["features-dir"]);
  if (inputs["model-artifact"]) {
    if (!inputs["bundle-dir"])
      throw new Error("Invalid input bundle-dir: required with model-artifact (where it goes)");
    await downloadDir(inputs["model-artifact"], inputs["bundle-dir"]);
  }
  const { registry } = await promotionTarget(context);
  let result: CandidateResult;
  try {
    result = await evaluateCandidate({
      registry,
      featuresDir: inputs["features-dir"],
      bundleDir: inputs["bundle-dir"],
      version: inputs.version,
      workDir: inputs["work-dir"],
      warn: (message) => core.warning(message),
      ...params.evaluate,
    });
  } catch (error) {
    if (error instanceof GateFailedError) await publish(error.result, inputs["artifact-name"]);
    throw error;
  }
  await publish(result, inputs["artifact-name"]);
  core.info(`${result.tag} passed: assigned ${result.stagingTag}`);
}

/** Outputs, artifact and job summary, on pass and on fail alike. */
async function publish(result: CandidateResult, artifact: string | undefined) {
  core.setOutput("passed", String(result.report.passed));
  core.setOutput("version", result.version);
  core.setOutput("tag", result.tag);
  core.setOutput("created", String(result.created));
  core.setOutput("rmse", result.report.candidate.metrics.rmse.toFixed(2));
  core.setOutput("staging-tag", result.stagingTag ?? "");
  core.setOutput("report-file", join(result.reportDir, "report.md"));
  await uploadDir(artifact, result.reportDir);
  await writeMarkdownSummary(await readFile(join(result.reportDir, "report.md"), "utf8"));
}

await runAction(main);

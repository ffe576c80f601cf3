import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as core from "@actions/core";
import type { CandidateResult } from "../../stages/4-evaluate/candidate.ts";
import { evaluateCandidate, GateFailedError } from "../../stages/4-evaluate/candidate.ts";
import {
  downloadDir,
  input,
  paramsFromInputs,
  promotionTargetFromInputs,
  runAction,
  uploadDir,
} from "../common/runtime.ts";

async function main() {
  const params = await paramsFromInputs();
  const featuresDir = input("features-dir", ".pipeline/features");
  const workDir = input("work-dir", ".pipeline/evaluate");
  await downloadDir(input("features-artifact"), featuresDir);
  const { registry } = await promotionTargetFromInputs();
  let result: CandidateResult;
  try {
    result = await evaluateCandidate({
      registry,
      featuresDir,
      workDir,
      version: input("version") || undefined,
      ...params.evaluate,
    });
  } catch (error) {
    if (error instanceof GateFailedError) await publish(error.result, input("artifact-name"));
    throw error;
  }
  await publish(result, input("artifact-name"));
  core.info(`passed: assigned ${result.stagingTag}`);
}

/** Outputs, artifact and job summary, on pass and on fail alike. */
async function publish(result: CandidateResult, artifact: string) {
  core.setOutput("passed", String(result.report.passed));
  core.setOutput("version", result.version);
  core.setOutput("tag", result.tag);
  core.setOutput("rmse", result.report.candidate.metrics.rmse.toFixed(2));
  core.setOutput("staging-tag", result.stagingTag ?? "");
  core.setOutput("report-file", join(result.reportDir, "report.md"));
  await uploadDir(artifact, result.reportDir);
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary
      .addRaw(await readFile(join(result.reportDir, "report.md"), "utf8"), true)
      .write();
  }
}

await runAction(main);

import * as core from "@actions/core";
import { runDeploy } from "../../stages/6-deploy/deploy.ts";
import { readInputs } from "../common/inputs.ts";
import { actionContext, promotionTarget, runAction, writeSummary } from "../common/runtime.ts";
import { DEPLOY_ACTION } from "./spec.ts";

async function main() {
  const inputs = readInputs(DEPLOY_ACTION.inputs);
  const { registry } = await promotionTarget(actionContext(inputs["github-token"]));
  const result = await runDeploy({
    registry,
    version: inputs.version,
    pointerFile: inputs["pointer-file"],
    modelsDir: inputs["models-dir"],
  });
  core.setOutput("version", result.version);
  core.setOutput("tag", result.tag);
  core.setOutput("model-dir", result.dir);
  core.setOutput("sha256", result.sha256);
  core.info(
    `deployed ${result.tag} to ${result.current}; ${result.assignmentTag ?? "not assigned"}`,
  );
  await writeSummary(`Deploy house-price ${result.version}`, [
    ["Model folder", result.dir],
    ["Live link", result.current],
    ["Model sha256", result.sha256],
    ["Production assignment", result.assignmentTag ?? "none"],
  ]);
}

await runAction(main);

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
    link: inputs.link,
    assign: inputs.assign,
  });
  core.setOutput("version", result.version);
  core.setOutput("tag", result.tag);
  core.setOutput("model-dir", result.dir);
  core.setOutput("sha256", result.sha256);
  core.info(
    `verified ${result.tag} in ${result.dir}${result.current ? `, live at ${result.current}` : ""}; ${result.assignmentTag ?? "production not assigned"}`,
  );
  await writeSummary(`Deploy house-price ${result.version}`, [
    ["Model folder", result.dir],
    ["Live link", result.current ?? "not linked"],
    ["Model sha256", result.sha256],
    ["Production assignment", result.assignmentTag ?? "none"],
  ]);
}

await runAction(main);

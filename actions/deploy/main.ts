import * as core from "@actions/core";
import { runDeploy } from "../../stages/6-deploy/deploy.ts";
import { input, promotionTargetFromInputs, runAction, writeSummary } from "../common/runtime.ts";

async function main() {
  const { registry } = await promotionTargetFromInputs();
  const result = await runDeploy({
    registry,
    version: input("version") || undefined,
    pointerFile: input("pointer-file", "deploy/production.json"),
    modelsDir: input("models-dir", "deploy/models"),
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

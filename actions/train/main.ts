import * as core from "@actions/core";
import { progressPrinter } from "../../lib/io/progress.ts";
import { loadParams, paramOverrides } from "../../lib/params/params.ts";
import { isShardResult, runTrain } from "../../stages/3-train/train.ts";
import { readInputs } from "../common/inputs.ts";
import { reportModel } from "../common/model-summary.ts";
import { actionContext, downloadDir, runAction, uploadDir } from "../common/runtime.ts";
import { TRAIN_ACTION } from "./spec.ts";

async function main() {
  const inputs = readInputs(TRAIN_ACTION.inputs);
  const params = await loadParams(inputs["params-file"], paramOverrides(inputs));
  const context = actionContext(undefined);
  await downloadDir(inputs["features-artifact"], inputs["features-dir"]);
  const progress = progressPrinter("train", "trees", process.stdout);
  const result = await runTrain({
    featuresDir: inputs["features-dir"],
    outDir: inputs["out-dir"],
    params: params.train,
    shard: inputs.shard,
    workers: inputs.workers,
    context,
    onProgress: progress.update,
  });
  progress.end();
  core.setOutput(
    "artifact-id",
    (await uploadDir(inputs["artifact-name"], inputs["out-dir"])) ?? "",
  );
  if (isShardResult(result)) {
    core.info(`shard ${result.shard} grew trees ${result.trees[0]}..${result.trees[1] - 1}`);
    core.setOutput("metrics", "");
    core.setOutput("model-sha256", "");
    return;
  }
  await reportModel(result, "Train");
}

await runAction(main);

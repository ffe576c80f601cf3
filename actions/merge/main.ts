import { join } from "node:path";
import { runMerge } from "../../stages/3-train/train.ts";
import { readInputs } from "../common/inputs.ts";
import { reportModel } from "../common/model-summary.ts";
import { actionContext, downloadDir, runAction, uploadDir } from "../common/runtime.ts";
import { MERGE_ACTION } from "./spec.ts";

async function main() {
  const inputs = readInputs(MERGE_ACTION.inputs);
  const context = actionContext(undefined);
  await downloadDir(inputs["features-artifact"], inputs["features-dir"]);
  const shardDirs = inputs["shard-artifacts"].map((name) => join(inputs["shards-dir"], name));
  for (const [i, name] of inputs["shard-artifacts"].entries())
    await downloadDir(name, shardDirs[i]);
  const manifest = await runMerge({
    shardDirs,
    featuresDir: inputs["features-dir"],
    outDir: inputs["out-dir"],
    context,
  });
  await uploadDir(inputs["artifact-name"], inputs["out-dir"]);
  await reportModel(manifest, "Merge");
}

await runAction(main);

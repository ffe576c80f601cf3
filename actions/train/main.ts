import * as core from "@actions/core";
import { isShardResult, runTrain } from "../../stages/3-train/train.ts";
import { registerAndReport } from "../common/register.ts";
import { downloadDir, input, paramsFromInputs, runAction, uploadDir } from "../common/runtime.ts";

async function main() {
  const params = await paramsFromInputs();
  const shardText = input("shard");
  const settings = {
    featuresDir: input("features-dir", ".pipeline/features"),
    featuresArtifact: input("features-artifact"),
    outDir: input("out-dir", ".pipeline/train"),
    artifact: input("artifact-name"),
    register: input("register", "true") === "true",
  };
  const shard = shardText ? /^(\d+)\/(\d+)$/.exec(shardText) : null;
  if (shardText && !shard)
    throw new Error(`Invalid shard input: "${shardText}"; expected INDEX/COUNT such as 0/2`);
  await downloadDir(settings.featuresArtifact, settings.featuresDir);

  let lastLogged = 0;
  const result = await runTrain({
    featuresDir: settings.featuresDir,
    outDir: settings.outDir,
    params: params.train,
    shard: shard ? { index: Number(shard[1]), count: Number(shard[2]) } : undefined,
    onProgress: (done, total) => {
      if (done === total || done - lastLogged >= Math.ceil(total / 10)) {
        lastLogged = done;
        core.info(`train: ${done}/${total} trees`);
      }
    },
  });
  core.setOutput("artifact-id", (await uploadDir(settings.artifact, settings.outDir)) ?? "");
  if (isShardResult(result)) {
    core.info(`shard ${result.shard} grew trees ${result.trees[0]}..${result.trees[1] - 1}`);
    core.setOutput("version", "");
    return;
  }
  await registerAndReport(result, settings.outDir, settings.register);
}

await runAction(main);

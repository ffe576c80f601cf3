import { join } from "node:path";
import { runMerge } from "../../stages/3-train/train.ts";
import { registerAndReport } from "../common/register.ts";
import { downloadDir, input, runAction, uploadDir } from "../common/runtime.ts";

async function main() {
  const featuresDir = input("features-dir", ".pipeline/features");
  const outDir = input("out-dir", ".pipeline/train");
  const shardsDir = input("shards-dir", ".pipeline/shards");
  const shardArtifacts = input("shard-artifacts")
    .split(/[\s,]+/)
    .filter(Boolean);
  if (shardArtifacts.length === 0)
    throw new Error("Invalid shard-artifacts input: give the shard artifact names, in shard order");
  await downloadDir(input("features-artifact"), featuresDir);
  const shardDirs = shardArtifacts.map((name) => join(shardsDir, name));
  for (const [i, name] of shardArtifacts.entries()) await downloadDir(name, shardDirs[i]);
  const manifest = await runMerge({ shardDirs, featuresDir, outDir });
  await uploadDir(input("artifact-name"), outDir);
  await registerAndReport(manifest, outDir, input("register", "true") === "true");
}

await runAction(main);

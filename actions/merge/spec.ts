import { list, text } from "../../lib/cli/settings.ts";
import { MERGE_SETTINGS } from "../../stages/3-train/settings.ts";
import { artifactName, artifactToDownload } from "../common/inputs.ts";
import type { ActionSpec } from "../common/spec.ts";

const { "shard-dirs": _dirs, ...settings } = MERGE_SETTINGS;

export const MERGE_ACTION = {
  id: "merge",
  name: "House-price merge",
  description:
    "merges forest shards trained by parallel train jobs into one model bundle (byte-identical to training it in one job); the evaluate action registers it",
  inputs: {
    "shard-artifacts": list({
      description: "the shard artifacts of this run, in shard order (space or comma separated)",
      value: "NAMES",
      required: true,
    }),
    "shards-dir": text({
      description: "folder the shard artifacts are downloaded into, one subfolder each",
      value: "DIR",
      default: ".pipeline/shards",
    }),
    ...settings,
    "features-artifact": artifactToDownload("features-dir"),
    "artifact-name": artifactName("the merged bundle folder"),
  },
  outputs: {
    metrics: "train, out-of-bag and validation metrics as JSON",
    "model-sha256": "sha256 of the merged model file",
  },
  permissions: {},
  example: `name: Merge the shards into one forest
uses: ./actions/merge
with:
  shard-artifacts: shard-0 shard-1
  features-artifact: features
  artifact-name: model`,
} satisfies ActionSpec;

import { TRAIN_SETTINGS } from "../../stages/3-train/settings.ts";
import { artifactName, artifactToDownload } from "../common/inputs.ts";
import type { ActionSpec } from "../common/spec.ts";

export const TRAIN_ACTION = {
  id: "train",
  name: "House-price train",
  description:
    "trains the random forest (or one shard of it) on the train split and writes the model bundle; the evaluate action registers it",
  inputs: {
    ...TRAIN_SETTINGS,
    "features-artifact": artifactToDownload("features-dir"),
    "artifact-name": artifactName("the bundle (or shard) folder"),
  },
  outputs: {
    metrics: "train, out-of-bag and validation metrics as JSON (empty for a shard)",
    "model-sha256": "sha256 of the model file (empty for a shard)",
    "artifact-id": "id of the uploaded artifact, empty when none was uploaded",
  },
  permissions: {},
  example: `name: Train the random forest
uses: ./actions/train
with:
  features-artifact: features
  artifact-name: model
  trees: \${{ inputs.trees }} # empty: params.json's train.nEstimators`,
} satisfies ActionSpec;

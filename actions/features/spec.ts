import { FEATURES_SETTINGS } from "../../stages/2-features/settings.ts";
import { artifactName, artifactToDownload } from "../common/inputs.ts";
import type { ActionSpec } from "../common/spec.ts";

export const FEATURES_ACTION = {
  id: "features",
  name: "House-price features",
  description:
    "derives the ratio and one-hot features and the seeded train/test split from the ingest output, and writes the feature schema",
  inputs: {
    ...FEATURES_SETTINGS,
    "ingest-artifact": artifactToDownload("ingest-dir"),
    "artifact-name": artifactName("the output folder"),
  },
  outputs: {
    report: "the features report (features.json) as a JSON string",
    features: "the ordered feature names as a JSON array",
    "schema-sha256": "sha256 of feature_schema.json",
    "artifact-id": "id of the uploaded artifact, empty when none was uploaded",
  },
  permissions: {},
  example: `name: Derive the features and the split
uses: ./actions/features
with:
  ingest-artifact: ingest
  artifact-name: features`,
} satisfies ActionSpec;

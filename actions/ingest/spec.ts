import { INGEST_SETTINGS } from "../../stages/1-ingest/settings.ts";
import { artifactName } from "../common/inputs.ts";
import type { ActionSpec } from "../common/spec.ts";

export const INGEST_ACTION = {
  id: "ingest",
  name: "House-price ingest",
  description:
    "validates the raw housing CSV with nodejs-polars, quarantines bad rows, imputes total_bedrooms and writes clean Parquet",
  inputs: { ...INGEST_SETTINGS, "artifact-name": artifactName("the output folder") },
  outputs: {
    report: "the ingest report (ingest.json) as a JSON string",
    "rows-kept": "number of rows that passed validation",
    "rows-quarantined": "number of rows written to quarantine.csv",
    "artifact-id": "id of the uploaded artifact, empty when none was uploaded",
  },
  permissions: {},
  example: `name: Ingest the raw CSV
uses: ./actions/ingest
with:
  input: data/housing.csv
  max-quarantine: \${{ inputs.max-quarantine }} # empty: params.json's ingest.maxQuarantineShare
  artifact-name: ingest`,
} satisfies ActionSpec;

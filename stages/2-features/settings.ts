import { text } from "../../lib/cli/settings.ts";
import { PARAMS_FILE_SETTING, paramSettings } from "../../lib/params/params.ts";

/** What features takes: the CLI's options and the action's inputs, by the same names. */
export const FEATURES_SETTINGS = {
  "ingest-dir": text({
    description: "the ingest stage's output folder",
    value: "DIR",
    default: ".pipeline/ingest",
  }),
  "out-dir": text({
    description: "output folder: features.parquet, feature_schema.json, split.json, features.json",
    value: "DIR",
    default: ".pipeline/features",
  }),
  "params-file": PARAMS_FILE_SETTING,
  ...paramSettings("features"),
};

import { text } from "../../lib/cli/settings.ts";
import { PARAMS_FILE_SETTING, paramSettings } from "../../lib/params/params.ts";
import { DEFAULT_DATASET_PATH } from "../0-fetch/fetch.ts";

/** What ingest takes: the CLI's options and the action's inputs, by the same names. */
export const INGEST_SETTINGS = {
  input: text({ description: "the raw housing CSV", value: "PATH", default: DEFAULT_DATASET_PATH }),
  "out-dir": text({
    description: "output folder: clean.parquet, quarantine.csv, ingest.json",
    value: "DIR",
    default: ".pipeline/ingest",
  }),
  "params-file": PARAMS_FILE_SETTING,
  ...paramSettings("ingest"),
};

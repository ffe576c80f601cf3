import { text } from "../../lib/cli/settings.ts";
import { PARAMS_FILE_SETTING, paramSettings } from "../../lib/params/params.ts";
import { FEATURES_DIR_SETTING } from "../3-train/settings.ts";

/** What evaluate takes: the CLI's options and the action's inputs, by the same names. */
export const EVALUATE_SETTINGS = {
  "features-dir": FEATURES_DIR_SETTING,
  "bundle-dir": text({
    description:
      "a trained model bundle to evaluate and then register with its report (the pipeline's way); without it, a registered version is evaluated again",
    value: "DIR",
  }),
  version: text({
    description: "without bundle-dir: the registered version to evaluate (default: the latest)",
    value: "VERSION",
  }),
  "work-dir": text({
    description: "folder for the production bundle and the report (in report/)",
    value: "DIR",
    default: ".pipeline/evaluate",
  }),
  "params-file": PARAMS_FILE_SETTING,
  ...paramSettings("evaluate"),
};

import { list, number, shard, text } from "../../lib/cli/settings.ts";
import { PARAMS_FILE_SETTING, paramSettings } from "../../lib/params/params.ts";

/** The features output folder, as every stage after features reads it. */
export const FEATURES_DIR_SETTING = text({
  description: "the features stage's output folder (the persisted split)",
  value: "DIR",
  default: ".pipeline/features",
});

const BUNDLE_DIR = text({
  description: "the model bundle folder: model.bin, manifest.json, metrics.json",
  value: "DIR",
  default: ".pipeline/train",
});

/** What train takes: the CLI's options and the action's inputs, by the same names. */
export const TRAIN_SETTINGS = {
  "features-dir": FEATURES_DIR_SETTING,
  "out-dir": BUNDLE_DIR,
  shard: shard({ description: "train only shard K of N (0-based) of the trees; merge the shards" }),
  workers: number({
    description: "threads that grow trees, this one included (default: one per core)",
  }),
  "params-file": PARAMS_FILE_SETTING,
  ...paramSettings("train"),
};

/** What merge takes. */
export const MERGE_SETTINGS = {
  "shard-dirs": list({
    description: "the shard folders written by train with shard K/N, in shard order",
    value: "DIRS",
    required: true,
  }),
  "features-dir": FEATURES_DIR_SETTING,
  "out-dir": BUNDLE_DIR,
};

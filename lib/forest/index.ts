// The random-forest regression engine: training, prediction, shards, model files.
export type { Dataset, ForestInfo, ForestPredictor } from "./forest.ts";
export { datasetSha256, Forest, mergeForests, oobRmse } from "./forest.ts";
export type { MlRandomForestModel } from "./ml-random-forest.ts";
export { loadMlRandomForest, trainWithMlRandomForest } from "./ml-random-forest.ts";
export type { ModelFileManifest, ModelHeader } from "./model-file.ts";
export {
  deserializeForest,
  FOREST_FORMAT,
  MODEL_FORMAT_VERSION,
  modelFileManifest,
  serializeForest,
} from "./model-file.ts";
export type { ForestParams } from "./params.ts";
export { DEFAULT_FOREST_PARAMS, featuresPerSplit, validateForestParams } from "./params.ts";
export type { TrainOptions } from "./train.ts";
export { trainForest, validateDataset } from "./train.ts";

// Loads the features stage's output as dense matrices for training and evaluation.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pl from "nodejs-polars";
import type { Dataset as ForestDataset } from "../forest/forest.ts";
import { InputError } from "../io/errors.ts";
import type { FeatureSchema } from "../schema/features.ts";
import { FEATURES_FILES, SPLIT_COLUMN } from "../schema/features.ts";

/** A dense, row-major feature matrix with its target, as the forest trains on it. */
export interface Dataset extends ForestDataset {
  /** Source line of each row in the raw CSV, for tracing predictions back. */
  rowIds: Float64Array;
}

export type SplitSide = "train" | "test";

/** Reads the feature schema written by the features stage. */
export async function readFeatureSchema(featuresDir: string): Promise<FeatureSchema> {
  const path = join(featuresDir, FEATURES_FILES.schema);
  try {
    return JSON.parse(await readFile(path, "utf8")) as FeatureSchema;
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message;
    throw new InputError(
      `${path}: ${reason}; run the features stage first (npm run stage -- features)`,
    );
  }
}

/** Loads one side of the persisted split as a dense matrix in the schema's feature order. */
export async function loadSide(
  featuresDir: string,
  schema: FeatureSchema,
  side: SplitSide,
): Promise<Dataset> {
  const frame = await pl
    .scanParquet(join(featuresDir, FEATURES_FILES.features))
    .filter(pl.col(SPLIT_COLUMN).eq(pl.lit(side)))
    .select("row", ...schema.features, schema.target)
    .collect();
  return toDataset(frame, schema);
}

/** Turns a frame holding the schema's features and target into a row-major Dataset. */
export function toDataset(frame: pl.DataFrame, schema: FeatureSchema): Dataset {
  const nRows = frame.height;
  const nFeatures = schema.features.length;
  const x = new Float64Array(nRows * nFeatures);
  schema.features.forEach((name, f) => {
    const column = frame.getColumn(name).cast(pl.Float64).toTypedArray() as Float64Array;
    for (let r = 0; r < nRows; r++) x[r * nFeatures + f] = column[r];
  });
  const y = Float64Array.from(
    frame.getColumn(schema.target).cast(pl.Float64).toTypedArray() as Float64Array,
  );
  const rowIds = frame.columns.includes("row")
    ? Float64Array.from(frame.getColumn("row").cast(pl.Float64).toTypedArray() as Float64Array)
    : new Float64Array(nRows);
  return { x, y, nRows, nFeatures, featureNames: [...schema.features], rowIds };
}

/** Loads the train and test sides and the schema of a features output folder. */
export async function loadSplit(featuresDir: string) {
  const schema = await readFeatureSchema(featuresDir);
  const [train, test] = await Promise.all([
    loadSide(featuresDir, schema, "train"),
    loadSide(featuresDir, schema, "test"),
  ]);
  return { train, test, schema };
}

// The feature schema: the one contract that the features stage, training and serving share.
// Every list of columns, every derived feature and the vocabulary live here and nowhere else.
import { z } from "zod";
import { canonicalJson, sha256 } from "../io/files.ts";

/** The raw numeric inputs, in the order they enter the feature vector. */
export const NUMERIC_INPUTS = [
  "longitude",
  "latitude",
  "housing_median_age",
  "total_rooms",
  "total_bedrooms",
  "population",
  "households",
  "median_income",
] as const;
export type NumericInput = (typeof NUMERIC_INPUTS)[number];

export const TARGET = "median_house_value" as const;
export const CATEGORY_COLUMN = "ocean_proximity" as const;
/** The fixed vocabulary of `ocean_proximity`; one one-hot feature per value, in this order. */
export const OCEAN_PROXIMITY_VALUES = ["<1H OCEAN", "INLAND", "ISLAND", "NEAR BAY", "NEAR OCEAN"];

/** Derived ratio features: numerator / denominator of raw inputs. */
export const RATIO_FEATURES = [
  { name: "rooms_per_household", numerator: "total_rooms", denominator: "households" },
  { name: "bedrooms_per_room", numerator: "total_bedrooms", denominator: "total_rooms" },
  { name: "population_per_household", numerator: "population", denominator: "households" },
] as const satisfies readonly {
  name: string;
  numerator: NumericInput;
  denominator: NumericInput;
}[];

export const FEATURE_SCHEMA_VERSION = 1;

/** feature_schema.json: what the features stage wrote and what a model was trained on. */
export const featureSchemaSchema = z.looseObject({
  schemaVersion: z.number().int(),
  /** Ordered feature names: the model's input vector. */
  features: z.array(z.string()).min(1),
  dtypes: z.record(z.string(), z.literal("float64")),
  numericInputs: z.array(z.string()),
  ratios: z.array(z.object({ name: z.string(), numerator: z.string(), denominator: z.string() })),
  category: z.object({
    column: z.string(),
    values: z.array(z.string()),
    featurePrefix: z.string(),
  }),
  /** Values used for missing inputs, e.g. the training median of total_bedrooms. */
  imputation: z.record(z.string(), z.number()),
  target: z.string(),
});
export type FeatureSchema = z.infer<typeof featureSchemaSchema>;

/** What the features stage writes; training and evaluation read the same names. */
export const FEATURES_FILES = {
  features: "features.parquet",
  schema: "feature_schema.json",
  split: "split.json",
  report: "features.json",
} as const;
/** The column of features.parquet that puts each row in `train` or `test`. */
export const SPLIT_COLUMN = "split";

/**
 * sha256 of what a caller must send: ordered features, vocabulary and derived-feature
 * definitions (not the imputation values). A change means callers must change: a major bump.
 */
export function featureContractSha256(schema: FeatureSchema): string {
  return sha256(
    canonicalJson({
      features: schema.features,
      category: { column: schema.category.column, values: schema.category.values },
      numericInputs: schema.numericInputs,
      ratios: schema.ratios,
    }),
  );
}

/** The one-hot feature name for a category value, e.g. `ocean_proximity=INLAND`. */
export function oneHotName(value: string): string {
  return `${CATEGORY_COLUMN}=${value}`;
}

/** Builds the schema for the given imputation values. */
export function buildFeatureSchema(imputation: Record<string, number>): FeatureSchema {
  const features = [
    ...NUMERIC_INPUTS,
    ...RATIO_FEATURES.map((ratio) => ratio.name),
    ...OCEAN_PROXIMITY_VALUES.map(oneHotName),
  ];
  return {
    schemaVersion: FEATURE_SCHEMA_VERSION,
    features,
    dtypes: Object.fromEntries(features.map((name) => [name, "float64"])),
    numericInputs: [...NUMERIC_INPUTS],
    ratios: RATIO_FEATURES.map((ratio) => ({ ...ratio })),
    category: {
      column: CATEGORY_COLUMN,
      values: [...OCEAN_PROXIMITY_VALUES],
      featurePrefix: `${CATEGORY_COLUMN}=`,
    },
    imputation,
    target: TARGET,
  };
}

/** One raw record as serving receives it (total_bedrooms may be missing). */
export type RawRecord = Record<NumericInput, number | null | undefined> & {
  ocean_proximity: string;
};

/** One block group of the dataset (its first row), as a client sends it: the seed's payload. */
export const SAMPLE_RECORD = {
  longitude: -122.23,
  latitude: 37.88,
  housing_median_age: 41,
  total_rooms: 880,
  total_bedrooms: 129,
  population: 322,
  households: 126,
  median_income: 8.3252,
  ocean_proximity: "NEAR BAY",
} satisfies RawRecord;

/**
 * Turns one raw record into the model's feature vector, exactly as the features stage does.
 * Throws when the category value is outside the vocabulary.
 */
export function featureVector(
  record: RawRecord,
  schema: FeatureSchema,
  out = new Float64Array(schema.features.length),
): Float64Array {
  const inputs: Record<string, number> = {};
  let i = 0;
  for (const name of schema.numericInputs) {
    const value = record[name as NumericInput] ?? schema.imputation[name];
    if (value === undefined || value === null) throw new Error(`${name}: a value is required`);
    inputs[name] = value;
    out[i++] = value;
  }
  for (const ratio of schema.ratios) out[i++] = inputs[ratio.numerator] / inputs[ratio.denominator];
  const hot = schema.category.values.indexOf(record[schema.category.column as "ocean_proximity"]);
  if (hot < 0) {
    throw new Error(
      `${schema.category.column}: "${record.ocean_proximity}" is not one of ${schema.category.values.join(", ")}`,
    );
  }
  for (let v = 0; v < schema.category.values.length; v++) out[i++] = v === hot ? 1 : 0;
  return out;
}

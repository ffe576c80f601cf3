// The request contract of the prediction service, as zod schemas: one builder derives every request
// body from the input rules (rules.ts) and a model's feature schema (features.ts). The server
// validates with these schemas and the OpenAPI document is generated from them, so the two cannot
// disagree. No polars here: the server imports this without the data stack.
import { z } from "zod";
import {
  CATEGORY_COLUMN,
  type FeatureSchema,
  NUMERIC_INPUTS,
  OCEAN_PROXIMITY_VALUES,
  type RawRecord,
} from "./features.ts";
import {
  describeRange,
  NUMERIC_RULES,
  type NumericRule,
  numericRule,
  REQUEST_LIMIT,
  ruleBounds,
  withinBounds,
} from "./rules.ts";

/** What a request must carry for one model: its numeric inputs, which of them it imputes, its vocabulary. */
export interface RequestInputs {
  /** In the model's order: the order of a `dataframe_split` request's columns. */
  numeric: readonly string[];
  /** Inputs that may be null, NaN or absent: the model has an imputation value for them. */
  imputable: readonly string[];
  category: { column: string; values: readonly string[] };
}

/** The inputs of a model: its feature schema's numeric inputs, imputation map and vocabulary. */
export function requestInputs(schema: FeatureSchema): RequestInputs {
  return {
    numeric: schema.numericInputs,
    imputable: schema.numericInputs.filter((name) => Number.isFinite(schema.imputation[name])),
    category: { column: schema.category.column, values: schema.category.values },
  };
}

/** The inputs the ingest rules promise before any model is loaded (the rules' `imputed` columns). */
export const DEFAULT_REQUEST_INPUTS: RequestInputs = {
  numeric: NUMERIC_INPUTS,
  imputable: NUMERIC_RULES.filter((rule) => rule.imputed).map((rule) => rule.column),
  category: { column: CATEGORY_COLUMN, values: OCEAN_PROXIMITY_VALUES },
};

/** The MLflow scoring-server input formats /invocations accepts, each alone in the body. */
export const MLFLOW_FORMATS = ["dataframe_split", "dataframe_records", "instances"] as const;
export type MlflowFormat = (typeof MLFLOW_FORMATS)[number];

/** A value as an error message shows it: strings quoted and cut, containers named. */
export function describeValue(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value);
}

function ruleOf(name: string): NumericRule {
  const rule = numericRule(name);
  if (!rule)
    throw new Error(`input "${name}" has no rule in NUMERIC_RULES; the service cannot check it`);
  return rule;
}

/** A finite number inside the rule's bounds, capped at REQUEST_LIMIT where the data has no upper bound. */
function numberField(name: string) {
  const rule = ruleOf(name);
  const { lower, lowerInclusive, upper } = ruleBounds(rule, REQUEST_LIMIT);
  // describeRange names the data's range; an open upper end is capped for requests (ruleBounds).
  const cap = rule.max === undefined ? ` and <= ${upper}` : "";
  const expected = `expected a number ${describeRange(rule)}${cap} (${rule.meaning})`;
  const outOfRange = (issue: { input?: unknown }) =>
    `${expected}; got ${describeValue(issue.input)}`;
  const number = z.number({
    error: (issue) => (issue.input === undefined ? `required; ${expected}` : outOfRange(issue)),
  });
  const bounded = lowerInclusive
    ? number.min(lower, { error: outOfRange })
    : number.gt(lower, { error: outOfRange });
  return bounded.max(upper, { error: outOfRange });
}

function categoryField(values: readonly string[]) {
  const allowed = values.map((value) => JSON.stringify(value)).join(", ");
  return z.enum(values as [string, ...string[]], {
    error: (issue) =>
      issue.input === undefined
        ? `required; expected one of ${allowed}`
        : `expected one of ${allowed}; got ${describeValue(issue.input)}`,
  });
}

const IMPUTED = "optional: null, NaN or absent is imputed with the model's training value";

/**
 * One raw record. Keys it does not know are ignored (dropped), as a DataFrame's extra columns are:
 * the document leaves additionalProperties open, so the generator and the server agree.
 */
export function recordSchema(inputs: RequestInputs) {
  const shape: Record<string, z.ZodType> = {};
  for (const name of inputs.numeric) {
    const field = numberField(name);
    const { meaning } = ruleOf(name);
    shape[name] = inputs.imputable.includes(name)
      ? field
          .nullable()
          .optional()
          .meta({ description: `${meaning}; ${IMPUTED}` })
      : field.meta({ description: meaning });
  }
  shape[inputs.category.column] = categoryField(inputs.category.values);
  return z.object(shape, {
    error: (issue) => `expected a JSON object (one record); got ${describeValue(issue.input)}`,
  });
}

/**
 * A quick test of one record against the same rules as recordSchema, without building a result or
 * an error: true only for a record that the record schema accepts too, and whose fields the model
 * reads as they are (the schema's output drops unknown keys, which the model never reads).
 * Validating a batch with zod costs about 1.5 µs per record, this 0.1 µs; the server uses this
 * first and asks zod only when a record fails it, for zod's error messages.
 */
export function recordCheck(inputs: RequestInputs): (value: unknown) => value is RawRecord {
  const fields = inputs.numeric.map((name) => ({
    name,
    bounds: ruleBounds(ruleOf(name), REQUEST_LIMIT),
    imputable: inputs.imputable.includes(name),
  }));
  const { column, values } = inputs.category;
  const allowed = new Set<unknown>(values);
  return (value: unknown): value is RawRecord => {
    // As zod's z.object: an object that is not null or an array.
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
    const record = value as Record<string, unknown>;
    for (const { name, bounds, imputable } of fields) {
      const number = record[name];
      if (typeof number !== "number") {
        if (imputable && (number === null || number === undefined)) continue;
        return false;
      }
      // NaN fails every comparison; the bounds are finite, so ±Infinity fails one of them.
      if (!withinBounds(bounds, number)) return false;
    }
    return allowed.has(record[column]);
  };
}

export interface RequestSchemas {
  inputs: RequestInputs;
  maxBatch: number;
  /** One record, validated to a RawRecord. */
  record: z.ZodType<RawRecord>;
  /** True only for a record that `record` accepts (see recordCheck). */
  isRecord: (value: unknown) => value is RawRecord;
  /** 1..maxBatch records. */
  batch: z.ZodType<RawRecord[]>;
  /** POST /predict: one record or a batch. */
  predict: z.ZodType<RawRecord | RawRecord[]>;
  /** The value of `dataframe_split`: the model's columns in its order, rows that line up with them. */
  dataframeSplit: z.ZodType<{ columns: string[]; data: unknown[][]; index?: unknown[] }>;
  /** POST /invocations: exactly one MLflow format, nothing else. */
  invocations: z.ZodType;
}

/** Every request body the service accepts for a model with these inputs and MAX_BATCH. */
export function requestSchemas(inputs: RequestInputs, maxBatch: number): RequestSchemas {
  const record = recordSchema(inputs);
  const batch = z
    .array(record, { error: "expected an array of records (objects)" })
    .min(1, { error: `expected 1 to ${maxBatch} records; got 0` })
    .max(maxBatch, {
      error: (issue) =>
        `expected 1 to ${maxBatch} records (MAX_BATCH); got ${(issue.input as unknown[]).length}`,
    });
  const columns = [...inputs.numeric, inputs.category.column];
  const columnList = columns.join(", ");
  // A row's values line up with the columns by position, which JSON Schema can only say about a
  // fixed column list: so `columns` must be the model's inputs in its order and every row a tuple
  // of exactly those fields. An open column list would let a schema-valid request (any columns,
  // any values) fail validation, and the document and the server would disagree.
  const row = z.tuple(
    [
      ...inputs.numeric.map((name) =>
        inputs.imputable.includes(name) ? numberField(name).nullable() : numberField(name),
      ),
      categoryField(inputs.category.values),
    ] as unknown as [z.ZodType, ...z.ZodType[]],
    {
      error: (issue) =>
        Array.isArray(issue.input)
          ? `expected ${columns.length} values (one per column); got ${issue.input.length}`
          : `expected a row (an array of ${columns.length} values); got ${describeValue(issue.input)}`,
    },
  );
  const columnsError = `expected the columns ${columnList}, in this order`;
  const dataframeSplit = z
    .strictObject(
      {
        columns: z.tuple(
          columns.map((name) => z.literal(name, { error: columnsError })) as unknown as [
            z.ZodType,
            ...z.ZodType[],
          ],
          { error: columnsError },
        ),
        data: z
          .array(row, { error: "expected an array of rows (arrays)" })
          .min(1, { error: `expected 1 to ${maxBatch} rows; got 0` })
          .max(maxBatch, {
            error: (issue) =>
              `expected 1 to ${maxBatch} rows (MAX_BATCH); got ${(issue.input as unknown[]).length}`,
          }),
        // pandas' to_dict(orient="split"), which MLflow's client sends, carries the row labels.
        index: z.array(z.unknown(), { error: "expected an array of row labels" }).optional(),
      },
      {
        error: (issue) =>
          issue.code === "unrecognized_keys"
            ? `unexpected key(s) ${issue.keys.join(", ")}; expected columns, data and optionally index`
            : `expected an object with columns and data; got ${describeValue(issue.input)}`,
      },
    )
    .meta({ description: `Columns ${columnList}, in this order; one row per record` });
  // Each format alone in a strict object: a body with two formats, or with an unknown key, fits no
  // branch of the union, exactly as the server rejects it.
  const invocations = z.union(
    MLFLOW_FORMATS.map((format) =>
      z.strictObject({ [format]: format === "dataframe_split" ? dataframeSplit : batch }),
    ) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]],
  );
  return {
    inputs,
    maxBatch,
    record: record as unknown as z.ZodType<RawRecord>,
    isRecord: recordCheck(inputs),
    batch: batch as unknown as z.ZodType<RawRecord[]>,
    predict: z.union([record, batch]) as unknown as z.ZodType<RawRecord | RawRecord[]>,
    dataframeSplit: dataframeSplit as unknown as RequestSchemas["dataframeSplit"],
    invocations,
  };
}

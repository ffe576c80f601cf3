// Request validation: the record schema is built from the loaded model's feature schema (inputs,
// vocabulary, which inputs may be imputed) and the ingest stage's plausible ranges, so serving
// accepts exactly what training learned from.
import { z } from "zod";
import type { FeatureSchema, RawRecord } from "../../lib/schema/features.ts";
import { describeRange, NUMERIC_RULES } from "../../lib/schema/rules.ts";

/** The upper bound of inputs that have none in the ingest rules (counts, income): beyond it a value is absurd. */
export const ABSURD_LIMIT = 1e7;

export interface FieldProblem {
  field: string;
  message: string;
}

/** A client error: the HTTP status, a summary and one entry per bad field. */
export class RequestError extends Error {
  readonly status: number;
  readonly details: FieldProblem[];
  constructor(status: number, message: string, details: FieldProblem[] = []) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value);
}

function numberField(name: string, imputable: boolean) {
  const rule = NUMERIC_RULES.find((candidate) => candidate.column === name);
  const range = rule
    ? `${describeRange(rule)}${rule.max === undefined ? ` and <= ${ABSURD_LIMIT}` : ""} (${rule.meaning})`
    : `between ${-ABSURD_LIMIT} and ${ABSURD_LIMIT}`;
  const expected = `expected a number ${range}`;
  let field = z.number({
    error: (issue) =>
      issue.input === undefined
        ? `required; ${expected}`
        : `${expected}; got ${describeValue(issue.input)}`,
  });
  const outOfRange = (issue: { input: unknown }) =>
    `${expected}; got ${describeValue(issue.input)}`;
  if (rule?.min !== undefined) field = field.min(rule.min, { error: outOfRange });
  if (rule?.above !== undefined) field = field.gt(rule.above, { error: outOfRange });
  field = field.max(rule?.max ?? ABSURD_LIMIT, { error: outOfRange });
  if (!rule) field = field.min(-ABSURD_LIMIT, { error: outOfRange });
  return imputable ? field.nullable().optional() : field;
}

/** The zod schema of one raw record for this feature schema. */
export function recordSchema(schema: FeatureSchema): z.ZodType<RawRecord> {
  const values = schema.category.values;
  const allowed = values.map((value) => JSON.stringify(value)).join(", ");
  const shape: Record<string, z.ZodType> = {};
  for (const name of schema.numericInputs) {
    shape[name] = numberField(name, Number.isFinite(schema.imputation[name]));
  }
  shape[schema.category.column] = z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? `required; expected one of ${allowed}`
          : `expected one of ${allowed}; got ${describeValue(issue.input)}`,
    })
    .refine((value) => values.includes(value), {
      error: (issue) => `expected one of ${allowed}; got ${describeValue(issue.input)}`,
    });
  return z.object(shape, {
    error: (issue) => `expected a JSON object (one record); got ${describeValue(issue.input)}`,
  }) as unknown as z.ZodType<RawRecord>;
}

function fieldName(path: PropertyKey[], prefix: string): string {
  let name = prefix;
  for (const key of path)
    name += typeof key === "number" ? `[${key}]` : `${name ? "." : ""}${String(key)}`;
  return name || "(body)";
}

/** Validates one record; throws a 422 RequestError with a message per bad field. */
export function parseRecord(
  validator: z.ZodType<RawRecord>,
  body: unknown,
  prefix = "",
): RawRecord {
  const parsed = validator.safeParse(body);
  if (parsed.success) return parsed.data;
  throw invalid(parsed.error, prefix);
}

function invalid(error: z.ZodError, prefix: string): RequestError {
  const details = error.issues.map((issue) => ({
    field: fieldName(issue.path, prefix),
    message: issue.message,
  }));
  const fields = [...new Set(details.map((detail) => detail.field))];
  const shown =
    fields.slice(0, 5).join(", ") + (fields.length > 5 ? `, and ${fields.length - 5} more` : "");
  return new RequestError(422, `invalid request: ${shown}`, details.slice(0, 100));
}

/** Validates a batch of records (1..maxBatch); field names carry the record index, e.g. `[3].median_income`. */
export function parseRecords(
  validator: z.ZodType<RawRecord>,
  body: unknown[],
  maxBatch: number,
  prefix = "",
): RawRecord[] {
  if (body.length === 0) {
    throw new RequestError(
      422,
      "invalid request: the batch is empty; send 1 to MAX_BATCH records",
      [{ field: prefix || "(body)", message: `expected 1 to ${maxBatch} records; got 0` }],
    );
  }
  if (body.length > maxBatch) {
    throw new RequestError(
      413,
      `the batch has ${body.length} records; at most ${maxBatch} (MAX_BATCH) are accepted per request, split it`,
    );
  }
  const records = new Array<RawRecord>(body.length);
  const problems: z.ZodError["issues"] = [];
  for (let i = 0; i < body.length; i++) {
    const parsed = validator.safeParse(body[i]);
    if (parsed.success) records[i] = parsed.data;
    else
      for (const issue of parsed.error.issues)
        problems.push({ ...issue, path: [i, ...issue.path] });
  }
  if (problems.length > 0) throw invalid(new z.ZodError(problems), prefix);
  return records;
}

const dataframeSplit = z.object({
  columns: z.array(z.string(), { error: "expected an array of column names" }).min(1),
  data: z.array(z.array(z.unknown(), { error: "expected an array of rows (arrays)" }), {
    error: "expected an array of rows (arrays)",
  }),
});
const recordList = z.array(z.unknown(), { error: "expected an array of records (objects)" });

export const MLFLOW_FORMATS = ["dataframe_split", "dataframe_records", "instances"] as const;

/**
 * The records of an MLflow scoring-server request (`dataframe_split`, `dataframe_records` or
 * `instances`), not yet validated; throws a 422 RequestError naming the formats otherwise.
 */
export function mlflowRecords(
  body: unknown,
  maxBatch: number,
): { records: unknown[]; format: string } {
  const keys = body && typeof body === "object" && !Array.isArray(body) ? Object.keys(body) : [];
  const formats = MLFLOW_FORMATS.filter((format) => keys.includes(format));
  if (formats.length !== 1) {
    throw new RequestError(
      422,
      `invalid request: expected a JSON object with exactly one of ${MLFLOW_FORMATS.join(", ")}; found ${
        formats.length === 0 ? "none" : formats.join(" and ")
      }`,
      [{ field: "(body)", message: `expected exactly one of ${MLFLOW_FORMATS.join(", ")}` }],
    );
  }
  const format = formats[0];
  const value = (body as Record<string, unknown>)[format];
  if (format === "dataframe_split") {
    const parsed = dataframeSplit.safeParse(value);
    if (!parsed.success) throw invalid(parsed.error, format);
    const { columns, data } = parsed.data;
    if (data.length > maxBatch) return { records: data, format };
    const bad = data.findIndex((row) => row.length !== columns.length);
    if (bad >= 0) {
      throw new RequestError(422, `invalid request: ${format}.data[${bad}]`, [
        {
          field: `${format}.data[${bad}]`,
          message: `expected ${columns.length} values (one per column); got ${data[bad].length}`,
        },
      ]);
    }
    // Object.fromEntries defines own properties, so a column named __proto__ stays a plain key.
    const records = data.map((row) =>
      Object.fromEntries(columns.map((column, c) => [column, row[c]])),
    );
    return { records, format: `${format}.data` };
  }
  const parsed = recordList.safeParse(value);
  if (!parsed.success) throw invalid(parsed.error, format);
  return { records: parsed.data, format };
}

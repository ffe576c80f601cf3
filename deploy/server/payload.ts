// Request parsing and validation for the server: the body as JSON (with the NaN that MLflow's
// client sends), then the request schemas of lib/schema/request.ts, built from the loaded model's
// feature schema, so serving accepts exactly what the OpenAPI document describes.
import type { z } from "zod";
import type { RawRecord } from "../../lib/schema/features.ts";
import {
  MLFLOW_FORMATS,
  type MlflowFormat,
  type RequestSchemas,
} from "../../lib/schema/request.ts";

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

// A string token, kept as it is, or one of the non-JSON number tokens Python's json module writes.
const PYTHON_TOKENS = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;

/**
 * Parses a JSON body as Python's json module writes it: MLflow's client (ScoringServerClient)
 * sends a pandas NaN as a bare `NaN` token, which JSON.parse rejects. Outside strings, `NaN`
 * becomes null (a missing value, exactly like null) and `Infinity`/`-Infinity` become the
 * overflowing literal 1e999, which JSON.parse reads as ±Infinity, so the field's range check answers
 * 422 naming the value instead of a 400 for the whole body. Anything else malformed still throws.
 */
export function parseJsonBody(text: string): unknown {
  // The common body has no such token: parse it as it is.
  if (!text.includes("NaN") && !text.includes("Infinity")) return JSON.parse(text);
  return JSON.parse(
    text.replace(PYTHON_TOKENS, (token) => {
      if (token === "NaN") return "null";
      if (token === "Infinity") return "1e999";
      if (token === "-Infinity") return "-1e999";
      return token;
    }),
  );
}

function fieldName(path: PropertyKey[], prefix: string): string {
  let name = prefix;
  for (const key of path)
    name += typeof key === "number" ? `[${key}]` : `${name ? "." : ""}${String(key)}`;
  return name || "(body)";
}

function invalid(issues: z.core.$ZodIssue[], prefix: string): RequestError {
  const details = issues.map((issue) => ({
    field: fieldName(issue.path, prefix),
    message: issue.message,
  }));
  const fields = [...new Set(details.map((detail) => detail.field))];
  const shown =
    fields.slice(0, 5).join(", ") + (fields.length > 5 ? `, and ${fields.length - 5} more` : "");
  return new RequestError(422, `invalid request: ${shown}`, details.slice(0, 100));
}

/** Validates one record; throws a 422 RequestError with a message per bad field. */
export function parseRecord(validator: z.ZodType<RawRecord>, body: unknown): RawRecord {
  const parsed = validator.safeParse(body);
  if (parsed.success) return parsed.data;
  throw invalid(parsed.error.issues, "");
}

/**
 * Counts a batch before validating it: 413 past MAX_BATCH without reading a record (the schema's
 * maxItems, answered as the size limit it is), 422 when empty (its minItems).
 */
function checkBatchSize(length: number, maxBatch: number, field: string, unit: string): void {
  if (length === 0) {
    throw new RequestError(
      422,
      `invalid request: the batch is empty; send 1 to MAX_BATCH ${unit}`,
      [{ field: field || "(body)", message: `expected 1 to ${maxBatch} ${unit}; got 0` }],
    );
  }
  if (length > maxBatch) {
    throw new RequestError(
      413,
      `the batch has ${length} ${unit}; at most ${maxBatch} (MAX_BATCH) are accepted per request, split it`,
    );
  }
}

/** Validates a batch of records (1..maxBatch); field names carry the record index, e.g. `[3].median_income`. */
export function parseRecords(schemas: RequestSchemas, body: unknown[], prefix = ""): RawRecord[] {
  checkBatchSize(body.length, schemas.maxBatch, prefix, "records");
  // The quick check passes only records that zod accepts too; zod answers the rest, messages and all.
  let quick = true;
  for (let i = 0; i < body.length && quick; i++) quick = schemas.isRecord(body[i]);
  if (quick) return body as RawRecord[];
  const parsed = schemas.batch.safeParse(body);
  if (parsed.success) return parsed.data;
  throw invalid(parsed.error.issues, prefix);
}

/** The records of POST /predict: one record or a batch. */
export function parsePrediction(
  schemas: RequestSchemas,
  body: unknown,
): { records: RawRecord[]; batch: boolean } {
  if (Array.isArray(body)) return { records: parseRecords(schemas, body), batch: true };
  if (schemas.isRecord(body)) return { records: [body], batch: false };
  return { records: [parseRecord(schemas.record, body)], batch: false };
}

/**
 * The records of an MLflow scoring-server request: exactly one of `dataframe_split`,
 * `dataframe_records` or `instances` and no other key (schemas.invocations); a 422 RequestError
 * naming the formats otherwise.
 */
export function parseInvocation(schemas: RequestSchemas, body: unknown): RawRecord[] {
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
  const format: MlflowFormat = formats[0];
  const unknown = keys.filter((key) => key !== format);
  if (unknown.length > 0) {
    throw new RequestError(
      422,
      `invalid request: unexpected key(s) ${unknown.join(", ")}; send ${format} alone`,
      unknown.map((key) => ({ field: key, message: `unexpected key; send ${format} alone` })),
    );
  }
  const value = (body as Record<string, unknown>)[format];
  if (format !== "dataframe_split") {
    if (!Array.isArray(value)) {
      throw new RequestError(422, `invalid request: ${format}`, [
        { field: format, message: "expected an array of records (objects)" },
      ]);
    }
    return parseRecords(schemas, value, format);
  }
  const rows = (value as { data?: unknown } | null)?.data;
  if (Array.isArray(rows)) checkBatchSize(rows.length, schemas.maxBatch, `${format}.data`, "rows");
  const parsed = schemas.dataframeSplit.safeParse(value);
  if (!parsed.success) {
    // A bad cell is named like a record's field, e.g. dataframe_split.data[3].median_income.
    const columns = [...schemas.inputs.numeric, schemas.inputs.category.column];
    const issues = parsed.error.issues.map((issue) => {
      const [key, row, cell] = issue.path;
      return key === "data" && typeof row === "number" && typeof cell === "number"
        ? { ...issue, path: ["data", row, columns[cell]] }
        : issue;
    });
    throw invalid(issues, format);
  }
  const { columns, data } = parsed.data;
  // Object.fromEntries defines own properties, so no column name can reach a prototype.
  return data.map(
    (row) => Object.fromEntries(columns.map((column, c) => [column, row[c]])) as RawRecord,
  );
}

// The validation rules of lib/schema/rules.ts, and the checking of one chunk of CSV lines: a
// polars pass computes one pass/fail flag per row; the rule each failing row breaks, its reason
// and its raw text are worked out only for those rows, one by one.
import pl from "nodejs-polars";
import { InputError } from "../../lib/io/errors.ts";
import {
  CATEGORY_RULE,
  describeRange,
  NUMERIC_RULES,
  type NumericRule,
  numericRule,
  REQUIRED_COLUMNS,
  ruleBounds,
  withinBounds,
} from "../../lib/schema/rules.ts";
import { linesAt } from "./csv.ts";

/** The column that holds, per row, the index in CHECKS of the first rule it breaks (null when ok). */
export const CHECK_COLUMN = "check";

export const rawName = (column: string) => `raw_${column}`;

/** The quarantine file's columns, in order. */
export const QUARANTINE_COLUMNS = ["row", "rule", "reason", ...REQUIRED_COLUMNS.map(rawName)];

/** True where `value` keeps the rule's bounds (null where it is null). */
function inRange(rule: NumericRule, value: pl.Expr): pl.Expr {
  const { lower, lowerInclusive, upper } = ruleBounds(rule);
  return (lowerInclusive ? value.gtEq(lower) : value.gt(lower)).and(value.ltEq(upper));
}

/** `make()`, called on first use only and then remembered. */
function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

/** One validation rule, with the words the report and quarantine use. */
export interface Check {
  /** The name rows are counted under, e.g. `median_income: not a number`. */
  rule: string;
  column: string;
  /**
   * True where a row breaks the rule, given the column's text (stripped of blanks) and the
   * number it reads as (null when the text is empty or no number; unused for the category).
   */
  fails: (text: string | null, value: number | null) => boolean;
  /** The reason written for a failing row, given the column's stripped text. */
  reason: (text: string) => string;
}

const blank = (text: string | null) => text === null || text === "";

/**
 * Every check in the order they apply: a row is reported under the first one it fails. They are
 * evaluated here, row by row, only for the few rows that the polars pass (parsedFailed,
 * textFailed below) finds failing.
 */
export const CHECKS: Check[] = (() => {
  const checks: Check[] = [];
  for (const rule of NUMERIC_RULES) {
    const { column } = rule;
    const bounds = ruleBounds(rule);
    if (!rule.imputed) {
      checks.push({
        rule: `${column}: missing`,
        column,
        fails: blank,
        reason: () => `${column}: missing value`,
      });
    }
    checks.push({
      rule: `${column}: not a number`,
      column,
      fails: (text, value) => !blank(text) && (value === null || !Number.isFinite(value)),
      reason: (found) => `${column}: "${found}" is not a number`,
    });
    checks.push({
      rule: `${column}: out of range`,
      column,
      fails: (_, value) => value !== null && !withinBounds(bounds, value),
      reason: (found) =>
        `${column}: "${found}" is out of range; expected ${describeRange(rule)} (${rule.meaning})`,
    });
  }
  const { column, values } = CATEGORY_RULE;
  checks.push({
    rule: `${column}: missing`,
    column,
    fails: blank,
    reason: () => `${column}: missing value`,
  });
  checks.push({
    rule: `${column}: unknown value`,
    column,
    fails: (text) => !(values as readonly (string | null)[]).includes(text),
    reason: (found) => `${column}: "${found}" is not one of ${values.join(", ")}`,
  });
  return checks;
})();

/** Per check, the index of its column in REQUIRED_COLUMNS. */
const CHECKED_COLUMN = CHECKS.map((check) =>
  (REQUIRED_COLUMNS as readonly string[]).indexOf(check.column),
);

/**
 * The index in CHECKS of the first check a row fails, or null when it passes them all; the row's
 * texts and values are in REQUIRED_COLUMNS order.
 */
function firstFailing(texts: (string | null)[], values: (number | null)[]): number | null {
  const index = CHECKS.findIndex((check, k) =>
    check.fails(texts[CHECKED_COLUMN[k]], values[CHECKED_COLUMN[k]]),
  );
  return index === -1 ? null : index;
}

export const keptColumns = [
  "row",
  ...NUMERIC_RULES.map((rule) => rule.column),
  CATEGORY_RULE.column,
];

/** True where a row of parsed values fails a check (see CHUNK_EXPRESSIONS.parsedFailed). */
function parsedFailing(): pl.Expr {
  return (
    pl
      .allHorizontal([
        ...NUMERIC_RULES.map((rule) => {
          const value = pl.col(rule.column);
          const good = value.isFinite().and(inRange(rule, value));
          return rule.imputed ? value.isNull().or(good) : good;
        }),
        pl.col(CATEGORY_RULE.column).isIn(CATEGORY_RULE.values),
      ])
      // Null where a value is empty: a failure, unless the column allows it (above).
      .fillNull(false)
      .not()
  );
}

const row = once(() => pl.col("row"));

/**
 * The expressions of the per-chunk work, each built once, on first use (see Check): per chunk,
 * building them would cost more than the checks themselves.
 */
const CHUNK_EXPRESSIONS = {
  /** The text of each column as read, as `raw_<column>`. */
  textAsRead: once(() => [
    row(),
    ...REQUIRED_COLUMNS.map((column) => pl.col(column).alias(rawName(column))),
  ]),
  /** `raw_<column>` back to `<column>`. */
  textAsColumns: once(() => [
    row(),
    ...REQUIRED_COLUMNS.map((column) => pl.col(rawName(column)).alias(column)),
  ]),
  /** The text of each column stripped of blanks, as `raw_<column>`. */
  textStripped: once(() => [
    row(),
    ...REQUIRED_COLUMNS.map((column) =>
      pl.col(column).str.stripChars(" \t").alias(rawName(column)),
    ),
  ]),
  /** The parsed values (null when not a number) and the category, from `raw_<column>`. */
  values: once(() => [
    ...NUMERIC_RULES.map((rule) =>
      pl.col(rawName(rule.column)).cast(pl.Float64, false).alias(rule.column),
    ),
    pl.col(rawName(CATEGORY_RULE.column)).alias(CATEGORY_RULE.column),
  ]),
  /**
   * On values parsed by the CSV reader: whether the row fails a check. There an empty value
   * is null, which only the imputed column allows; text that is no number never gets here,
   * as it fails the parse. Agrees with CHECKS (the ingest tests hold it to that).
   */
  parsedFailed: once(() => parsedFailing().alias("failed")),
  /**
   * On text as read and the values cast from it (`values`): whether the row fails a check, as
   * parsedFailed, and also where the imputed column holds text that is no number (cast to null,
   * which parsedFailed allows there).
   */
  textFailed: once(() =>
    pl
      .anyHorizontal([
        parsedFailing(),
        ...NUMERIC_RULES.filter((rule) => rule.imputed).map((rule) => {
          const text = pl.col(rawName(rule.column));
          return text
            .isNotNull()
            .and(text.neq(pl.lit("")))
            .and(pl.col(rule.column).isNull());
        }),
      ])
      .alias("failed"),
  ),
  failed: once(() => pl.col("failed")),
  passed: once(() => pl.col("failed").not()),
  checkFailed: once(() => pl.col(CHECK_COLUMN).isNotNull()),
  checkPassed: once(() => pl.col(CHECK_COLUMN).isNull()),
};

export interface ChunkSchemas {
  /** Every column as text, so that a bad value can be reported as found. */
  text: Record<string, pl.DataType>;
  /** The numeric columns as numbers, the others as text. */
  parsed: Record<string, pl.DataType>;
}

export interface CheckedRows {
  /**
   * `row`, the parsed values and the category of the rows that pass every check. Lazy: where
   * most rows pass, the filter that drops the others runs only when the rows are written, as
   * part of that pass, instead of copying the chunk once more here.
   */
  kept: pl.LazyDataFrame;
  /** How many rows `kept` holds. */
  keptCount: number;
  /** `row`, `check` and the stripped text `raw_<column>` of the others, or null when none. */
  failing: pl.DataFrame | null;
}

/** Parses and checks one chunk of CSV lines; kept and failing rows are in file order. */
export async function validateChunk(
  input: string,
  chunk: Buffer,
  firstRow: number,
  schemas: ChunkSchemas,
): Promise<CheckedRows & { rows: number }> {
  const x = CHUNK_EXPRESSIONS;
  const readText = (csv: Buffer) => {
    try {
      return pl.readCSV(csv, { hasHeader: false, schema: schemas.text, truncateRaggedLines: true });
    } catch (error) {
      // Polars reports bad CSV without the file name: add it.
      throw new InputError(`${input}: could not be read as CSV: ${(error as Error).message}`);
    }
  };
  const viaText = async () => {
    const text = readText(chunk).withRowIndex("row", firstRow);
    return { rows: text.height, ...(await checkText(text)) };
  };
  // Fastest path: let the CSV reader parse the numbers, which costs less than parsing text and
  // casting it. It fails when a number column holds text that is no number; and lines only
  // stand for rows when no quoted value spans lines. The text path below handles those chunks.
  const parsed = chunk.includes(0x22) ? null : readParsed(chunk, schemas.parsed);
  if (!parsed) return viaText();
  // One pass computes whether each row fails; the kept rows are one filter by that mask.
  const failed = parsed.select(x.parsedFailed()).getColumn("failed");
  const rows = parsed.withRowIndex("row", firstRow).select(...keptColumns);
  const indexes = failed.argTrue().toArray() as number[];
  if (indexes.length === 0) {
    return { rows: rows.height, kept: rows.lazy(), keptCount: rows.height, failing: null };
  }
  const kept = rows
    .withColumns(failed)
    .lazy()
    .filter(x.passed())
    .select(...keptColumns);

  // The few rows that fail are read again from their lines, as text, for their reasons.
  const text = readText(linesAt(chunk, indexes));
  // Never seen; but should lines and rows not match, the whole chunk is read as text instead.
  if (text.height !== indexes.length) return viaText();
  const failingRows = pl.Series(
    "row",
    indexes.map((index) => index + firstRow),
    pl.UInt32,
  );
  const rechecked = await checkStripped(text.withColumns(failingRows).lazy());
  return {
    rows: rows.height,
    kept: withKept(kept, rechecked.kept),
    keptCount: rows.height - indexes.length + rechecked.kept.height,
    failing: rechecked.failing,
  };
}

/** The chunk parsed with numbers as numbers, or null when a number column holds other text. */
function readParsed(chunk: Buffer, schema: Record<string, pl.DataType>): pl.DataFrame | null {
  try {
    return pl.readCSV(chunk, { hasHeader: false, schema, truncateRaggedLines: true });
  } catch {
    return null;
  }
}

/** Checks text rows (`row` and the text of each column). */
async function checkText(rows: pl.DataFrame): Promise<CheckedRows> {
  const x = CHUNK_EXPRESSIONS;
  // Fast path: check the text as read, without stripping blanks (which costs more than the
  // rest of the checks together). A value with blanks around it never parses as a number nor
  // matches a category, so such a row fails here and is checked again, stripped.
  const asRead = await rows
    .lazy()
    .select(...x.textAsRead())
    .withColumns(...x.values())
    .withColumns(x.textFailed())
    .collect();
  const kept = await asRead
    .lazy()
    .filter(x.passed())
    .select(...keptColumns)
    .collect();
  if (kept.height === asRead.height)
    return { kept: kept.lazy(), keptCount: kept.height, failing: null };
  const rechecked = await checkStripped(
    asRead
      .lazy()
      .filter(x.failed())
      .select(...x.textAsColumns()),
  );
  return {
    kept: withKept(kept.lazy(), rechecked.kept),
    keptCount: kept.height + rechecked.kept.height,
    failing: rechecked.failing,
  };
}

/** Checks text rows (`row` and the text of each column) with the text stripped of blanks. */
async function checkStripped(
  rows: pl.LazyDataFrame,
): Promise<{ kept: pl.DataFrame; failing: pl.DataFrame | null }> {
  const x = CHUNK_EXPRESSIONS;
  const stripped = await rows
    .select(...x.textStripped())
    .withColumns(...x.values())
    .collect();
  // Few rows get here: the checks run row by row, in order, on the stripped text and values.
  const texts = REQUIRED_COLUMNS.map(
    (column) => stripped.getColumn(rawName(column)).toArray() as (string | null)[],
  );
  const values = REQUIRED_COLUMNS.map((column) =>
    numericRule(column) ? (stripped.getColumn(column).toArray() as (number | null)[]) : [],
  );
  const first = Array.from({ length: stripped.height }, (_, row) =>
    firstFailing(
      texts.map((column) => column[row]),
      values.map((column) => column[row] ?? null),
    ),
  );
  const checked = stripped.withColumns(pl.Series(CHECK_COLUMN, first, pl.UInt8));
  const failing = checked.filter(x.checkFailed());
  return {
    kept: checked.filter(x.checkPassed()).select(...keptColumns),
    failing: failing.height > 0 ? failing : null,
  };
}

/** `kept` with `more` kept rows, in file order. */
function withKept(kept: pl.LazyDataFrame, more: pl.DataFrame): pl.LazyDataFrame {
  return more.height === 0 ? kept : pl.concat([kept, more.lazy()]).sort("row");
}

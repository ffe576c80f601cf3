// Every validation rule of the raw housing CSV, in one place.
import { CATEGORY_COLUMN, NUMERIC_INPUTS, OCEAN_PROXIMITY_VALUES, TARGET } from "./features.ts";

/** The columns the raw CSV must have, in the order the dataset publishes them. */
export const REQUIRED_COLUMNS = [...NUMERIC_INPUTS, TARGET, CATEGORY_COLUMN] as const;

export interface NumericRule {
  column: string;
  /** Inclusive bounds; `above` is an exclusive lower bound. */
  min?: number;
  max?: number;
  above?: number;
  /** An empty value is allowed and later imputed with the median of the kept rows. */
  imputed?: boolean;
  /** What the range means, for error messages. */
  meaning: string;
}

/** Plausible ranges for the numeric columns (coordinates inside California, counts > 0, income > 0). */
export const NUMERIC_RULES: NumericRule[] = [
  { column: "longitude", min: -124.5, max: -114.0, meaning: "inside California" },
  { column: "latitude", min: 32.5, max: 42.1, meaning: "inside California" },
  { column: "housing_median_age", above: 0, max: 200, meaning: "years" },
  { column: "total_rooms", above: 0, meaning: "a count" },
  { column: "total_bedrooms", above: 0, imputed: true, meaning: "a count" },
  { column: "population", above: 0, meaning: "a count" },
  { column: "households", above: 0, meaning: "a count" },
  { column: "median_income", above: 0, meaning: "an income (tens of thousands of dollars)" },
  { column: TARGET, above: 0, meaning: "a price in dollars" },
];

/** The allowed values of the category column. */
export const CATEGORY_RULE = { column: CATEGORY_COLUMN, values: OCEAN_PROXIMITY_VALUES };

/** The maximum share of rows that may be quarantined before ingest fails. */
export const DEFAULT_MAX_QUARANTINE_SHARE = 0.01;

/**
 * The upper bound a request to the service gets where the data has none (counts, income):
 * beyond it a value is absurd, and training never saw anything near it.
 */
export const REQUEST_LIMIT = 1e7;

/** A rule's range as bounds: the lower one inclusive or exclusive, the upper one inclusive. */
export interface Bounds {
  lower: number;
  lowerInclusive: boolean;
  upper: number;
}

/** The bounds a value must keep; `limit` caps an open upper end (the service passes REQUEST_LIMIT). */
export function ruleBounds(rule: NumericRule, limit = Number.POSITIVE_INFINITY): Bounds {
  return rule.above !== undefined
    ? { lower: rule.above, lowerInclusive: false, upper: rule.max ?? limit }
    : { lower: rule.min ?? -limit, lowerInclusive: true, upper: rule.max ?? limit };
}

/** Whether `value` keeps `bounds`; NaN never does. */
export function withinBounds({ lower, lowerInclusive, upper }: Bounds, value: number): boolean {
  return (lowerInclusive ? value >= lower : value > lower) && value <= upper;
}

/** The rule for a numeric column, or undefined when it has none. */
export function numericRule(column: string): NumericRule | undefined {
  return NUMERIC_RULES.find((rule) => rule.column === column);
}

/** A readable description of a rule's range, e.g. `> 0` or `between -124.5 and -114`. */
export function describeRange(rule: NumericRule): string {
  if (rule.above !== undefined && rule.max !== undefined)
    return `> ${rule.above} and <= ${rule.max}`;
  if (rule.above !== undefined) return `> ${rule.above}`;
  return `between ${rule.min} and ${rule.max}`;
}

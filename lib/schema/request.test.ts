import { describe, expect, it } from "vitest";
import { z } from "zod";
import { buildFeatureSchema, SAMPLE_RECORD } from "./features.ts";
import { DEFAULT_REQUEST_INPUTS, requestInputs, requestSchemas } from "./request.ts";
import { NUMERIC_RULES, numericRule, REQUEST_LIMIT, ruleBounds } from "./rules.ts";

type Json = Record<string, unknown> & {
  properties: Record<string, Json>;
  required: string[];
  anyOf?: Json[];
};

const schemas = requestSchemas(DEFAULT_REQUEST_INPUTS, 7);
const record = z.toJSONSchema(schemas.record, { io: "input" }) as Json;

describe("requestSchemas", () => {
  it("holds every numeric input to its rule's bounds, capped at REQUEST_LIMIT", () => {
    for (const name of DEFAULT_REQUEST_INPUTS.numeric) {
      const rule = numericRule(name);
      if (!rule) throw new Error(`no rule for ${name}`);
      const { lower, lowerInclusive, upper } = ruleBounds(rule, REQUEST_LIMIT);
      const property = record.properties[name];
      const number = property.anyOf ? property.anyOf[0] : property;
      expect(number, name).toMatchObject({
        type: "number",
        maximum: upper,
        ...(lowerInclusive ? { minimum: lower } : { exclusiveMinimum: lower }),
      });
      expect(schemas.record.safeParse({ ...SAMPLE_RECORD, [name]: upper }).success, name).toBe(
        true,
      );
      const below = lowerInclusive ? lower - 1e-9 : lower;
      expect(schemas.record.safeParse({ ...SAMPLE_RECORD, [name]: below }).success, name).toBe(
        false,
      );
    }
  });

  it("makes exactly the rules' imputed inputs optional and nullable", () => {
    const imputed = NUMERIC_RULES.filter((rule) => rule.imputed).map((rule) => rule.column);
    expect(imputed).toEqual(["total_bedrooms"]);
    expect(record.required.sort()).toEqual(
      [...DEFAULT_REQUEST_INPUTS.numeric, "ocean_proximity"]
        .filter((name) => !imputed.includes(name))
        .sort(),
    );
    expect(record.properties.total_bedrooms.anyOf?.[1]).toEqual({ type: "null" });
    expect(record.properties.ocean_proximity).toMatchObject({
      enum: DEFAULT_REQUEST_INPUTS.category.values,
    });
  });

  it("follows a model's imputation map and vocabulary", () => {
    const model = buildFeatureSchema({});
    model.category.values = ["INLAND", "ISLAND"];
    const own = requestSchemas(requestInputs(model), 7);
    const json = z.toJSONSchema(own.record, { io: "input" }) as Json;
    expect(json.required).toContain("total_bedrooms");
    expect(json.properties.ocean_proximity).toMatchObject({ enum: ["INLAND", "ISLAND"] });
    expect(own.record.safeParse(SAMPLE_RECORD).success).toBe(false);
  });

  it("words each field's problem for a person", () => {
    const parsed = schemas.record.safeParse({
      ...SAMPLE_RECORD,
      latitude: undefined,
      population: -5,
    });
    expect(parsed.error?.issues.map((issue) => [issue.path.join("."), issue.message])).toEqual([
      ["latitude", "required; expected a number between 32.5 and 42.1 (inside California)"],
      ["population", "expected a number > 0 and <= 10000000 (a count); got -5"],
    ]);
  });

  it("lines dataframe_split rows up with the model's columns", () => {
    const columns = [...DEFAULT_REQUEST_INPUTS.numeric, "ocean_proximity"];
    const row = columns.map((column) => SAMPLE_RECORD[column as keyof typeof SAMPLE_RECORD]);
    expect(schemas.dataframeSplit.safeParse({ columns, data: [row], index: [0] }).success).toBe(
      true,
    );
    expect(schemas.dataframeSplit.safeParse({ columns, data: [row.slice(1)] }).success).toBe(false);
    const swapped = [columns[1], columns[0], ...columns.slice(2)];
    expect(schemas.dataframeSplit.safeParse({ columns: swapped, data: [row] }).success).toBe(false);
    const split = z.toJSONSchema(schemas.dataframeSplit, { io: "input" }) as Json;
    const rowSchema = (split.properties.data as Json & { items: Json & { prefixItems: Json[] } })
      .items;
    expect(rowSchema.prefixItems).toHaveLength(columns.length);
    expect(rowSchema).toMatchObject({ items: false, minItems: columns.length });
  });

  it("takes each MLflow format alone, and 1 to MAX_BATCH records", () => {
    const records = [SAMPLE_RECORD];
    expect(schemas.invocations.safeParse({ instances: records }).success).toBe(true);
    expect(schemas.invocations.safeParse({ instances: records, params: {} }).success).toBe(false);
    expect(
      schemas.invocations.safeParse({ instances: records, dataframe_records: records }).success,
    ).toBe(false);
    expect(schemas.batch.safeParse([]).success).toBe(false);
    expect(schemas.batch.safeParse(Array(8).fill(SAMPLE_RECORD)).success).toBe(false);
    expect(schemas.predict.safeParse(Array(7).fill(SAMPLE_RECORD)).success).toBe(true);
  });

  it("has a quick record check that accepts exactly the records the record schema accepts", () => {
    // A model without imputation values: total_bedrooms is required, null is no longer allowed.
    const model = buildFeatureSchema({});
    model.category.values = ["INLAND", "NEAR BAY"];
    for (const inputs of [DEFAULT_REQUEST_INPUTS, requestInputs(model)]) {
      const own = requestSchemas(inputs, 7);
      const candidates: unknown[] = [SAMPLE_RECORD, { ...SAMPLE_RECORD, extra: [1] }];
      for (const bad of [null, [], [SAMPLE_RECORD], "x", 1, true, undefined]) candidates.push(bad);
      for (const name of inputs.numeric) {
        const rule = numericRule(name);
        if (!rule) throw new Error(`no rule for ${name}`);
        const { lower, upper } = ruleBounds(rule, REQUEST_LIMIT);
        const values = [lower, upper, lower - 1e-9, lower + 1e-9, upper + 1e-6, -0, 0, 1];
        values.push(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
        for (const value of [...values, null, undefined, "1", true, {}, [1]])
          candidates.push({ ...SAMPLE_RECORD, [name]: value });
        const { [name as keyof typeof SAMPLE_RECORD]: _, ...absent } = SAMPLE_RECORD;
        candidates.push(absent);
      }
      for (const value of ["INLAND", "NEAR BAY", "ISLAND", "inland", "", 1, null, ["INLAND"]])
        candidates.push({ ...SAMPLE_RECORD, ocean_proximity: value });
      const { ocean_proximity: _, ...noCategory } = SAMPLE_RECORD;
      candidates.push(noCategory);
      let accepted = 0;
      for (const candidate of candidates) {
        const zod = own.record.safeParse(candidate).success;
        expect(own.isRecord(candidate), JSON.stringify(candidate) ?? String(candidate)).toBe(zod);
        if (zod) accepted++;
      }
      expect(accepted).toBeGreaterThan(20);
    }
  });
});

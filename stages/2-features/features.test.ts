import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pl from "nodejs-polars";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type FeatureSchema,
  featureVector,
  type RawRecord,
  SPLIT_COLUMN,
} from "../../lib/schema/features.ts";
import { housingCsv, REAL_HOUSING_CSV, tempDir } from "../../test/support/housing.ts";
import { runIngest } from "../1-ingest/ingest.ts";
import { runFeatures } from "./features.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

async function pipelineOn(text: string, name: string, seed = 42) {
  const input = join(dir, `${name}.csv`);
  await writeFile(input, text);
  await runIngest({ input, outDir: join(dir, name, "ingest") });
  const report = await runFeatures({
    ingestDir: join(dir, name, "ingest"),
    outDir: join(dir, name, "features"),
    seed,
  });
  return { report, features: pl.readParquet(join(dir, name, "features", "features.parquet")) };
}

/** The test rows as comparable strings of their feature values (row numbers left out). */
function testRows(features: pl.DataFrame): string[] {
  return (
    features
      .filter(pl.col(SPLIT_COLUMN).eq(pl.lit("test")))
      .drop("row")
      .toRecords() as object[]
  )
    .map((record) => JSON.stringify(record))
    .sort();
}

describe("features", () => {
  it("derives ratios and one-hot columns in schema order", async () => {
    const { report, features } = await pipelineOn(housingCsv(50), "a");
    const schema = JSON.parse(
      await readFile(join(dir, "a", "features", "feature_schema.json"), "utf8"),
    );
    expect(features.columns).toEqual([
      "row",
      ...schema.features,
      "median_house_value",
      SPLIT_COLUMN,
    ]);
    expect(report.features).toEqual(schema.features);
    const first = features.toRecords()[0] as Record<string, number>;
    const at = (name: string) => first[name];
    expect(at("rooms_per_household")).toBe(at("total_rooms") / at("households"));
    expect(at("bedrooms_per_room")).toBe(at("total_bedrooms") / at("total_rooms"));
    const hot = schema.category.values.map((value: string) => at(`ocean_proximity=${value}`));
    expect(hot.reduce((a: number, b: number) => a + b, 0)).toBe(1);
    expect(schema.imputation.total_bedrooms).toBeGreaterThan(0);
  });

  it("splits by row content: shuffling the file gives the identical hold-out", async () => {
    const text = housingCsv(2000);
    const [header, ...lines] = text.trimEnd().split("\n");
    const shuffled = [
      header,
      ...lines
        .map((line, i) => ({ line, key: (i * 7919) % lines.length }))
        .sort((a, b) => a.key - b.key)
        .map((entry) => entry.line),
    ].join("\n");
    const original = await pipelineOn(text, "original");
    const reordered = await pipelineOn(`${shuffled}\n`, "shuffled");
    expect(testRows(reordered.features)).toEqual(testRows(original.features));
    const share = original.report.split.rows.test / 2000;
    expect(share).toBeGreaterThan(0.17);
    expect(share).toBeLessThan(0.23);
    // The hold-out's fingerprint: its row numbers (lines of the CSV), ascending, as uint32 bytes.
    const heldOut = (
      original.features
        .filter(pl.col(SPLIT_COLUMN).eq(pl.lit("test")))
        .getColumn("row")
        .toArray() as number[]
    ).sort((a, b) => a - b);
    expect(heldOut).toHaveLength(original.report.split.rows.test);
    const bytes = Buffer.from(Uint32Array.from(heldOut).buffer);
    expect(original.report.split.testRowsSha256).toBe(
      createHash("sha256").update(bytes).digest("hex"),
    );
    const reseeded = await pipelineOn(text, "reseeded", 7);
    expect(testRows(reseeded.features)).not.toEqual(testRows(original.features));
  });

  it("refuses a clean file that changed after ingest, and writes nothing", async () => {
    const input = join(dir, "c.csv");
    await writeFile(input, housingCsv(40));
    const ingestDir = join(dir, "c", "ingest");
    await runIngest({ input, outDir: ingestDir });
    // A valid Parquet file, but not the one ingest wrote: its first row is gone.
    const cleanPath = join(ingestDir, "clean.parquet");
    const clean = pl.readParquet(cleanPath);
    clean.tail(clean.height - 1).writeParquet(cleanPath);
    const outDir = join(dir, "c", "features");
    await expect(runFeatures({ ingestDir, outDir })).rejects.toThrow(
      /clean\.parquet: its sha256 is [0-9a-f]{12}…, not the [0-9a-f]{12}… that .*ingest\.json records: the file changed after ingest; run the ingest stage again/,
    );
    await expect(readFile(join(outDir, "features.json"), "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("fails with a clear message when the ingest output is missing", async () => {
    await expect(
      runFeatures({ ingestDir: join(dir, "none"), outDir: join(dir, "out") }),
    ).rejects.toThrow(/none\/ingest\.json: not found; run the ingest stage first/);
  });
});

describe.skipIf(!REAL_HOUSING_CSV)("features on the real dataset", () => {
  it("serving's featureVector gives the identical vectors as the features stage", async () => {
    await runIngest({ input: REAL_HOUSING_CSV as string, outDir: join(dir, "ingest") });
    await runFeatures({ ingestDir: join(dir, "ingest"), outDir: join(dir, "features") });
    const schema = JSON.parse(
      await readFile(join(dir, "features", "feature_schema.json"), "utf8"),
    ) as FeatureSchema;
    // Raw rows as a client would send them: total_bedrooms left empty where the CSV has none.
    const raw = pl.readCSV(REAL_HOUSING_CSV as string);
    const features = pl.readParquet(join(dir, "features", "features.parquet"));
    expect(features.height).toBe(raw.height);
    const records = raw.toRecords() as unknown as RawRecord[];
    const matrix = features.select(...schema.features).rows() as number[][];
    const vector = new Float64Array(schema.features.length);
    let mismatches = 0;
    records.forEach((record, i) => {
      featureVector(record, schema, vector);
      if (!matrix[i].every((value, f) => Object.is(value, vector[f]))) mismatches++;
    });
    expect(mismatches).toBe(0);
    expect(records.some((record) => record.total_bedrooms === null)).toBe(true);
  });
});

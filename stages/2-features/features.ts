// The features stage: clean Parquet -> model features, the feature schema and the persisted split.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pl from "nodejs-polars";
import { InputError } from "../../lib/io/errors.ts";
import { produceDirAtomic, sha256, sha256File, writeJsonAtomic } from "../../lib/io/files.ts";
import { libraryVersions } from "../../lib/io/versions.ts";
import {
  buildFeatureSchema,
  FEATURES_FILES,
  type FeatureSchema,
  oneHotName,
  SPLIT_COLUMN,
} from "../../lib/schema/features.ts";
import { INGEST_FILES, type IngestReport } from "../1-ingest/ingest.ts";

/** A one-line summary of a features report. */
export function describeFeatures(report: FeaturesReport): string {
  return `${report.rows} rows, ${report.features.length} features; split ${report.split.rows.train} train / ${report.split.rows.test} test`;
}

export interface FeaturesOptions {
  /** The ingest stage's output folder. */
  ingestDir: string;
  outDir: string;
  /** Share of rows held out for evaluation. */
  testFraction?: number;
  /** Seed of the split's hash. */
  seed?: number;
  onProgress?: (message: string) => void;
}

export interface SplitInfo {
  method: string;
  seed: number;
  testFraction: number;
  rows: { train: number; test: number };
  /** sha256 over the sorted source rows of the hold-out: two runs agree iff these agree. */
  testRowsSha256: string;
  library: string;
}

export interface FeaturesReport {
  stage: "features";
  /** The clean Parquet read, and the sha256 of the raw CSV it came from (lineage). */
  input: { file: string; sha256: string; rawSha256: string };
  rows: number;
  features: string[];
  schemaSha256: string;
  split: SplitInfo;
  outputs: { features: { file: string; sha256: string } };
  libraries: Record<string, string>;
  createdAt: string;
  durationMs: number;
}

/** Buckets of the split hash; the test share is resolved to 1 / SPLIT_BUCKETS. */
const SPLIT_BUCKETS = 1_000_000;

/** Polars expressions that turn clean rows into the schema's features, in schema order. */
export function featureExpressions(schema: FeatureSchema): pl.Expr[] {
  return [
    ...schema.numericInputs.map((name) => pl.col(name).cast(pl.Float64)),
    ...schema.ratios.map((ratio) =>
      pl.col(ratio.numerator).cast(pl.Float64).div(pl.col(ratio.denominator)).alias(ratio.name),
    ),
    ...schema.category.values.map((value) =>
      pl.col(schema.category.column).eq(pl.lit(value)).cast(pl.Float64).alias(oneHotName(value)),
    ),
  ];
}

/**
 * The split side of each row, from a seeded hash of the row's values: the same row lands on
 * the same side whatever the order of the file.
 */
export function splitExpression(
  schema: FeatureSchema,
  seed: number,
  testFraction: number,
): pl.Expr {
  // The values are hashed as they are, as one struct: hashing their text instead spent most of
  // the stage's time formatting floats.
  const key = pl.struct(
    [...schema.numericInputs, schema.category.column, schema.target].map((name) => pl.col(name)),
  );
  // Explicit UInt64 casts: polars cannot infer the hash's type, and a float literal would
  // turn the modulo into float arithmetic that loses the hash's low bits.
  const u64 = (value: number) => pl.lit(value).cast(pl.UInt64);
  const bucket = key
    .hash(seed, seed + 1, seed + 2, seed + 3)
    .cast(pl.UInt64)
    .modulo(u64(SPLIT_BUCKETS));
  return pl
    .when(bucket.lt(u64(Math.round(testFraction * SPLIT_BUCKETS))))
    .then(pl.lit("test"))
    .otherwise(pl.lit("train"))
    .alias(SPLIT_COLUMN);
}

/** Runs the features stage. */
export async function runFeatures(options: FeaturesOptions): Promise<FeaturesReport> {
  const started = Date.now();
  const { ingestDir, outDir, testFraction = 0.2, seed = 42, onProgress = () => {} } = options;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new InputError(
      `test fraction: ${testFraction} is not allowed; expected a number between 0 and 1`,
    );
  }
  if (!Number.isInteger(seed) || seed < 0) {
    throw new InputError(`seed: ${seed} is not allowed; expected an integer >= 0`);
  }
  const ingest = await readIngestReport(ingestDir);
  const cleanPath = join(ingestDir, INGEST_FILES.clean);
  const schema = buildFeatureSchema(
    Object.fromEntries(
      Object.entries(ingest.imputed).map(([column, info]) => [column, info.value]),
    ),
  );

  return produceDirAtomic(outDir, async (tempDir) => {
    onProgress("deriving features");
    const featuresPath = join(tempDir, FEATURES_FILES.features);
    // The input's sha256 (lineage) is computed on this thread while polars' threads derive and
    // write the features.
    const [, cleanSha256] = await Promise.all([
      pl
        .scanParquet(cleanPath)
        .select(
          pl.col("row"),
          ...featureExpressions(schema),
          pl.col(schema.target).cast(pl.Float64),
          splitExpression(schema, seed, testFraction),
        )
        .sinkParquet(featuresPath)
        .collect(),
      sha256File(cleanPath),
    ]);

    // The clean file must be the one ingest reported: a changed or swapped file would break the
    // lineage from the raw CSV to the model.
    const reported = ingest.outputs.clean.sha256;
    if (cleanSha256 !== reported) {
      throw new InputError(
        `${cleanPath}: its sha256 is ${cleanSha256.slice(0, 12)}…, not the ${reported.slice(0, 12)}… that ${join(ingestDir, INGEST_FILES.report)} records: the file changed after ingest; run the ingest stage again (npm run stage -- ingest)`,
      );
    }

    // Every row is either "test" or "train" (splitExpression), so the hold-out's rows and the
    // file's row count (from the Parquet metadata) give both sides' sizes.
    const [testRows, featuresSha256] = await Promise.all([
      pl
        .scanParquet(featuresPath)
        .filter(pl.col(SPLIT_COLUMN).eq(pl.lit("test")))
        .select("row")
        .collect(),
      sha256File(featuresPath),
    ]);
    const total = Number(
      (await pl.scanParquet(featuresPath).select(pl.len().alias("rows")).collect()).getColumn(
        "rows",
      )[0],
    );
    const counts = { train: total - testRows.height, test: testRows.height };
    const split: SplitInfo = {
      method: `polars hash of the row's values as one struct (k0..k3 = seed..seed+3) mod ${SPLIT_BUCKETS} < testFraction * ${SPLIT_BUCKETS}`,
      seed,
      testFraction,
      rows: counts,
      testRowsSha256: sha256(ascending(testRows.getColumn("row").toTypedArray() as Uint32Array)),
      library: `nodejs-polars ${libraryVersions()["nodejs-polars"]}`,
    };
    if (split.rows.train === 0 || split.rows.test === 0) {
      throw new InputError(
        `${cleanPath}: the split left ${split.rows.train} train and ${split.rows.test} test rows; more rows or another test fraction are needed`,
      );
    }

    const schemaText = `${JSON.stringify(schema, null, 2)}\n`;
    await writeJsonAtomic(join(tempDir, FEATURES_FILES.schema), schema);
    await writeJsonAtomic(join(tempDir, FEATURES_FILES.split), split);
    const report: FeaturesReport = {
      stage: "features",
      input: {
        file: cleanPath,
        sha256: cleanSha256,
        rawSha256: ingest.input.sha256,
      },
      rows: split.rows.train + split.rows.test,
      features: schema.features,
      schemaSha256: sha256(schemaText),
      split,
      outputs: {
        features: { file: FEATURES_FILES.features, sha256: featuresSha256 },
      },
      libraries: libraryVersions(),
      createdAt: new Date().toISOString(),
      durationMs: Date.now() - started,
    };
    await writeJsonAtomic(join(tempDir, FEATURES_FILES.report), report);
    return report;
  });
}

/** The bytes of `rows` in ascending order: as they are when they already are (rows keep the file's order). */
function ascending(rows: Uint32Array): Uint8Array {
  let sorted = rows;
  for (let i = 1; i < rows.length; i++) {
    if (rows[i] < rows[i - 1]) {
      sorted = rows.slice().sort();
      break;
    }
  }
  return new Uint8Array(sorted.buffer, sorted.byteOffset, sorted.byteLength);
}

async function readIngestReport(ingestDir: string): Promise<IngestReport> {
  const path = join(ingestDir, INGEST_FILES.report);
  try {
    return JSON.parse(await readFile(path, "utf8")) as IngestReport;
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message;
    throw new InputError(
      `${path}: ${reason}; run the ingest stage first (npm run stage -- ingest)`,
    );
  }
}

// The ingest stage: raw housing CSV -> validated, imputed Parquet + quarantine + report.
import { open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import pl from "nodejs-polars";
import { produceDirAtomic, sha256File, writeJsonAtomic } from "../io/files.ts";
import { libraryVersions } from "../io/versions.ts";
import {
  CATEGORY_RULE,
  DEFAULT_MAX_QUARANTINE_SHARE,
  describeRange,
  NUMERIC_RULES,
  REQUIRED_COLUMNS,
} from "./rules.ts";

export const INGEST_FILES = {
  clean: "clean.parquet",
  quarantine: "quarantine.csv",
  report: "ingest.json",
} as const;

export interface IngestOptions {
  /** The raw CSV. */
  input: string;
  /** The output folder; replaced as a whole only when the stage succeeds. */
  outDir: string;
  /** Fail when more than this share of rows is quarantined (0..1). */
  maxQuarantineShare?: number;
  onProgress?: (message: string) => void;
}

export interface IngestReport {
  stage: "ingest";
  input: { path: string; sha256: string; bytes: number };
  rows: { read: number; kept: number; quarantined: number };
  /** Quarantined rows counted by rule, e.g. `median_income: not a number`. */
  quarantinedByRule: Record<string, number>;
  /** Per column: how many values were imputed and with what. */
  imputed: Record<string, { count: number; value: number; method: "median" }>;
  /** Columns of the input that are not part of the dataset: left out of the output. */
  extraColumns: string[];
  maxQuarantineShare: number;
  outputs: Record<"clean" | "quarantine", { file: string; sha256: string }>;
  libraries: Record<string, string>;
  createdAt: string;
  durationMs: number;
}

/** An input problem the user must fix: the message says what, where and what is expected. */
export class InputError extends Error {}

/** Runs the ingest stage: validate every row, quarantine failures, impute, write Parquet. */
export async function runIngest(options: IngestOptions): Promise<IngestReport> {
  const started = Date.now();
  const { input, outDir, onProgress = () => {} } = options;
  const maxShare = options.maxQuarantineShare ?? DEFAULT_MAX_QUARANTINE_SHARE;
  if (!(maxShare >= 0 && maxShare <= 1)) {
    throw new InputError(`max quarantine share: ${maxShare} is not allowed; expected 0..1`);
  }
  const header = await readHeader(input);
  const extraColumns = header.filter(
    (name) => !(REQUIRED_COLUMNS as readonly string[]).includes(name),
  );

  return produceDirAtomic(outDir, async (tempDir) => {
    onProgress("validating rows");
    const validatedPath = join(tempDir, "validated.parquet");
    await readFailing(input, () =>
      validatedRows(input, header).sinkParquet(validatedPath, { compression: "lz4" }).collect(),
    );
    const validated = pl.scanParquet(validatedPath);
    const ok = pl.col("rule").isNull();

    const totals = (
      await validated
        .select(
          pl.len().alias("read"),
          ok.sum().alias("kept"),
          pl.col("total_bedrooms").filter(ok).median().alias("median"),
          pl.col("total_bedrooms").filter(ok).isNull().sum().alias("missing"),
        )
        .collect()
    ).toRecords()[0] as { read: number; kept: number; median: number | null; missing: number };
    const read = Number(totals.read);
    const kept = Number(totals.kept);
    const quarantined = read - kept;
    if (read === 0) {
      throw new InputError(`${input}: has a header but no data rows; expected at least one row`);
    }
    const byRule = await countByRule(validated);
    if (quarantined / read > maxShare) {
      throw new InputError(
        await tooManyFailures(input, validated, read, quarantined, maxShare, byRule),
      );
    }
    if (totals.median === null) {
      throw new InputError(`${input}: column total_bedrooms has no values to take a median from`);
    }

    onProgress("writing clean Parquet and quarantine");
    const imputedColumns = NUMERIC_RULES.filter((rule) => rule.imputed).map((rule) => rule.column);
    const keptRows = validated
      .filter(ok)
      .select(
        pl.col("row"),
        ...NUMERIC_RULES.map((rule) =>
          rule.imputed ? pl.col(rule.column).fillNull(totals.median) : pl.col(rule.column),
        ),
        pl.col(CATEGORY_RULE.column),
      );
    await keptRows.sinkParquet(join(tempDir, INGEST_FILES.clean)).collect();
    await validated
      .filter(ok.not())
      .select("row", "rule", "reason", ...REQUIRED_COLUMNS.map((column) => `raw_${column}`))
      .sinkCSV(join(tempDir, INGEST_FILES.quarantine))
      .collect();
    await rm(validatedPath);

    const report: IngestReport = {
      stage: "ingest",
      input: { path: input, sha256: await sha256File(input), bytes: (await stat(input)).size },
      rows: { read, kept, quarantined },
      quarantinedByRule: byRule,
      imputed: Object.fromEntries(
        imputedColumns.map((column) => [
          column,
          { count: Number(totals.missing), value: totals.median as number, method: "median" },
        ]),
      ),
      extraColumns,
      maxQuarantineShare: maxShare,
      outputs: {
        clean: {
          file: INGEST_FILES.clean,
          sha256: await sha256File(join(tempDir, INGEST_FILES.clean)),
        },
        quarantine: {
          file: INGEST_FILES.quarantine,
          sha256: await sha256File(join(tempDir, INGEST_FILES.quarantine)),
        },
      },
      libraries: libraryVersions(),
      createdAt: new Date().toISOString(),
      durationMs: Date.now() - started,
    };
    await writeJsonAtomic(join(tempDir, INGEST_FILES.report), report);
    return report;
  });
}

/**
 * Reads and checks the header line: the file exists, is not empty, uses commas and
 * has every required column. A UTF-8 BOM and CRLF line endings are accepted.
 */
async function readHeader(input: string): Promise<string[]> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(input, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new InputError(
        `${input}: file not found; run \`npm run data:fetch\` or pass --input PATH`,
      );
    }
    throw new InputError(`${input}: cannot be read (${code ?? (error as Error).message})`);
  }
  const buffer = Buffer.alloc(64 * 1024);
  const { bytesRead } = await handle
    .read(buffer, 0, buffer.length, 0)
    .finally(() => handle.close());
  let text = buffer.subarray(0, bytesRead).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === "") {
    throw new InputError(
      `${input}: the file is empty; expected a CSV header: ${REQUIRED_COLUMNS.join(",")}`,
    );
  }
  const line = text.split("\n")[0].replace(/\r$/, "");
  const columns = line.split(",").map((name) => name.trim().replace(/^"(.*)"$/, "$1"));
  const missing = REQUIRED_COLUMNS.filter((column) => !columns.includes(column));
  if (missing.length > 0) {
    const delimiter = [";", "\t", "|"].find(
      (candidate) => line.split(candidate).length > columns.length,
    );
    if (delimiter) {
      const shown = delimiter === "\t" ? "tab" : `"${delimiter}"`;
      throw new InputError(
        `${input}: line 1 is separated by ${shown}, not by commas; save the file as comma-separated CSV`,
      );
    }
    throw new InputError(
      `${input}: line 1 (header) is missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}; found ${columns.join(", ")}`,
    );
  }
  return columns;
}

/** Every row with its line number, parsed values, and the first rule it breaks (null when ok). */
function validatedRows(input: string, header: string[]) {
  const raw = pl
    .scanCSV(input, {
      hasHeader: true,
      schema: Object.fromEntries(header.map((name) => [name, pl.Utf8])),
      truncateRaggedLines: true,
    })
    // Line numbers of the file: the header is line 1.
    .withRowIndex("row", 2)
    .select("row", ...REQUIRED_COLUMNS.map((column) => pl.col(column).str.stripChars(" \t")));

  const checks: { failed: pl.Expr; rule: string; reason: pl.Expr }[] = [];
  for (const rule of NUMERIC_RULES) {
    const text = pl.col(rule.column);
    const value = pl.col(rule.column).cast(pl.Float64, false);
    const blank = text.isNull().or(text.eq(pl.lit("")));
    const quoted = pl.concatString([pl.lit(`${rule.column}: "`), text, pl.lit('"')], "");
    if (!rule.imputed) {
      checks.push({
        failed: blank,
        rule: `${rule.column}: missing`,
        reason: pl.lit(`${rule.column}: missing value`),
      });
    }
    checks.push({
      failed: blank.not().and(value.isNull().or(value.isFinite().not())),
      rule: `${rule.column}: not a number`,
      reason: pl.concatString([quoted, pl.lit(" is not a number")], ""),
    });
    const low = rule.above !== undefined ? value.ltEq(rule.above) : value.lt(rule.min ?? -Infinity);
    checks.push({
      failed: value.isNotNull().and(low.or(value.gt(rule.max ?? Infinity))),
      rule: `${rule.column}: out of range`,
      reason: pl.concatString(
        [quoted, pl.lit(` is out of range; expected ${describeRange(rule)} (${rule.meaning})`)],
        "",
      ),
    });
  }
  const category = pl.col(CATEGORY_RULE.column);
  checks.push({
    failed: category.isNull().or(category.eq(pl.lit(""))),
    rule: `${CATEGORY_RULE.column}: missing`,
    reason: pl.lit(`${CATEGORY_RULE.column}: missing value`),
  });
  checks.push({
    failed: category.isIn(CATEGORY_RULE.values).not(),
    rule: `${CATEGORY_RULE.column}: unknown value`,
    reason: pl.concatString(
      [
        pl.lit(`${CATEGORY_RULE.column}: "`),
        category,
        pl.lit(`" is not one of ${CATEGORY_RULE.values.join(", ")}`),
      ],
      "",
    ),
  });

  const firstFailing = (pick: (check: (typeof checks)[number]) => pl.Expr) => {
    let chain = pl.when(checks[0].failed).then(pick(checks[0]));
    for (const check of checks.slice(1)) chain = chain.when(check.failed).then(pick(check));
    return chain.otherwise(pl.lit(null));
  };
  const rule = firstFailing((check) => pl.lit(check.rule));
  return raw.select(
    "row",
    ...NUMERIC_RULES.map((r) => pl.col(r.column).cast(pl.Float64, false)),
    pl.col(CATEGORY_RULE.column),
    rule.alias("rule"),
    firstFailing((check) => check.reason).alias("reason"),
    // The raw text of failing rows only, for the quarantine file.
    ...REQUIRED_COLUMNS.map((column) =>
      pl.when(rule.isNull()).then(pl.lit(null)).otherwise(pl.col(column)).alias(`raw_${column}`),
    ),
  );
}

async function countByRule(validated: pl.LazyDataFrame): Promise<Record<string, number>> {
  const counts = await validated
    .filter(pl.col("rule").isNotNull())
    .groupBy("rule")
    .agg(pl.len().alias("count"))
    .sort("rule")
    .collect();
  return Object.fromEntries(
    (counts.toRecords() as { rule: string; count: number }[]).map((r) => [r.rule, Number(r.count)]),
  );
}

async function tooManyFailures(
  input: string,
  validated: pl.LazyDataFrame,
  read: number,
  quarantined: number,
  maxShare: number,
  byRule: Record<string, number>,
): Promise<string> {
  const first = (
    await validated.filter(pl.col("rule").isNotNull()).select("row", "reason").head(5).collect()
  ).toRecords() as { row: number; reason: string }[];
  const percent = (share: number) => `${(share * 100).toFixed(share < 0.1 ? 2 : 1)}%`;
  const lastLineHint = (await endsWithoutNewline(input)) ? " (the last line may be truncated)" : "";
  return [
    `${input}: ${quarantined} of ${read} rows (${percent(quarantined / read)}) failed validation, more than the allowed ${percent(maxShare)} (--max-quarantine).`,
    ...first.map(
      (failure) =>
        `  row ${failure.row}, column ${failure.reason}${lastLineHint && failure.row === read + 1 ? lastLineHint : ""}`,
    ),
    ...(quarantined > first.length ? [`  … and ${quarantined - first.length} more`] : []),
    `By rule: ${Object.entries(byRule)
      .map(([rule, count]) => `${rule} (${count})`)
      .join(", ")}`,
  ].join("\n");
}

async function endsWithoutNewline(path: string): Promise<boolean> {
  const { size } = await stat(path);
  if (size === 0) return false;
  const handle = await open(path, "r");
  try {
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await handle.close();
  }
}

/** Polars reports bad CSV without the file name: add it. */
async function readFailing<T>(input: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${input}: could not be read as CSV: ${(error as Error).message}`);
  }
}

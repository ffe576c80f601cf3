// The ingest stage: raw housing CSV -> validated, imputed Parquet + quarantine + report.
//
// The CSV is read by Node in line-aligned chunks and each chunk is parsed and validated by
// polars on its own, so memory stays bounded whatever the file size (polars' own CSV scan
// maps the whole file into memory). Kept rows of a large input go to Arrow part files; one
// streaming pass then imputes the median and writes clean.parquet. The hot pass computes one
// pass/fail flag per row; reasons and raw text are built only for the rows that fail.
import { createHash, type Hash } from "node:crypto";
import { mkdir, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import pl from "nodejs-polars";
import { InputError } from "../../lib/io/errors.ts";
import { produceDirAtomic, sha256File, writeJsonAtomic } from "../../lib/io/files.ts";
import { libraryVersions } from "../../lib/io/versions.ts";
import {
  CATEGORY_RULE,
  DEFAULT_MAX_QUARANTINE_SHARE,
  describeRange,
  NUMERIC_RULES,
  type NumericRule,
  REQUIRED_COLUMNS,
  ruleBounds,
} from "../../lib/schema/rules.ts";

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

/** Bytes of CSV parsed at a time: enough for polars' parallel parser, small enough to bound memory. */
const CHUNK_BYTES = 32 * 1024 * 1024;

/** Kept rows stay in memory until this much CSV has been read; past it, they go to disk. */
const IN_MEMORY_BYTES = 256 * 1024 * 1024;

/** The column that holds, per row, the index in CHECKS of the first rule it breaks (null when ok). */
const CHECK_COLUMN = "check";

const rawName = (column: string) => `raw_${column}`;

/** The quarantine file's columns, in order. */
const QUARANTINE_COLUMNS = ["row", "rule", "reason", ...REQUIRED_COLUMNS.map(rawName)];

/** Runs the ingest stage: validate every row, quarantine failures, impute, write Parquet. */
export async function runIngest(options: IngestOptions): Promise<IngestReport> {
  const started = Date.now();
  const { input, outDir, onProgress = () => {} } = options;
  const maxShare = options.maxQuarantineShare ?? DEFAULT_MAX_QUARANTINE_SHARE;
  if (!(maxShare >= 0 && maxShare <= 1)) {
    throw new InputError(`max quarantine share: ${maxShare} is not allowed; expected 0..1`);
  }
  const header = await readHeader(input);
  const extraColumns = header.columns.filter(
    (name) => !(REQUIRED_COLUMNS as readonly string[]).includes(name),
  );

  return produceDirAtomic(outDir, async (tempDir) => {
    onProgress("validating rows");
    const partsDir = join(tempDir, "parts");
    const quarantinePath = join(tempDir, INGEST_FILES.quarantine);
    const scan = await validateFile(input, header, partsDir, quarantinePath);
    const { read, kept, missing, median } = scan;
    const quarantined = read - kept;
    if (read === 0) {
      throw new InputError(`${input}: has a header but no data rows; expected at least one row`);
    }
    const byRule = Object.fromEntries(
      CHECKS.map((check, index) => [check.rule, scan.countsByCheck[index]] as const)
        .filter(([, count]) => count > 0)
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    if (quarantined / read > maxShare) {
      throw new InputError(
        await tooManyFailures(input, scan.firstFailures, read, quarantined, maxShare, byRule),
      );
    }
    if (median === null) {
      throw new InputError(`${input}: column total_bedrooms has no values to take a median from`);
    }

    onProgress("writing clean Parquet");
    const imputedColumns = NUMERIC_RULES.filter((rule) => rule.imputed).map((rule) => rule.column);
    const cleanPath = join(tempDir, INGEST_FILES.clean);
    await pl
      .concat(scan.keptRows)
      .withColumns(...imputedColumns.map((column) => pl.col(column).fillNull(median)))
      .sinkParquet(cleanPath)
      .collect();
    await rm(partsDir, { recursive: true });

    const report: IngestReport = {
      stage: "ingest",
      input: { path: input, sha256: scan.sha256, bytes: scan.bytes },
      rows: { read, kept, quarantined },
      quarantinedByRule: byRule,
      imputed: Object.fromEntries(
        imputedColumns.map((column) => [
          column,
          { count: missing, value: median, method: "median" },
        ]),
      ),
      extraColumns,
      maxQuarantineShare: maxShare,
      outputs: {
        clean: { file: INGEST_FILES.clean, sha256: await sha256File(cleanPath) },
        quarantine: { file: INGEST_FILES.quarantine, sha256: await sha256File(quarantinePath) },
      },
      libraries: libraryVersions(),
      createdAt: new Date().toISOString(),
      durationMs: Date.now() - started,
    };
    await writeJsonAtomic(join(tempDir, INGEST_FILES.report), report);
    return report;
  });
}

interface Header {
  /** Column names, trimmed and unquoted. */
  columns: string[];
  /** Length of the header line in bytes, line break included: where the data starts. */
  bytes: number;
}

/**
 * Reads and checks the header line: the file exists, is not empty, uses commas and
 * has every required column. A UTF-8 BOM and CRLF line endings are accepted.
 */
async function readHeader(input: string): Promise<Header> {
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
  const lineBreak = buffer.subarray(0, bytesRead).indexOf(0x0a);
  return { columns, bytes: lineBreak === -1 ? bytesRead : lineBreak + 1 };
}

/** True where `value` keeps the rule's bounds (null where it is null). */
function inRange(rule: NumericRule, value: pl.Expr): pl.Expr {
  const { lower, lowerInclusive, upper } = ruleBounds(rule);
  return (lowerInclusive ? value.gtEq(lower) : value.gt(lower)).and(value.ltEq(upper));
}

/** One validation rule as a polars condition, with the words the report and quarantine use. */
interface Check {
  /** The name rows are counted under, e.g. `median_income: not a number`. */
  rule: string;
  /** True where a row breaks the rule; reads the text `raw_<column>` and the parsed `<column>`. */
  failed: pl.Expr;
  column: string;
  /** The reason written for a failing row, given the column's stripped text. */
  reason: (text: string) => string;
}

/** Every check in the order they apply: a row is reported under the first one it fails. */
const CHECKS: Check[] = (() => {
  const checks: Check[] = [];
  for (const rule of NUMERIC_RULES) {
    const { column } = rule;
    const text = pl.col(rawName(column));
    const value = pl.col(column);
    const blank = text.isNull().or(text.eq(pl.lit("")));
    if (!rule.imputed) {
      checks.push({
        rule: `${column}: missing`,
        failed: blank,
        column,
        reason: () => `${column}: missing value`,
      });
    }
    checks.push({
      rule: `${column}: not a number`,
      failed: blank.not().and(value.isNull().or(value.isFinite().not())),
      column,
      reason: (found) => `${column}: "${found}" is not a number`,
    });
    checks.push({
      rule: `${column}: out of range`,
      failed: value.isNotNull().and(inRange(rule, value).not()),
      column,
      reason: (found) =>
        `${column}: "${found}" is out of range; expected ${describeRange(rule)} (${rule.meaning})`,
    });
  }
  const { column, values } = CATEGORY_RULE;
  const category = pl.col(rawName(column));
  checks.push({
    rule: `${column}: missing`,
    failed: category.isNull().or(category.eq(pl.lit(""))),
    column,
    reason: () => `${column}: missing value`,
  });
  checks.push({
    rule: `${column}: unknown value`,
    failed: category.isIn(values).not(),
    column,
    reason: (found) => `${column}: "${found}" is not one of ${values.join(", ")}`,
  });
  return checks;
})();

const keptColumns = ["row", ...NUMERIC_RULES.map((rule) => rule.column), CATEGORY_RULE.column];

/**
 * The expressions of the per-chunk work, built once: nodejs-polars takes about half a
 * millisecond to build each expression object, which per chunk would add up to more than the
 * checks themselves cost.
 */
const CHUNK_EXPRESSIONS = (() => {
  const row = pl.col("row");
  const failed = pl.col("failed");
  const check = pl.col(CHECK_COLUMN);
  let firstFailing = pl.when(CHECKS[0].failed).then(pl.lit(0));
  for (let index = 1; index < CHECKS.length; index++) {
    firstFailing = firstFailing.when(CHECKS[index].failed).then(pl.lit(index));
  }
  return {
    /** The text of each column as read, as `raw_<column>`. */
    textAsRead: [row, ...REQUIRED_COLUMNS.map((column) => pl.col(column).alias(rawName(column)))],
    /** `raw_<column>` back to `<column>`. */
    textAsColumns: [
      row,
      ...REQUIRED_COLUMNS.map((column) => pl.col(rawName(column)).alias(column)),
    ],
    /** The text of each column stripped of blanks, as `raw_<column>`. */
    textStripped: [
      row,
      ...REQUIRED_COLUMNS.map((column) =>
        pl.col(column).str.stripChars(" \t").alias(rawName(column)),
      ),
    ],
    /** The parsed values (null when not a number) and the category, from `raw_<column>`. */
    values: [
      ...NUMERIC_RULES.map((rule) =>
        pl.col(rawName(rule.column)).cast(pl.Float64, false).alias(rule.column),
      ),
      pl.col(rawName(CATEGORY_RULE.column)).alias(CATEGORY_RULE.column),
    ],
    /**
     * On values parsed by the CSV reader: whether the row fails a check. There an empty value
     * is null, which only the imputed column allows; text that is no number never gets here,
     * as it fails the parse. Agrees with CHECKS (a test holds it to that).
     */
    parsedFailed: pl
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
      .alias("failed"),
    anyFailed: pl
      .anyHorizontal(CHECKS.map((check) => check.failed))
      // A null check (a comparison with an empty value) is no failure, as in when/then below.
      .fillNull(false)
      .alias("failed"),
    /** Per row, the index in CHECKS of the first check it fails, or null when it passes all. */
    firstFailing: firstFailing.otherwise(pl.lit(null)).cast(pl.UInt8).alias(CHECK_COLUMN),
    failed,
    passed: failed.not(),
    checkFailed: check.isNotNull(),
    checkPassed: check.isNull(),
    kept: keptColumns.map((column) => pl.col(column)),
  };
})();

interface FileScan {
  read: number;
  kept: number;
  /** Kept rows whose total_bedrooms is empty: the ones imputed. */
  missing: number;
  /** Median of the kept rows' total_bedrooms, or null when there are none. */
  median: number | null;
  /** Quarantined rows per index of CHECKS. */
  countsByCheck: number[];
  /** The first few failures in file order, for the error message. */
  firstFailures: { row: number; reason: string }[];
  /** The kept rows, in file order. */
  keptRows: pl.LazyDataFrame[];
  sha256: string;
  bytes: number;
}

/**
 * Parses and validates `input` chunk by chunk: kept rows kept in memory or as Arrow parts in
 * `partsDir`, failing rows with their reasons to the quarantine CSV, everything else counted.
 */
async function validateFile(
  input: string,
  header: Header,
  partsDir: string,
  quarantinePath: string,
): Promise<FileScan> {
  await mkdir(partsDir);
  const numericColumns = new Set(NUMERIC_RULES.map((rule) => rule.column));
  const schemas: ChunkSchemas = {
    text: Object.fromEntries(header.columns.map((name) => [name, pl.Utf8])),
    parsed: Object.fromEntries(
      header.columns.map((name) => [name, numericColumns.has(name) ? pl.Float64 : pl.Utf8]),
    ),
  };
  const scan: FileScan = {
    read: 0,
    kept: 0,
    missing: 0,
    median: null,
    countsByCheck: CHECKS.map(() => 0),
    firstFailures: [],
    keptRows: [],
    sha256: "",
    bytes: 0,
  };
  const bedroomCounts: pl.DataFrame[] = [];
  const inMemory: pl.DataFrame[] = [];
  const parts: string[] = [];
  const hash = createHash("sha256");
  const quarantine = await open(quarantinePath, "w");
  try {
    await quarantine.write(`${QUARANTINE_COLUMNS.join(",")}\n`);
    for await (const chunk of dataChunks(input, header.bytes, hash)) {
      scan.bytes += chunk.length;
      // Line numbers of the file: the header is line 1.
      const firstRow = scan.read + 2;
      const checked = await validateChunk(input, chunk, firstRow, schemas);
      const { kept: keptRows, failing } = checked;
      scan.read += checked.rows;
      if (keptRows.height > 0) {
        scan.kept += keptRows.height;
        const values = keptRows.getColumn("total_bedrooms");
        scan.missing += values.nullCount();
        addValueCounts(bedroomCounts, values);
        inMemory.push(keptRows);
      }
      // Kept rows stay in memory while the input is small (writing and reading them back costs
      // a fifth of the stage), and go to disk past that, so memory stays bounded.
      if (scan.bytes > IN_MEMORY_BYTES) {
        for (const rows of inMemory.splice(0)) {
          // Arrow IPC, uncompressed: the cheapest to write, and read once, from the page cache.
          const part = join(partsDir, `${String(parts.length).padStart(6, "0")}.arrow`);
          rows.writeIPC(part);
          parts.push(part);
        }
      }
      if (failing) {
        const rows = quarantineRows(failing, scan);
        await quarantine.write(rows.writeCSV({ includeHeader: false }));
      }
    }
  } finally {
    await quarantine.close();
  }
  scan.keptRows = [
    ...parts.map((part) => pl.scanIPC(part)),
    ...inMemory.map((rows) => rows.lazy()),
  ];
  scan.sha256 = hash.digest("hex");
  scan.bytes += header.bytes;
  scan.median = medianOfCounts(bedroomCounts);
  return scan;
}

// The median is taken from value counts merged chunk by chunk, so that its memory grows with
// the distinct values (a few thousand for a count column) rather than with the rows.

/** Adds the counts of each non-empty value of `values` to `counts`. */
function addValueCounts(counts: pl.DataFrame[], values: pl.Series): void {
  const chunkCounts = values.dropNulls().alias("value").valueCounts();
  // UInt64 counts, as merged counts have: concat needs the same types.
  counts.push(chunkCounts.withColumns(pl.col("count").cast(pl.UInt64)));
  if (counts.length >= 16) counts.splice(0, counts.length, mergeCounts(counts));
}

function mergeCounts(counts: pl.DataFrame[]): pl.DataFrame {
  return pl.concat(counts).groupBy("value").agg(pl.col("count").sum());
}

/** The median of the values counted, or null when there are none. */
function medianOfCounts(counts: pl.DataFrame[]): number | null {
  if (counts.length === 0) return null;
  const sorted = mergeCounts(counts)
    .sort("value")
    .withColumns(pl.col("count").cumSum().alias("through"));
  const total = Number(sorted.getColumn("count").sum());
  if (total === 0) return null;
  const valueAt = (index: number) =>
    sorted.filter(pl.col("through").gt(index)).getColumn("value").get(0) as number;
  // The two middle values (the same one when the total is odd) go through polars' own median
  // so that it interpolates exactly as it would on the whole column.
  const middle = [valueAt(Math.floor((total - 1) / 2)), valueAt(Math.ceil((total - 1) / 2))];
  return pl.Series("value", middle, pl.Float64).median() as number;
}

interface ChunkSchemas {
  /** Every column as text, so that a bad value can be reported as found. */
  text: Record<string, pl.DataType>;
  /** The numeric columns as numbers, the others as text. */
  parsed: Record<string, pl.DataType>;
}

interface CheckedRows {
  /** `row`, the parsed values and the category of the rows that pass every check. */
  kept: pl.DataFrame;
  /** `row`, `check` and the stripped text `raw_<column>` of the others, or null when none. */
  failing: pl.DataFrame | null;
}

/** Parses and checks one chunk of CSV lines; kept and failing rows are in file order. */
async function validateChunk(
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
  const checked = await parsed
    .lazy()
    .withRowIndex("row", firstRow)
    .select(...x.kept, x.parsedFailed)
    .collect();
  // Polars' threads filter the kept rows while this one looks for the lines of failing rows.
  const keeping = checked
    .lazy()
    .filter(x.passed)
    .select(...x.kept)
    .collect();
  const failingRows = checked.filter(x.failed).getColumn("row");
  if (failingRows.length === 0) return { rows: checked.height, kept: await keeping, failing: null };

  // The few rows that fail are read again from their lines, as text, for their reasons.
  const indexes = (failingRows.toArray() as number[]).map((row) => row - firstRow);
  const text = readText(linesAt(chunk, indexes));
  const kept = await keeping;
  // Never seen; but should lines and rows not match, the whole chunk is read as text instead.
  if (text.height !== indexes.length) return viaText();
  const rechecked = await checkStripped(text.withColumns(failingRows).lazy());
  return { rows: checked.height, kept: withKept(kept, rechecked.kept), failing: rechecked.failing };
}

/** The chunk parsed with numbers as numbers, or null when a number column holds other text. */
function readParsed(chunk: Buffer, schema: Record<string, pl.DataType>): pl.DataFrame | null {
  try {
    return pl.readCSV(chunk, { hasHeader: false, schema, truncateRaggedLines: true });
  } catch {
    return null;
  }
}

/** The lines at `indexes` (0-based, ascending) of `chunk`, line breaks included. */
function linesAt(chunk: Buffer, indexes: number[]): Buffer {
  const lines: Buffer[] = [];
  let line = 0;
  let start = 0;
  for (const index of indexes) {
    for (; line < index; line++) start = chunk.indexOf(0x0a, start) + 1;
    const end = chunk.indexOf(0x0a, start);
    lines.push(chunk.subarray(start, end === -1 ? chunk.length : end + 1));
  }
  return Buffer.concat(lines);
}

/** Checks text rows (`row` and the text of each column). */
async function checkText(rows: pl.DataFrame): Promise<CheckedRows> {
  const x = CHUNK_EXPRESSIONS;
  // Fast path: check the text as read, without stripping blanks (which costs more than the
  // rest of the checks together). A value with blanks around it never parses as a number nor
  // matches a category, so such a row fails here and is checked again, stripped.
  const asRead = await rows
    .lazy()
    .select(...x.textAsRead)
    .withColumns(...x.values)
    .withColumns(x.anyFailed)
    .collect();
  const kept = await asRead
    .lazy()
    .filter(x.passed)
    .select(...x.kept)
    .collect();
  if (kept.height === asRead.height) return { kept, failing: null };
  const rechecked = await checkStripped(
    asRead
      .lazy()
      .filter(x.failed)
      .select(...x.textAsColumns),
  );
  return { kept: withKept(kept, rechecked.kept), failing: rechecked.failing };
}

/** Checks text rows (`row` and the text of each column) with the text stripped of blanks. */
async function checkStripped(rows: pl.LazyDataFrame): Promise<CheckedRows> {
  const x = CHUNK_EXPRESSIONS;
  const checked = await rows
    .select(...x.textStripped)
    .withColumns(...x.values)
    .withColumns(x.firstFailing)
    .collect();
  const failing = checked.filter(x.checkFailed);
  return {
    kept: checked.filter(x.checkPassed).select(...keptColumns),
    failing: failing.height > 0 ? failing : null,
  };
}

/** `kept` with `more` kept rows, in file order. */
function withKept(kept: pl.DataFrame, more: pl.DataFrame): pl.DataFrame {
  return more.height === 0 ? kept : kept.vstack(more).sort("row");
}

/** The quarantine rows of a chunk's failing rows; counts them and keeps the first few for errors. */
function quarantineRows(failing: pl.DataFrame, scan: FileScan): pl.DataFrame {
  const checkIndexes = failing.getColumn(CHECK_COLUMN).toArray() as number[];
  const rowNumbers = failing.getColumn("row").toArray() as number[];
  const texts = new Map<string, string[]>();
  const textsOf = (column: string) => {
    let found = texts.get(column);
    if (!found) {
      found = failing.getColumn(rawName(column)).toArray() as string[];
      texts.set(column, found);
    }
    return found;
  };
  const rules: string[] = [];
  const reasons: string[] = [];
  checkIndexes.forEach((index, i) => {
    const check = CHECKS[index];
    const reason = check.reason(textsOf(check.column)[i]);
    rules.push(check.rule);
    reasons.push(reason);
    scan.countsByCheck[index]++;
    if (scan.firstFailures.length < 5) scan.firstFailures.push({ row: rowNumbers[i], reason });
  });
  return failing
    .withColumns(pl.Series("rule", rules, pl.Utf8), pl.Series("reason", reasons, pl.Utf8))
    .select(...QUARANTINE_COLUMNS);
}

/**
 * The data part of `input` (after the header) in pieces of about CHUNK_BYTES, each ending at a
 * line break outside quotes so polars can parse it alone. `hash` sees every byte of the file.
 * A piece is valid only until the next one is asked for: its buffer is then reused.
 */
async function* dataChunks(input: string, headerBytes: number, hash: Hash): AsyncGenerator<Buffer> {
  const handle = await open(input, "r");
  let position = 0;
  const readInto = async (buffer: Buffer, offset: number, length: number) => {
    const { bytesRead } = await handle.read(buffer, offset, length, position);
    position += bytesRead;
    hash.update(buffer.subarray(offset, offset + bytesRead));
    return bytesRead;
  };
  // Two buffers, so that the next piece is read and hashed while polars works on this one.
  const buffers = [Buffer.alloc(Math.max(CHUNK_BYTES, headerBytes)), Buffer.alloc(CHUNK_BYTES)];
  let current = 0;
  // Bytes at the start of the current buffer: an incomplete line left over from the last piece.
  let carried = 0;
  let reading = Promise.resolve(0);
  try {
    await readInto(buffers[current], 0, headerBytes);
    reading = readInto(buffers[current], 0, buffers[current].length);
    for (;;) {
      const bytesRead = await reading;
      let buffer = buffers[current];
      const filled = carried + bytesRead;
      if (bytesRead === 0) {
        if (filled > 0) yield buffer.subarray(0, filled);
        return;
      }
      const end = endOfLastRecord(buffer, filled);
      if (end === 0) {
        if (filled === buffer.length) {
          // One line longer than the buffer: grow it rather than split the line.
          buffer = Buffer.concat([buffer, Buffer.alloc(buffer.length)]);
          buffers[current] = buffer;
        }
        carried = filled;
        reading = readInto(buffer, filled, buffer.length - filled);
        continue;
      }
      const next = 1 - current;
      if (buffers[next].length < buffer.length) buffers[next] = Buffer.alloc(buffer.length);
      carried = buffer.copy(buffers[next], 0, end, filled);
      reading = readInto(buffers[next], carried, buffers[next].length - carried);
      current = next;
      yield buffer.subarray(0, end);
    }
  } finally {
    // Let a read still under way finish before the file is closed under it.
    await reading.catch(() => {});
    await handle.close();
  }
}

/** Where the last complete CSV record in `buffer[0, filled)` ends: after a line break outside quotes. */
function endOfLastRecord(buffer: Buffer, filled: number): number {
  const data = buffer.subarray(0, filled);
  // Without quotes every line break ends a record; the byte scan below is only for quoted text.
  if (data.indexOf(0x22) === -1) return data.lastIndexOf(0x0a) + 1;
  let inQuotes = false;
  let end = 0;
  for (let i = 0; i < filled; i++) {
    const byte = data[i];
    if (byte === 0x22) inQuotes = !inQuotes;
    else if (byte === 0x0a && !inQuotes) end = i + 1;
  }
  return end;
}

async function tooManyFailures(
  input: string,
  first: { row: number; reason: string }[],
  read: number,
  quarantined: number,
  maxShare: number,
  byRule: Record<string, number>,
): Promise<string> {
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

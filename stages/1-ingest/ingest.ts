// The ingest stage: raw housing CSV -> validated, imputed Parquet + quarantine + report.
//
// The CSV is read in line-aligned chunks (csv.ts) and each chunk is parsed and checked by polars
// on its own (checks.ts). Kept rows of a large input go to Arrow part files; one streaming pass
// then imputes the median and writes clean.parquet.
import { mkdir, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import pl from "nodejs-polars";
import { InputError } from "../../lib/io/errors.ts";
import {
  produceDirAtomic,
  sha256File,
  sha256FileOffThread,
  writeJsonAtomic,
} from "../../lib/io/files.ts";
import { libraryVersions } from "../../lib/io/versions.ts";
import {
  DEFAULT_MAX_QUARANTINE_SHARE,
  NUMERIC_RULES,
  REQUIRED_COLUMNS,
} from "../../lib/schema/rules.ts";
import {
  CHECK_COLUMN,
  CHECKS,
  type ChunkSchemas,
  QUARANTINE_COLUMNS,
  rawName,
  validateChunk,
} from "./checks.ts";
import { dataChunks, endsWithoutNewline, type Header, readHeader } from "./csv.ts";

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
  /** Bytes of CSV parsed at a time (default 32 MiB, csv.ts CHUNK_BYTES). */
  chunkBytes?: number;
  /** Kept rows stay in memory until this much CSV has been read, then wait on disk (default 256 MiB). */
  inMemoryBytes?: number;
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

/** Kept rows stay in memory until this much CSV has been read; past it, they go to disk. */
const IN_MEMORY_BYTES = 256 * 1024 * 1024;

/** A one-line summary of an ingest report, for the console and job summaries. */
export function describeIngest(report: IngestReport): string {
  const imputed = Object.entries(report.imputed)
    .map(([column, info]) => `${info.count} ${column} imputed with ${info.value}`)
    .join(", ");
  return `${report.rows.read} rows read, ${report.rows.kept} kept, ${report.rows.quarantined} quarantined; ${imputed}`;
}

/** Runs the ingest stage: validate every row, quarantine failures, impute, write Parquet. */
export async function runIngest(options: IngestOptions): Promise<IngestReport> {
  const started = Date.now();
  const { input, outDir, onProgress = () => {} } = options;
  const maxShare = options.maxQuarantineShare ?? DEFAULT_MAX_QUARANTINE_SHARE;
  if (!(maxShare >= 0 && maxShare <= 1)) {
    throw new InputError(`max quarantine share: ${maxShare} is not allowed; expected 0..1`);
  }
  const header = await readHeader(input);
  const inputState = await fileState(input);
  const extraColumns = header.columns.filter(
    (name) => !(REQUIRED_COLUMNS as readonly string[]).includes(name),
  );

  return produceDirAtomic(outDir, async (tempDir) => {
    onProgress("validating rows");
    const partsDir = join(tempDir, "parts");
    const quarantinePath = join(tempDir, INGEST_FILES.quarantine);
    const scan = await validateFile(input, header, partsDir, quarantinePath, options);
    // The rows and the sha256 come from two reads of the file (see validateFile): they describe
    // the same bytes only if the file did not change in between.
    if ((await fileState(input)) !== inputState) {
      throw new InputError(
        `${input}: the file changed while it was being read; run the ingest again once nothing writes to it`,
      );
    }
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
    const [cleanSha256, quarantineSha256] = await Promise.all([
      sha256File(cleanPath),
      sha256File(quarantinePath),
      rm(partsDir, { recursive: true }),
    ]);

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
        clean: { file: INGEST_FILES.clean, sha256: cleanSha256 },
        quarantine: { file: INGEST_FILES.quarantine, sha256: quarantineSha256 },
      },
      libraries: libraryVersions(),
      createdAt: new Date().toISOString(),
      durationMs: Date.now() - started,
    };
    await writeJsonAtomic(join(tempDir, INGEST_FILES.report), report);
    return report;
  });
}

/** What tells one state of a file from another: its inode, size and modification time. */
async function fileState(path: string): Promise<string> {
  const { ino, size, mtimeNs } = await stat(path, { bigint: true });
  return `${ino}:${size}:${mtimeNs}`;
}

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
  bytes: number;
  /** The sha256 of the whole file (lineage). */
  sha256: string;
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
  {
    chunkBytes,
    inMemoryBytes = IN_MEMORY_BYTES,
  }: Pick<IngestOptions, "chunkBytes" | "inMemoryBytes">,
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
    bytes: 0,
    sha256: "",
  };
  // The sha256 (lineage) is computed on a thread of its own, which reads the file again: on this
  // thread, it would wait for and hold up polars' parsing (about a tenth of the stage).
  const hashing = sha256FileOffThread(input);
  hashing.catch(() => {}); // awaited below, unless the rows fail first
  const bedroomCounts: pl.DataFrame[] = [];
  const inMemory: pl.LazyDataFrame[] = [];
  const parts: string[] = [];
  const quarantine = await open(quarantinePath, "w");
  try {
    await quarantine.write(`${QUARANTINE_COLUMNS.join(",")}\n`);
    const chunks = dataChunks(input, header.bytes, { chunkBytes });
    for await (const chunk of chunks) {
      scan.bytes += chunk.length;
      // Line numbers of the file: the header is line 1.
      const firstRow = scan.read + 2;
      const checked = await validateChunk(input, chunk, firstRow, schemas);
      const { kept: keptRows, failing } = checked;
      scan.read += checked.rows;
      if (checked.keptCount > 0) {
        scan.kept += checked.keptCount;
        const values = (await keptRows.select("total_bedrooms").collect()).getColumn(
          "total_bedrooms",
        );
        scan.missing += values.nullCount();
        addValueCounts(bedroomCounts, values);
        inMemory.push(keptRows);
      }
      // Kept rows stay in memory while the input is small (writing and reading them back costs
      // a fifth of the stage), and go to disk past that, so memory stays bounded.
      if (scan.bytes > inMemoryBytes) {
        for (const rows of inMemory.splice(0)) {
          // Arrow IPC, uncompressed: the cheapest to write, and read once, from the page cache.
          const part = join(partsDir, `${String(parts.length).padStart(6, "0")}.arrow`);
          await rows.sinkIpc(part).collect();
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
  scan.keptRows = [...parts.map((part) => pl.scanIPC(part)), ...inMemory];
  scan.bytes += header.bytes;
  scan.sha256 = await hashing;
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
    `${input}: ${quarantined} of ${read} rows (${percent(quarantined / read)}) failed validation, more than the allowed ${percent(maxShare)} (max-quarantine, params.json ingest.maxQuarantineShare).`,
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

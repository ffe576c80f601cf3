import { createHash } from "node:crypto";
import { appendFileSync, existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pl from "nodejs-polars";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  HEADER,
  housingCsv,
  housingLine,
  REAL_HOUSING_CSV,
  tempDir,
  withField,
} from "../../test/support/housing.ts";
import { type IngestOptions, runIngest } from "./ingest.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

async function ingestText(text: string | Buffer, options: { maxQuarantineShare?: number } = {}) {
  const input = join(dir, "input.csv");
  await writeFile(input, text);
  return runIngest({ input, outDir: join(dir, "out"), ...options });
}

/** Runs ingest on `text`, expects it to fail, and checks nothing was written. */
async function expectIngestError(text: string | Buffer): Promise<string> {
  const error = await ingestText(text).then(
    () => null,
    (caught: Error) => caught,
  );
  expect(error, "ingest should have failed").toBeInstanceOf(Error);
  expect(existsSync(join(dir, "out")), "no output folder after a failure").toBe(false);
  expect((await readdir(dir)).filter((name) => name.includes(".tmp"))).toEqual([]);
  return (error as Error).message;
}

function replaceLine(text: string, lineNumber: number, line: string): string {
  const lines = text.split("\n");
  lines[lineNumber - 1] = line;
  return lines.join("\n");
}

describe("ingest: good input", () => {
  it("keeps every valid row, imputes total_bedrooms with the median and reports it", async () => {
    const report = await ingestText(housingCsv(70));
    expect(report.rows).toEqual({ read: 70, kept: 70, quarantined: 0 });
    const clean = pl.readParquet(join(dir, "out", "clean.parquet"));
    expect(clean.height).toBe(70);
    expect(clean.getColumn("total_bedrooms").nullCount()).toBe(0);
    const present = Array.from({ length: 70 }, (_, i) => housingLine(i).split(",")[4])
      .filter((value) => value !== "")
      .map(Number)
      .sort((a, b) => a - b);
    const mid = present.length / 2;
    const median =
      present.length % 2 ? present[Math.floor(mid)] : (present[mid - 1] + present[mid]) / 2;
    expect(report.imputed.total_bedrooms).toEqual({ count: 10, value: median, method: "median" });
    expect(clean.getColumn("row").toArray().slice(0, 3)).toEqual([2, 3, 4]);
    const saved = JSON.parse(await readFile(join(dir, "out", "ingest.json"), "utf8"));
    expect(saved.input.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(saved.libraries["nodejs-polars"]).toBeTruthy();
  });

  it("accepts CRLF line endings and a UTF-8 BOM", async () => {
    const text = `\ufeff${housingCsv(20).replaceAll("\n", "\r\n")}`;
    const report = await ingestText(text);
    expect(report.rows.kept).toBe(20);
    const clean = pl.readParquet(join(dir, "out", "clean.parquet"));
    expect(clean.getColumn("ocean_proximity").toArray()[0]).toBe("<1H OCEAN");
    expect(clean.getColumn("longitude").toArray()[0]).toBe(-122);
  });

  it("keeps extra columns out of the output and reports them", async () => {
    const lines = housingCsv(10).trimEnd().split("\n");
    const text = `${[`${lines[0]},comment`, ...lines.slice(1).map((line) => `${line},hello`)].join("\n")}\n`;
    const report = await ingestText(text);
    expect(report.extraColumns).toEqual(["comment"]);
    expect(pl.readParquet(join(dir, "out", "clean.parquet")).columns).not.toContain("comment");
  });

  it("quarantines a bad row with its line number and reason when within the allowed share", async () => {
    const text = replaceLine(
      housingCsv(200),
      5,
      withField(housingLine(3), "ocean_proximity", "MOON"),
    );
    const report = await ingestText(text);
    expect(report.rows).toEqual({ read: 200, kept: 199, quarantined: 1 });
    expect(report.quarantinedByRule).toEqual({ "ocean_proximity: unknown value": 1 });
    const quarantine = pl.readCSV(await readFile(join(dir, "out", "quarantine.csv"), "utf8"));
    expect(quarantine.getColumn("row").toArray()).toEqual([5]);
    expect(quarantine.getColumn("reason").toArray()[0]).toContain('"MOON" is not one of');
  });

  it("replaces a previous output only when it succeeds", async () => {
    await ingestText(housingCsv(20));
    const before = await readFile(join(dir, "out", "ingest.json"), "utf8");
    await expect(ingestText(`${HEADER}\n`)).rejects.toThrow(/no data rows/);
    expect(await readFile(join(dir, "out", "ingest.json"), "utf8")).toBe(before);
  });
});

describe("ingest: the same result however the file is read", () => {
  /** Runs ingest on `text` in its own folder, allowing any share of bad rows. */
  async function ingestAll(
    name: string,
    text: string,
    sizes: Pick<IngestOptions, "chunkBytes" | "inMemoryBytes"> = {},
  ) {
    const input = join(dir, `${name}.csv`);
    await writeFile(input, text);
    const outDir = join(dir, name);
    const report = await runIngest({ input, outDir, maxQuarantineShare: 1, ...sizes });
    return {
      report,
      clean: pl.readParquet(join(outDir, "clean.parquet")),
      quarantine: (await readFile(join(outDir, "quarantine.csv"), "utf8")).trimEnd().split("\n"),
    };
  }

  it("checks rows alike whether a chunk's numbers parse as numbers or some are text", async () => {
    const edges: [string, string][] = [
      ["longitude", "-124.5"],
      ["longitude", "-124.50001"],
      ["latitude", "42.1"],
      ["housing_median_age", "200"],
      ["housing_median_age", "-0"],
      ["total_rooms", "inf"],
      ["total_rooms", "NaN"],
      ["total_rooms", ""],
      ["total_bedrooms", ""],
      ["total_bedrooms", "1e400"],
      ["population", ".5"],
      ["households", "1E2"],
      ["median_income", "0.0"],
      ["ocean_proximity", " INLAND"],
      ["ocean_proximity", "inland"],
    ];
    const lines = Array.from({ length: 200 }, (_, i) => housingLine(i));
    edges.forEach((edge, k) => {
      lines[k * 10 + 1] = withField(lines[k * 10 + 1], ...edge);
    });
    const text = `${HEADER}\n${lines.join("\n")}\n`;
    const numbers = await ingestAll("numbers", text);
    // One value that is no number makes the reader take the whole file as text.
    const garbage = withField(housingLine(3), "population", "abc");
    const mixed = await ingestAll("mixed", `${text}${garbage}\n`);

    expect(mixed.quarantine.slice(0, -1)).toEqual(numbers.quarantine);
    expect(mixed.quarantine.at(-1)).toMatch(/^202,population: not a number,/);
    expect(mixed.clean.frameEqual(numbers.clean)).toBe(true);
    expect(numbers.report.imputed).toEqual(mixed.report.imputed);
    const ruleOf = (row: number) =>
      numbers.quarantine.find((line) => line.startsWith(`${row},`))?.split(",")[1];
    // Edge k is on line k * 10 + 3.
    expect(ruleOf(3)).toBeUndefined();
    expect(ruleOf(13)).toBe("longitude: out of range");
    expect(ruleOf(43)).toBe("housing_median_age: out of range");
    expect(ruleOf(53)).toBe("total_rooms: not a number");
    expect(ruleOf(73)).toBe("total_rooms: missing");
    expect(ruleOf(83)).toBeUndefined();
    expect(ruleOf(93)).toBe("total_bedrooms: not a number");
    expect(ruleOf(123)).toBe("median_income: out of range");
    expect(ruleOf(133)).toBeUndefined();
    expect(ruleOf(143)).toBe("ocean_proximity: unknown value");
  });

  it("reads values with blanks around them as their stripped text, the imputed column too", async () => {
    // The text in population makes this a text chunk: every row is checked from its text.
    const edits: [number, string, string][] = [
      [1, "total_bedrooms", " 300 "],
      [2, "total_bedrooms", "abc"],
      [3, "total_bedrooms", "\t"],
      [4, "median_income", " 3.5"],
      [5, "ocean_proximity", "INLAND "],
      [6, "population", "many"],
      [7, "latitude", " 99 "],
    ];
    const lines = Array.from({ length: 20 }, (_, i) => housingLine(i));
    for (const [line, column, value] of edits) lines[line] = withField(lines[line], column, value);
    const { report, clean, quarantine } = await ingestAll(
      "blanks",
      `${HEADER}\n${lines.join("\n")}\n`,
    );

    const rules = quarantine.slice(1).map((line) => line.split(",").slice(0, 2).join(","));
    expect(rules).toEqual([
      "4,total_bedrooms: not a number",
      "8,population: not a number",
      "9,latitude: out of range",
    ]);
    // Imputed: the empty total_bedrooms of the kept rows, the blank one ("\t") among them.
    const bedrooms = HEADER.split(",").indexOf("total_bedrooms");
    const empty = lines.filter(
      (line, i) => i !== 2 && i !== 6 && i !== 7 && line.split(",")[bedrooms].trim() === "",
    );
    expect(empty).toContain(lines[3]);
    expect(report.imputed.total_bedrooms.count).toBe(empty.length);
    const at = (row: number) =>
      (clean.toRecords() as Record<string, unknown>[]).find((record) => record.row === row);
    expect(at(3)?.total_bedrooms).toBe(300);
    expect(at(5)?.total_bedrooms).toBe(report.imputed.total_bedrooms.value);
    expect(at(6)?.median_income).toBe(3.5);
    expect(at(7)?.ocean_proximity).toBe("INLAND");
  });

  it("numbers rows by their line, and hashes the file, across chunks of a large file", async () => {
    // About 10 MB read in 4 MiB chunks, with bad rows around the first boundary.
    const chunkBytes = 4 * 1024 * 1024;
    const rows = 150_000;
    const lines = [HEADER];
    for (let i = 0; i < rows; i++) lines.push(housingLine(i));
    let firstOfNextChunk = 1;
    for (let bytes = 0; bytes <= chunkBytes; firstOfNextChunk++) {
      bytes += lines[firstOfNextChunk].length + 1;
    }
    firstOfNextChunk--;
    const bad = new Map<number, [string, string]>([
      [3, ["longitude", "-130"]],
      [firstOfNextChunk - 1, ["ocean_proximity", "MOON"]],
      [firstOfNextChunk, ["latitude", ""]],
      // Text that is no number: this chunk is read as text, the first one with numbers parsed.
      [firstOfNextChunk + 1, ["median_income", "zero"]],
      [rows, ["latitude", ""]],
    ]);
    for (const [line, [column, value]] of bad) lines[line] = withField(lines[line], column, value);
    const text = `${lines.join("\n")}\n`;
    const { report, clean, quarantine } = await ingestAll("large", text, { chunkBytes });

    expect(report.input.sha256).toBe(createHash("sha256").update(text).digest("hex"));
    expect(report.input.bytes).toBe(Buffer.byteLength(text));
    expect(report.rows).toEqual({ read: rows, kept: rows - bad.size, quarantined: bad.size });
    // Line numbers count from 1 at the header.
    const quarantined = quarantine.slice(1).map((line) => Number(line.split(",")[0]));
    expect(quarantined).toEqual([...bad.keys()].map((line) => line + 1));
    const rowNumbers = clean.getColumn("row").toArray() as number[];
    expect(rowNumbers.slice(0, 4)).toEqual([2, 3, 5, 6]);
    expect(rowNumbers.every((row, i) => !i || row > rowNumbers[i - 1])).toBe(true);
    expect(rowNumbers.at(-1)).toBe(rows);

    // Past inMemoryBytes the kept rows wait on disk: the same outputs.
    const spilled = await ingestAll("spilled", text, { chunkBytes, inMemoryBytes: 0 });
    expect(spilled.report.rows).toEqual(report.rows);
    expect(spilled.report.imputed).toEqual(report.imputed);
    expect(spilled.quarantine).toEqual(quarantine);
    expect(spilled.clean.frameEqual(clean)).toBe(true);
  });
});

describe("ingest: bad input", () => {
  it("missing file", async () => {
    await expect(
      runIngest({ input: join(dir, "nope.csv"), outDir: join(dir, "out") }),
    ).rejects.toThrow(/nope\.csv: file not found; run `npm run data:fetch`/);
  });

  it("a file that changes while it is read: no output, and a message that says so", async () => {
    // The rows and the sha256 come from two reads of the file; a write in between would leave
    // a report whose hash is not that of the rows ingested.
    const input = join(dir, "input.csv");
    await writeFile(input, housingCsv(20));
    const outDir = join(dir, "out");
    const ingest = runIngest({
      input,
      outDir,
      onProgress: (message) => {
        if (message === "validating rows") appendFileSync(input, `${housingLine(3)}\n`);
      },
    });
    await expect(ingest).rejects.toThrow(
      /input\.csv: the file changed while it was being read; run the ingest again/,
    );
    expect(existsSync(outDir)).toBe(false);
  });

  it("empty file", async () => {
    expect(await expectIngestError("")).toMatch(
      /input\.csv: the file is empty; expected a CSV header/,
    );
  });

  it("header only", async () => {
    expect(await expectIngestError(`${HEADER}\n`)).toMatch(
      /input\.csv: has a header but no data rows/,
    );
  });

  it("missing column", async () => {
    const text = housingCsv(5).replace("median_income,", "income,");
    expect(await expectIngestError(text)).toMatch(
      /input\.csv: line 1 \(header\) is missing column median_income; found longitude,/,
    );
  });

  it("a non-numeric value in a numeric column names the row and column", async () => {
    const text = replaceLine(housingCsv(20), 4, withField(housingLine(2), "median_income", "abc"));
    const message = await expectIngestError(text);
    expect(message).toMatch(
      /input\.csv: 1 of 20 rows \(5\.00%\) failed validation, more than the allowed 1\.00%/,
    );
    expect(message).toMatch(/row 4, column median_income: "abc" is not a number/);
  });

  it("an unknown ocean_proximity value names the allowed values", async () => {
    const text = replaceLine(
      housingCsv(10),
      3,
      withField(housingLine(1), "ocean_proximity", "DESERT"),
    );
    expect(await expectIngestError(text)).toMatch(
      /row 3, column ocean_proximity: "DESERT" is not one of <1H OCEAN, INLAND, ISLAND, NEAR BAY, NEAR OCEAN/,
    );
  });

  it("an out-of-range value names the range", async () => {
    const text = replaceLine(housingCsv(10), 2, withField(housingLine(0), "longitude", "-130.00"));
    expect(await expectIngestError(text)).toMatch(
      /row 2, column longitude: "-130.00" is out of range; expected between -124.5 and -114 \(inside California\)/,
    );
  });

  it("wrong delimiter", async () => {
    const text = housingCsv(5).replaceAll(",", ";");
    expect(await expectIngestError(text)).toMatch(
      /input\.csv: line 1 is separated by ";", not by commas; save the file as comma-separated CSV/,
    );
  });

  it("truncated last line", async () => {
    const full = housingCsv(10).trimEnd();
    const text = full.slice(0, full.lastIndexOf(",") - 3);
    expect(await expectIngestError(text)).toMatch(
      /row 11, column [a-z_]+: missing value \(the last line may be truncated\)/,
    );
  });
});

describe.skipIf(!REAL_HOUSING_CSV)("ingest: the real dataset", () => {
  it("keeps all 20,640 rows and imputes the 207 missing total_bedrooms with their median", async () => {
    const report = await runIngest({ input: REAL_HOUSING_CSV as string, outDir: join(dir, "out") });
    expect(report.input.sha256).toBe(
      "8a3727f4cf54ac1a327f69b1d5b4db54c5834ea81c6e4efc0d163300022a685e",
    );
    expect(report.rows).toEqual({ read: 20640, kept: 20640, quarantined: 0 });
    expect(report.imputed.total_bedrooms.count).toBe(207);
    const bedrooms = pl
      .readCSV(REAL_HOUSING_CSV as string)
      .getColumn("total_bedrooms")
      .dropNulls();
    expect(report.imputed.total_bedrooms.value).toBe(bedrooms.median());
  });
});

if (!REAL_HOUSING_CSV)
  console.warn("SKIPPED: real-data ingest test: ../shared/data/housing.csv is absent");

import type { Command } from "../../lib/cli/command.ts";
import { DEFAULT_MAX_QUARANTINE_SHARE } from "../../lib/schema/rules.ts";
import { DEFAULT_DATASET_PATH } from "../0-fetch/fetch.ts";
import { type IngestReport, runIngest } from "./ingest.ts";

/** A short summary of an ingest report, for the console and job summaries. */
export function describeIngest(report: IngestReport): string {
  const imputed = Object.entries(report.imputed)
    .map(([column, info]) => `${info.count} ${column} imputed with ${info.value}`)
    .join(", ");
  return `${report.rows.read} rows read, ${report.rows.kept} kept, ${report.rows.quarantined} quarantined; ${imputed}`;
}

/** Parses a share given as 0.01 or 1%. */
export function parseShare(text: string, name: string): number {
  const value = text.endsWith("%") ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (!(value >= 0 && value <= 1) || text.trim() === "") {
    throw new Error(`${name}: "${text}" is not allowed; expected a share like 0.01 or 1%`);
  }
  return value;
}

export const ingestCommand: Command = {
  name: "ingest",
  summary: "Validate the raw housing CSV, quarantine bad rows, impute, write clean Parquet.",
  options: {
    input: { type: "string", value: "PATH", default: DEFAULT_DATASET_PATH, description: "raw CSV" },
    out: {
      type: "string",
      value: "DIR",
      default: ".pipeline/ingest",
      description: "output folder",
    },
    "max-quarantine": {
      type: "string",
      value: "SHARE",
      default: String(DEFAULT_MAX_QUARANTINE_SHARE),
      description: "fail when more rows than this share are quarantined (0.01 or 1%)",
    },
  },
  details:
    "Writes clean.parquet, quarantine.csv (line number and reason of every rejected row) and ingest.json.",
  async run(values) {
    const report = await runIngest({
      input: values.input as string,
      outDir: values.out as string,
      maxQuarantineShare: parseShare(values["max-quarantine"] as string, "--max-quarantine"),
    });
    console.log(`ingest: ${describeIngest(report)} -> ${values.out}`);
  },
};

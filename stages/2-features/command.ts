import type { Command } from "../../lib/cli/command.ts";
import { type FeaturesReport, runFeatures } from "./features.ts";

/** A short summary of a features report. */
export function describeFeatures(report: FeaturesReport): string {
  return `${report.rows} rows, ${report.features.length} features; split ${report.split.rows.train} train / ${report.split.rows.test} test`;
}

/** Parses a number option, naming it in the error. */
export function parseNumber(text: string, name: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) {
    throw new Error(`${name}: "${text}" is not a number`);
  }
  return value;
}

export const featuresCommand: Command = {
  name: "features",
  summary: "Derive model features and the seeded train/test split from the ingest output.",
  options: {
    input: {
      type: "string",
      value: "DIR",
      default: ".pipeline/ingest",
      description: "ingest output folder",
    },
    out: {
      type: "string",
      value: "DIR",
      default: ".pipeline/features",
      description: "output folder",
    },
    "test-fraction": {
      type: "string",
      value: "SHARE",
      default: "0.2",
      description: "share of rows held out",
    },
    seed: { type: "string", value: "N", default: "42", description: "seed of the split" },
  },
  details:
    "Writes features.parquet (with a split column), feature_schema.json, split.json and features.json.",
  async run(values) {
    const report = await runFeatures({
      ingestDir: values.input as string,
      outDir: values.out as string,
      testFraction: parseNumber(values["test-fraction"] as string, "--test-fraction"),
      seed: parseNumber(values.seed as string, "--seed"),
    });
    console.log(`features: ${describeFeatures(report)} -> ${values.out}`);
  },
};

// The data benchmark's own side: our ingest + features stages on one CSV, alone in this process
// so that its peak RSS is ours only. bench/data.ts runs it as a child; it also runs by itself:
// `npm run bench -- data_ours --input CSV --out DIR`.
import { join } from "node:path";
import { runIngest } from "../stages/1-ingest/ingest.ts";
import { runFeatures } from "../stages/2-features/features.ts";
import { type BenchHelp, BenchUsageError, benchArgs, wholeNumber } from "./support/args.ts";

export const help = {
  about:
    "Our side of the data benchmark alone: ingest + features of one CSV, timed (bench data runs it).",
  options: {
    input: { type: "string", value: "CSV", description: "the raw CSV (required)" },
    out: { type: "string", value: "DIR", description: "where ingest/ and features/ go (required)" },
    "test-fraction": { type: "string", default: "0.2", value: "F", description: "share held out" },
    seed: { type: "string", default: "42", value: "N", description: "seed of the split" },
  },
} satisfies BenchHelp;

/** Times ingest + features on --input, writing under --out; prints a table, then one JSON line. */
export async function main(args: string[]): Promise<void> {
  const values = benchArgs(help.options, args);
  if (!values.input || !values.out) {
    throw new BenchUsageError("--input CSV and --out DIR are required");
  }
  const ingestDir = join(values.out, "ingest");
  const start = performance.now();
  const ingest = await runIngest({ input: values.input, outDir: ingestDir });
  const ingested = performance.now();
  const features = await runFeatures({
    ingestDir,
    outDir: join(values.out, "features"),
    testFraction: Number(values["test-fraction"]),
    seed: wholeNumber("seed", values.seed, 0),
  });
  const done = performance.now();

  const result = {
    ingest_s: (ingested - start) / 1000,
    features_s: (done - ingested) / 1000,
    total_s: (done - start) / 1000,
    // resourceUsage().maxRSS is in KiB.
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
    read: ingest.rows.read,
    kept: ingest.rows.kept,
    quarantined: ingest.rows.quarantined,
    median: ingest.imputed.total_bedrooms?.value ?? null,
    train: features.split.rows.train,
    test: features.split.rows.test,
  };
  console.log(`ingest    ${result.ingest_s.toFixed(2)} s  (${ingest.rows.read} rows read)`);
  console.log(`features  ${result.features_s.toFixed(2)} s`);
  console.log(
    `total     ${result.total_s.toFixed(2)} s, peak RSS ${result.max_rss_mb.toFixed(0)} MB`,
  );
  console.log(JSON.stringify(result));
}

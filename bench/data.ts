// `npm run bench -- data [--rows N] [--repeat N] [--peers LIST] [--skip-peers]`: ingest + features on an
// upsampled housing CSV, ours (bench/data_ours.ts) against polars (Python), DuckDB, pandas with
// the pyarrow reader and Spark local (bench/data/<engine>_data.py), all on the same file doing
// the same work. Each engine runs in its own child process, one after the other, so that each
// has the machine and its own peak RSS. With --repeat N the engines take turns N times and each
// engine's median run is reported, so that a burst of other work on a shared machine hits every
// engine alike. Ratios are printed only when every engine read, kept, quarantined and split the
// same rows, in every round (bench/data/agreement.ts).
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { $ } from "zx";
import { buildFeatureSchema } from "../lib/schema/features.ts";
import {
  CATEGORY_RULE,
  DEFAULT_MAX_QUARANTINE_SHARE,
  NUMERIC_RULES,
  REQUIRED_COLUMNS,
} from "../lib/schema/rules.ts";
import { countDisagreements, type EngineCounts } from "./data/agreement.ts";
import { upsampleHousing } from "./data/upsample.ts";
import { type BenchHelp, benchArgs, wholeNumber } from "./support/args.ts";
import { runSide } from "./support/child.ts";
import { BENCH_DIR, benchDataset, REPO } from "./support/paths.ts";
import { chosenPeers, peerOptions } from "./support/peers.ts";
import { benchPython } from "./support/python.ts";
import { pickVersions, writeReport } from "./support/report.ts";

const DATA_DIR = join(BENCH_DIR, "data");
const TEST_FRACTION = 0.2;
const OURS = "ours (nodejs-polars)";
const PEERS = ["polars", "duckdb", "pandas", "spark"] as const;
type Peer = (typeof PEERS)[number];
const PEER_NAMES: Record<Peer, string> = {
  polars: "polars (Python)",
  duckdb: "DuckDB",
  pandas: "pandas (pyarrow reader)",
  spark: "Spark local",
};
/** Spark 4 runs on Java 17 or newer. */
const JAVA_MINIMUM = 17;

/** What each engine's child prints as its last line. */
interface EngineResult extends EngineCounts {
  /** The engine's own start-up before the work (Spark's JVM and session); 0 for the others. */
  startup_s?: number;
  ingest_s: number;
  features_s: number;
  /** ingest + features, timed inside the process: no interpreter start-up or imports. */
  total_s: number;
  max_rss_mb: number;
}

interface EngineRun {
  result: EngineResult;
  wall_s: number;
  peak_rss_mb: number;
}

export const help = {
  about:
    "Ingest + features of an upsampled housing CSV: ours against polars (Python), DuckDB, pandas and Spark local, doing the same work; the row counts must agree.",
  options: {
    rows: { type: "string", default: "2000000", value: "N", description: "rows of the CSV" },
    ...peerOptions(PEERS, "time our side alone"),
    seed: {
      type: "string",
      default: "42",
      value: "N",
      description: "seed of the upsampling and the split",
    },
    repeat: {
      type: "string",
      default: "1",
      value: "N",
      description: "rounds; each engine's median round is reported",
    },
    source: {
      type: "string",
      value: "PATH",
      description:
        "the housing CSV to upsample (default: the shared dataset, as in bench/README.md)",
    },
    keep: {
      type: "boolean",
      default: false,
      description: "keep every engine's outputs under .bench/data",
    },
  },
} satisfies BenchHelp;

/** Runs the data benchmark; the last printed line is its JSON result. */
export async function main(args: string[]): Promise<void> {
  const values = benchArgs(help.options, args);
  const rows = wholeNumber("rows", values.rows);
  const seed = wholeNumber("seed", values.seed, 0);
  const repeat = wholeNumber("repeat", values.repeat);
  const peers = chosenPeers(values, PEERS);
  const source = await benchDataset(values.source);
  if (peers.includes("spark")) await checkJava();
  const python = peers.length > 0 ? await benchPython() : null;

  console.error(`bench data: preparing ${rows} rows…`);
  const csv = await upsampleHousing({ source, rows, cacheDir: DATA_DIR, seed });
  console.error(
    `bench data: ${csv.cached ? "cached" : "wrote"} ${csv.path} (${(csv.bytes / 1e6).toFixed(0)} MB)`,
  );

  const work = join(DATA_DIR, `run-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const specPath = join(work, "spec.json");
    await writeFile(specPath, JSON.stringify(engineSpec(seed)));
    const commands: Record<string, (out: string) => string[]> = {
      ours: (out) => [
        process.execPath,
        join(REPO, "bench", "run.ts"),
        "data_ours",
        "--input",
        csv.path,
        "--out",
        out,
        "--test-fraction",
        String(TEST_FRACTION),
        "--seed",
        String(seed),
      ],
    };
    for (const peer of peers) {
      const interpreter = python?.python;
      if (!interpreter) break;
      const script = join(REPO, "bench", "data", `${peer}_data.py`);
      commands[peer] = (out) => [interpreter, script, specPath, csv.path, out];
    }
    const rounds: Record<string, EngineRun>[] = [];
    const problems: string[] = [];
    for (let round = 1; round <= repeat; round++) {
      const runsOfRound: Record<string, EngineRun> = {};
      for (const [name, command] of Object.entries(commands)) {
        const label = name === "ours" ? "ours" : PEER_NAMES[name as Peer];
        console.error(`bench data: ${repeat > 1 ? `round ${round}/${repeat}, ` : ""}${label}…`);
        const out = join(work, `${name}-${round}`);
        runsOfRound[name] = await engineRun(command(out));
        await rm(out, { recursive: true, force: true });
      }
      const disagreements = countDisagreements(
        Object.fromEntries(Object.entries(runsOfRound).map(([name, run]) => [name, run.result])),
        TEST_FRACTION,
      );
      problems.push(
        ...disagreements.map((problem) => (repeat > 1 ? `round ${round}: ${problem}` : problem)),
      );
      rounds.push(runsOfRound);
    }
    const runs = Object.fromEntries(
      Object.keys(commands).map((name) => [name, medianRun(rounds.map((round) => round[name]))]),
    );
    printTable(rows, runs);
    const result = {
      ...summary(rows, runs, peers.length > 0 ? problems.length === 0 : null),
      repeat,
    };
    await writeReport({
      bench: "data",
      setup: `ingest + features of ${rows.toLocaleString("en-US")} rows (${(csv.bytes / 1e6).toFixed(0)} MB CSV)${repeat > 1 ? `, median of ${repeat} rounds` : ""}`,
      panels: [
        {
          title: "ingest + features, s, in-process (lower is better)",
          bars: [
            { side: OURS, value: runs.ours.result.total_s },
            ...peers.map((peer) => ({ side: PEER_NAMES[peer], value: runs[peer].result.total_s })),
          ],
        },
        {
          title: "peak memory, MB (lower is better)",
          bars: [
            { side: OURS, value: runs.ours.peak_rss_mb },
            ...peers.map((peer) => ({ side: PEER_NAMES[peer], value: runs[peer].peak_rss_mb })),
          ],
        },
      ],
      result,
      versions: pickVersions(python?.versions, [
        "polars",
        "duckdb",
        "pandas",
        "pyarrow",
        "pyspark",
      ]),
      notes: runs.spark
        ? [
            `Spark's JVM and session start-up, ${runs.spark.result.startup_s?.toFixed(1)} s, not included`,
          ]
        : [],
    });
    for (const problem of problems) console.error(`bench data: ${problem}`);
    console.log(JSON.stringify(result));
    if (problems.length > 0) {
      console.error("bench data: the engines did not do the same work; no ratios");
      process.exitCode = 1;
    }
  } finally {
    if (!values.keep) await rm(work, { recursive: true, force: true });
  }
}

/** Fails early, before minutes of other work, when Spark cannot start. */
async function checkJava(): Promise<void> {
  const run = await $({ nothrow: true, quiet: true })`java -version`;
  // `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` (or "1.8.0_412") to stderr.
  const version = /version "(\d+)(?:\.(\d+))?/.exec(run.stderr);
  const major = version ? Number(version[1] === "1" ? version[2] : version[1]) : null;
  if (!run.ok || major === null || major < JAVA_MINIMUM) {
    throw new Error(
      `Spark needs Java ${JAVA_MINIMUM} or newer on PATH; found ${major === null ? "none" : `Java ${major}`}. ` +
        "Install one (Debian: apt-get install openjdk-17-jre-headless), or leave spark out with --peers polars,duckdb,pandas",
    );
  }
}

/** The rules and schema, from the TypeScript sources, so every engine checks exactly the same things. */
function engineSpec(seed: number) {
  return {
    requiredColumns: REQUIRED_COLUMNS,
    numericRules: NUMERIC_RULES,
    category: CATEGORY_RULE,
    maxQuarantineShare: DEFAULT_MAX_QUARANTINE_SHARE,
    schema: buildFeatureSchema({}),
    testFraction: TEST_FRACTION,
    seed,
  };
}

/** The run with the median time (the lower middle one of an even count): a run that happened. */
function medianRun(runs: EngineRun[]): EngineRun {
  const sorted = [...runs].sort((a, b) => a.result.total_s - b.result.total_s);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

async function engineRun(command: string[]): Promise<EngineRun> {
  const run = await runSide<EngineResult>(command);
  return {
    result: run.result,
    wall_s: run.wall_s,
    // GNU time sees the child only; the child's own figure adds a helper process (Spark's JVM).
    peak_rss_mb: Math.max(run.peak_rss_mb ?? 0, run.result.max_rss_mb),
  };
}

function printTable(rows: number, runs: Record<string, EngineRun>): void {
  const header = [
    "engine",
    "start-up s",
    "ingest s",
    "features s",
    "total s",
    "process s",
    "peak RSS MB",
    "read",
    "kept",
    "quarantined",
    "median",
    "train",
    "test",
  ];
  const table = Object.entries(runs).map(([name, run]) => [
    name,
    (run.result.startup_s ?? 0).toFixed(2),
    run.result.ingest_s.toFixed(2),
    run.result.features_s.toFixed(2),
    run.result.total_s.toFixed(2),
    run.wall_s.toFixed(2),
    run.peak_rss_mb.toFixed(0),
    String(run.result.read),
    String(run.result.kept),
    String(run.result.quarantined),
    String(run.result.median),
    String(run.result.train),
    String(run.result.test),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...table.map((row) => row[column].length)),
  );
  console.log(
    `\ndata benchmark: ${rows} rows (total s = ingest + features inside the process; process s = the whole child, start-up included)`,
  );
  for (const row of [header, ...table]) {
    console.log(row.map((cell, column) => cell.padStart(widths[column])).join("  "));
  }
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

function summary(rows: number, runs: Record<string, EngineRun>, countsAgree: boolean | null) {
  const ours = runs.ours.result.total_s;
  const seconds = (name: string) => (runs[name] ? round(runs[name].result.total_s, 3) : null);
  // A ratio only where the counts agree: otherwise the engines did different work.
  const ratio = (name: string) =>
    runs[name] && countsAgree ? round(runs[name].result.total_s / ours, 2) : null;
  return {
    rows,
    ours_s: round(ours, 3),
    polars_s: seconds("polars"),
    duckdb_s: seconds("duckdb"),
    pandas_s: seconds("pandas"),
    spark_s: seconds("spark"),
    spark_startup_s: runs.spark ? round(runs.spark.result.startup_s ?? 0, 3) : null,
    vs_polars: ratio("polars"),
    vs_duckdb: ratio("duckdb"),
    vs_pandas: ratio("pandas"),
    vs_spark: ratio("spark"),
    counts_agree: countsAgree,
    kept: runs.ours.result.kept,
    quarantined: runs.ours.result.quarantined,
    process_s: Object.fromEntries(
      Object.entries(runs).map(([name, run]) => [name, round(run.wall_s, 2)]),
    ),
    peak_rss_mb: Object.fromEntries(
      Object.entries(runs).map(([name, run]) => [name, round(run.peak_rss_mb, 0)]),
    ),
  };
}

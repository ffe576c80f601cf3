// `npm run bench -- data [--rows N] [--skip-pandas]`: ingest + features on an upsampled housing
// CSV, ours (bench/data_ours.ts) against pandas (bench/pandas_data.py), each side in its own
// child process so that each peak RSS is measured alone.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildFeatureSchema } from "../lib/schema/features.ts";
import {
  CATEGORY_RULE,
  DEFAULT_MAX_QUARANTINE_SHARE,
  NUMERIC_RULES,
  REQUIRED_COLUMNS,
} from "../lib/schema/rules.ts";
import { upsampleHousing } from "./data/upsample.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const BENCH_DIR = join(REPO, ".bench", "data");
const DEFAULT_SOURCE = fileURLToPath(new URL("../../shared/data/housing.csv", import.meta.url));
const TIME = "/usr/bin/time";
const TEST_FRACTION = 0.2;

/** What each side's child prints as its last line. */
interface SideResult {
  ingest_s: number;
  features_s: number;
  total_s: number;
  max_rss_mb: number;
  kept: number;
  quarantined: number;
  train: number;
  test: number;
}

interface SideRun {
  result: SideResult;
  /** Wall time of the whole child process, start-up and imports included. */
  wall_s: number;
  /** Peak RSS as /usr/bin/time saw it, else as the child reported it. */
  peak_rss_mb: number;
}

/** Runs the data benchmark; the last printed line is its JSON result. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rows: { type: "string", default: "2000000" },
      "skip-pandas": { type: "boolean", default: false },
      seed: { type: "string", default: "42" },
      source: { type: "string", default: DEFAULT_SOURCE },
      python: { type: "string" },
      keep: { type: "boolean", default: false },
    },
  });
  const rows = Number(values.rows.replaceAll("_", ""));
  if (!Number.isSafeInteger(rows) || rows < 1) {
    throw new Error(`--rows: "${values.rows}" is not a positive whole number`);
  }
  const seed = Number(values.seed);
  if (!existsSync(values.source)) {
    throw new Error(
      `${values.source}: the housing CSV is missing; run \`npm run data:fetch -- --out PATH\` and pass --source PATH`,
    );
  }
  const python = values["skip-pandas"] ? null : findPython(values.python);

  console.error(`bench data: preparing ${rows} rows…`);
  const csv = await upsampleHousing({ source: values.source, rows, cacheDir: BENCH_DIR, seed });
  console.error(
    `bench data: ${csv.cached ? "cached" : "wrote"} ${csv.path} (${(csv.bytes / 1e6).toFixed(0)} MB)`,
  );

  const work = join(BENCH_DIR, `run-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    // The two sides run one after the other: on a small machine they would slow each other.
    console.error("bench data: running ours…");
    const ours = await runSide([
      process.execPath,
      join(REPO, "bench", "run.ts"),
      "data_ours",
      "--input",
      csv.path,
      "--out",
      join(work, "ours"),
      "--test-fraction",
      String(TEST_FRACTION),
      "--seed",
      String(seed),
    ]);
    let pandas: SideRun | null = null;
    if (python) {
      const specPath = join(work, "pandas_spec.json");
      await writeFile(specPath, JSON.stringify(pandasSpec(seed)));
      console.error(`bench data: running pandas (${python})…`);
      pandas = await runSide([
        python,
        join(REPO, "bench", "pandas_data.py"),
        specPath,
        csv.path,
        join(work, "pandas"),
      ]);
    }
    report(rows, ours, pandas);
  } finally {
    if (!values.keep) await rm(work, { recursive: true, force: true });
  }
}

/** The rules and schema, from the TypeScript sources, so pandas checks exactly the same things. */
function pandasSpec(seed: number) {
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

/** The first Python that imports pandas and pyarrow: --python, Debian's, then the PATH's. */
function findPython(chosen: string | undefined): string {
  const candidates = chosen ? [chosen] : ["/usr/bin/python3", "python3"];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ["-c", "import pandas, pyarrow"], { stdio: "ignore" });
    if (probe.status === 0) return candidate;
  }
  throw new Error(
    [
      `no Python with pandas and pyarrow found (tried ${candidates.join(", ")}).`,
      "Install them with one of:",
      "  python3 -m pip install pandas pyarrow",
      "  apt-get install -y python3-pandas   (Debian; pyarrow then still comes from pip)",
      "or pass --python PATH, or --skip-pandas to time our side only.",
    ].join("\n"),
  );
}

/** Runs one side's child, under /usr/bin/time when present, and parses its last JSON line. */
async function runSide(command: string[]): Promise<SideRun> {
  const rssFile = join(BENCH_DIR, `rss-${process.pid}.txt`);
  const timed = existsSync(TIME);
  const [program, ...args] = timed ? [TIME, "-f", "%M", "-o", rssFile, ...command] : command;
  const started = performance.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(program, args, { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      out += text;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${command.join(" ")} exited with ${code}:\n${out.trim()}`)),
    );
  });
  const wall_s = (performance.now() - started) / 1000;
  const lastLine = stdout.trim().split("\n").at(-1) ?? "";
  let result: SideResult;
  try {
    result = JSON.parse(lastLine) as SideResult;
  } catch {
    throw new Error(`${command.join(" ")}: last line is not JSON: "${lastLine}"`);
  }
  let peak_rss_mb = result.max_rss_mb;
  if (timed) {
    // GNU time's %M is the peak RSS in KiB.
    peak_rss_mb = Number((await readFile(rssFile, "utf8")).trim().split("\n").at(-1)) / 1024;
    await rm(rssFile, { force: true });
  }
  return { result, wall_s, peak_rss_mb };
}

function report(rows: number, ours: SideRun, pandas: SideRun | null) {
  const sides: [string, SideRun | null][] = [
    ["ours", ours],
    ["pandas", pandas],
  ];
  const header = [
    "side",
    "ingest s",
    "features s",
    "total s",
    "process s",
    "peak RSS MB",
    "kept",
    "quarantined",
    "train",
    "test",
  ];
  const table = sides
    .filter((entry): entry is [string, SideRun] => entry[1] !== null)
    .map(([name, run]) => [
      name,
      run.result.ingest_s.toFixed(2),
      run.result.features_s.toFixed(2),
      run.result.total_s.toFixed(2),
      run.wall_s.toFixed(2),
      run.peak_rss_mb.toFixed(0),
      String(run.result.kept),
      String(run.result.quarantined),
      String(run.result.train),
      String(run.result.test),
    ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...table.map((row) => row[column].length)),
  );
  console.log(`\ndata benchmark: ${rows} rows (total s = ingest + features inside the process)`);
  for (const row of [header, ...table]) {
    console.log(row.map((cell, column) => cell.padStart(widths[column])).join("  "));
  }
  if (
    pandas &&
    (pandas.result.kept !== ours.result.kept ||
      pandas.result.quarantined !== ours.result.quarantined)
  ) {
    console.log("WARNING: the two sides kept different rows; the comparison is not like for like");
  }
  const round = (value: number, digits: number) => Number(value.toFixed(digits));
  console.log(
    JSON.stringify({
      rows,
      ours_s: round(ours.result.total_s, 3),
      pandas_s: pandas ? round(pandas.result.total_s, 3) : null,
      speedup: pandas ? round(pandas.result.total_s / ours.result.total_s, 2) : null,
      ours_peak_rss_mb: round(ours.peak_rss_mb, 0),
      pandas_peak_rss_mb: pandas ? round(pandas.peak_rss_mb, 0) : null,
    }),
  );
}

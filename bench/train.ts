// `npm run bench -- train [--trees N] [--repeat N] [--skip-sklearn] [--skip-ml] [--ml-limit-s S]`:
// on the same train/test split of the real housing data, fits (a) our forest on all cores,
// (b) sklearn's RandomForestRegressor with n_jobs=1 and n_jobs=-1 (bench/sklearn_train.py),
// (c) ml-random-forest on growing random subsamples until one does not finish within the time
// limit. Every side runs in its own child process, one after the other, so each has the machine
// and its own peak RSS.
// --repeat N reports the best of N fits for ours and for sklearn alike (default 1).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadSplit } from "../lib/bundle/dataset.ts";
import { runIngest } from "../stages/1-ingest/ingest.ts";
import { runFeatures } from "../stages/2-features/features.ts";
import { writeSplitFiles } from "./train/split-files.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const BENCH_DIR = join(REPO, ".bench", "train");
const DEFAULT_SOURCE = fileURLToPath(new URL("../../shared/data/housing.csv", import.meta.url));
const ML_SIZES = [250, 500, 1000, 2000, 4000, 8000, 16000];

interface OursResult {
  fit_s: number;
  rmse: number;
  oob_rmse: number;
  model_bytes: number;
  nodes: number;
  predict_one_us: number;
  workers: number;
  peak_rss_mb: number;
}

interface SklearnResult {
  sklearn_version: string;
  fits: { n_jobs: number; fit_s: number; rmse: number }[];
  pickle_mb: number;
  predict_one_us: number;
  nodes: number;
  peak_rss_mb: number;
}

interface MlResult {
  rows: number;
  fit_s: number;
  rmse: number;
}

/** Runs the train benchmark; the last printed line is its JSON result. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      trees: { type: "string", default: "100" },
      seed: { type: "string", default: "42" },
      source: { type: "string", default: DEFAULT_SOURCE },
      python: { type: "string" },
      workers: { type: "string" },
      "skip-sklearn": { type: "boolean", default: false },
      "skip-ml": { type: "boolean", default: false },
      "ml-limit-s": { type: "string", default: "60" },
      repeat: { type: "string", default: "1" },
      keep: { type: "boolean", default: false },
    },
  });
  const trees = positiveInteger("--trees", values.trees);
  const repeat = positiveInteger("--repeat", values.repeat);
  const seed = Number(values.seed);
  const mlLimitSeconds = Number(values["ml-limit-s"]);
  if (!existsSync(values.source)) {
    throw new Error(
      `${values.source}: the housing CSV is missing; run \`npm run data:fetch -- --out PATH\` and pass --source PATH`,
    );
  }
  const python = values["skip-sklearn"] ? null : findSklearnPython(values.python);

  const work = join(BENCH_DIR, `run-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    console.error("bench train: ingest + features on the real data…");
    await runIngest({ input: values.source, outDir: join(work, "ingest") });
    await runFeatures({ ingestDir: join(work, "ingest"), outDir: join(work, "features") });
    const { train, test } = await loadSplit(join(work, "features"));
    const splitDir = join(work, "split");
    await mkdir(splitDir);
    await writeSplitFiles(splitDir, train, test);
    console.error(
      `bench train: ${train.nRows} train rows, ${test.nRows} test rows, ${train.nFeatures} features`,
    );

    console.error(`bench train: our forest, ${trees} trees…`);
    const oursArgs = [
      join(REPO, "bench", "train", "forest-fit.ts"),
      splitDir,
      String(trees),
      String(seed),
      String(repeat),
    ];
    if (values.workers) oursArgs.push(String(positiveInteger("--workers", values.workers)));
    const ours = parseLastLine<OursResult>((await runChild(process.execPath, oursArgs)).stdout);

    let sklearn: SklearnResult | null = null;
    if (python) {
      console.error(`bench train: sklearn (${python}), n_jobs=1 then n_jobs=-1…`);
      const script = join(REPO, "bench", "sklearn_train.py");
      const run = await runChild(python, [
        script,
        splitDir,
        "--trees",
        String(trees),
        "--seed",
        String(seed),
        "--repeat",
        String(repeat),
      ]);
      sklearn = parseLastLine<SklearnResult>(run.stdout);
    }

    let ml: MlResult | null = null;
    if (!values["skip-ml"]) {
      for (const size of ML_SIZES.filter((rows) => rows <= train.nRows)) {
        console.error(`bench train: ml-random-forest on ${size} rows (limit ${mlLimitSeconds} s)…`);
        const script = join(REPO, "bench", "train", "ml-random-forest-fit.ts");
        // A crash (e.g. out of memory on a larger subsample) ends the search like a timeout.
        const run = await runChild(
          process.execPath,
          [script, splitDir, String(size), String(trees), String(seed)],
          mlLimitSeconds * 1000,
        ).catch((error: Error) => {
          console.error(`bench train: ml-random-forest failed on ${size} rows: ${error.message}`);
          return null;
        });
        if (!run) break;
        if (run.timedOut) {
          console.error(
            `bench train: ml-random-forest did not finish ${size} rows within ${mlLimitSeconds} s`,
          );
          break;
        }
        ml = parseLastLine<MlResult>(run.stdout);
      }
    }
    report(trees, train.nRows, ours, sklearn, ml);
  } finally {
    if (!values.keep) await rm(work, { recursive: true, force: true });
  }
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${flag}: "${text}" is not a positive whole number`);
  }
  return value;
}

/** The first Python that imports scikit-learn: --python, Debian's, then the PATH's. */
function findSklearnPython(chosen: string | undefined): string {
  const candidates = chosen ? [chosen] : ["/usr/bin/python3", "python3"];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ["-c", "import sklearn, numpy"], { stdio: "ignore" });
    if (probe.status === 0) return candidate;
  }
  throw new Error(
    [
      `no Python with scikit-learn found (tried ${candidates.join(", ")}).`,
      "Install it with one of:",
      "  apt-get update && apt-get install -y python3-sklearn   (Debian; then /usr/bin/python3 has it)",
      "  python3 -m pip install scikit-learn",
      "or pass --python PATH, or --skip-sklearn to time the other sides only.",
    ].join("\n"),
  );
}

/** Runs a child with stderr passed through; kills it (and reports timedOut) after limitMs. */
function runChild(
  program: string,
  args: string[],
  limitMs?: number,
): Promise<{ stdout: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    let timedOut = false;
    const timer =
      limitMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, limitMs);
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) resolve({ stdout, timedOut });
      else if (code === 0) resolve({ stdout, timedOut });
      else reject(new Error(`${program} ${args.join(" ")} exited with ${code}:\n${stdout.trim()}`));
    });
  });
}

function parseLastLine<T>(stdout: string): T {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`bench train: a child's last line is not JSON: "${line}"`);
  }
}

function report(
  trees: number,
  rows: number,
  ours: OursResult,
  sklearn: SklearnResult | null,
  ml: MlResult | null,
): void {
  const oneCore = sklearn?.fits.find((fit) => fit.n_jobs === 1) ?? null;
  const allCores = sklearn?.fits.find((fit) => fit.n_jobs === -1) ?? null;
  const table: string[][] = [
    ["side", "rows", "fit s", "test RMSE", "model MB", "predict 1 row µs", "peak RSS MB"],
    [
      `ours (${ours.workers} workers)`,
      String(rows),
      ours.fit_s.toFixed(2),
      ours.rmse.toFixed(0),
      (ours.model_bytes / 1e6).toFixed(1),
      ours.predict_one_us.toFixed(1),
      ours.peak_rss_mb.toFixed(0),
    ],
  ];
  if (sklearn) {
    for (const fit of sklearn.fits) {
      table.push([
        `sklearn ${sklearn.sklearn_version} n_jobs=${fit.n_jobs}`,
        String(rows),
        fit.fit_s.toFixed(2),
        fit.rmse.toFixed(0),
        sklearn.pickle_mb.toFixed(1),
        sklearn.predict_one_us.toFixed(0),
        sklearn.peak_rss_mb.toFixed(0),
      ]);
    }
  }
  if (ml) {
    table.push([
      "ml-random-forest",
      String(ml.rows),
      ml.fit_s.toFixed(2),
      ml.rmse.toFixed(0),
      "-",
      "-",
      "-",
    ]);
  }
  const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)));
  console.log(`\ntrain benchmark: ${trees} fully grown trees, max_features=1.0, bootstrap`);
  for (const row of table)
    console.log(row.map((cell, column) => cell.padStart(widths[column])).join("  "));
  console.log(`ours: out-of-bag RMSE ${ours.oob_rmse.toFixed(0)}, ${ours.nodes} nodes`);

  const round = (value: number, digits: number) => Number(value.toFixed(digits));
  console.log(
    JSON.stringify({
      trees,
      rows,
      ours_fit_s: round(ours.fit_s, 3),
      sklearn_fit_s: oneCore ? round(oneCore.fit_s, 3) : null,
      sklearn_fit_s_all_cores: allCores ? round(allCores.fit_s, 3) : null,
      fit_speedup: oneCore ? round(oneCore.fit_s / ours.fit_s, 2) : null,
      ours_rmse: round(ours.rmse, 1),
      sklearn_rmse: oneCore ? round(oneCore.rmse, 1) : null,
      rmse_ratio: oneCore ? round(ours.rmse / oneCore.rmse, 4) : null,
      model_mb: round(ours.model_bytes / 1e6, 2),
      sklearn_pickle_mb: sklearn ? round(sklearn.pickle_mb, 2) : null,
      predict_one_us: round(ours.predict_one_us, 2),
      peak_rss_mb: round(ours.peak_rss_mb, 0),
      ml_random_forest_rows: ml?.rows ?? null,
      ml_random_forest_fit_s: ml ? round(ml.fit_s, 2) : null,
      ml_random_forest_rmse: ml ? round(ml.rmse, 1) : null,
    }),
  );
}

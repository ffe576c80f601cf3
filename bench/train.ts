// `npm run bench -- train [--trees N] [--repeat N] [--peers LIST] [--skip-peers]`: on the same
// train/test split of the real housing data, fits our forest against scikit-learn's
// RandomForestRegressor, XGBoost's and LightGBM's random-forest modes (bench/train/peer_fit.py),
// all fully grown with every feature tried at each split, and ml-random-forest on growing
// subsamples until one does not finish within a time limit.
//
// Equal cores: the headline ratio is scikit-learn with n_jobs=-1 against ours with a worker per
// core, on the same cores; the one-core ratio pins scikit-learn's n_jobs=1 and our one worker to
// CPU 0 (taskset). One-row predict is the same on both sides: each side's public per-row call,
// on the same test rows in the same order, with the same warm-up and call count.
// Every fit runs in its own child process, one after the other, so each has the machine.

import { mkdir, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { loadSplit } from "../lib/bundle/dataset.ts";
import { runIngest } from "../stages/1-ingest/ingest.ts";
import { runFeatures } from "../stages/2-features/features.ts";
import { type BenchHelp, benchArgs, wholeNumber } from "./support/args.ts";
import { runJsonChild, runSide } from "./support/child.ts";
import { BENCH_DIR, benchDataset, REPO } from "./support/paths.ts";
import { chosenPeers, peerOptions } from "./support/peers.ts";
import { benchPython } from "./support/python.ts";
import { pickVersions, writeReport } from "./support/report.ts";
import { writeSplitFiles } from "./train/split-files.ts";

const TRAIN_DIR = join(BENCH_DIR, "train");
const ML_SIZES = [250, 500, 1000, 2000, 4000, 8000, 16000];
const PEERS = ["sklearn", "xgboost-rf", "lightgbm-rf", "ml-random-forest"] as const;
/**
 * OpenMP threads (XGBoost, LightGBM) sleep at barriers instead of spinning. Spinning is their
 * default and wins on an idle machine, but on a shared one (these are) a spinning thread waits
 * for a descheduled one: LightGBM's fit ran 40x slower with its default here, 1.2x with this.
 */
const PEER_ENV = { OMP_WAIT_POLICY: "PASSIVE" };

interface OursResult {
  fit_s: number;
  rmse: number;
  oob_rmse: number;
  model_bytes: number;
  nodes: number;
  predict_one_us: number | null;
  peak_rss_mb: number;
}

interface PeerResult {
  engine: string;
  version: string;
  jobs: number;
  fit_s: number;
  rmse: number;
  pickle_mb?: number;
  nodes?: number;
  predict_one_us?: number;
  peak_rss_mb: number;
}

interface MlResult {
  rows: number;
  fit_s: number;
  rmse: number;
}

export const help = {
  about:
    "Our forest against scikit-learn on the same cores (all, then one), XGBoost's and LightGBM's random-forest modes and ml-random-forest: fit time, hold-out RMSE, one-row predict, model size.",
  options: {
    trees: { type: "string", default: "100", value: "N", description: "trees of every forest" },
    seed: {
      type: "string",
      default: "42",
      value: "N",
      description: "seed of the split and the fits",
    },
    source: {
      type: "string",
      value: "PATH",
      description: "the housing CSV (default: the shared dataset)",
    },
    ...peerOptions(PEERS, "time our forest alone"),
    "ml-limit-s": {
      type: "string",
      default: "60",
      value: "S",
      description: "ml-random-forest's time limit per subsample",
    },
    repeat: {
      type: "string",
      default: "1",
      value: "N",
      description: "fits per side; the best is reported",
    },
    "predict-calls": {
      type: "string",
      default: "5000",
      value: "N",
      description: "one-row predict calls timed",
    },
    "predict-warmup": {
      type: "string",
      default: "1000",
      value: "N",
      description: "one-row predict calls before timing",
    },
    keep: {
      type: "boolean",
      default: false,
      description: "keep the split and models under .bench/train",
    },
  },
} satisfies BenchHelp;

/** Runs the train benchmark; the last printed line is its JSON result. */
export async function main(args: string[]): Promise<void> {
  const values = benchArgs(help.options, args);
  const trees = wholeNumber("trees", values.trees);
  const repeat = wholeNumber("repeat", values.repeat);
  const predictCalls = wholeNumber("predict-calls", values["predict-calls"]);
  const predictWarmup = wholeNumber("predict-warmup", values["predict-warmup"]);
  const mlLimitSeconds = wholeNumber("ml-limit-s", values["ml-limit-s"]);
  const seed = wholeNumber("seed", values.seed, 0);
  const peers = chosenPeers(values, PEERS);
  const source = await benchDataset(values.source);
  const python = peers.some((peer) => peer !== "ml-random-forest") ? await benchPython() : null;
  const cores = availableParallelism();

  const work = join(TRAIN_DIR, `run-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    console.error("bench train: ingest + features on the real data…");
    await runIngest({ input: source, outDir: join(work, "ingest") });
    await runFeatures({ ingestDir: join(work, "ingest"), outDir: join(work, "features") });
    const { train, test } = await loadSplit(join(work, "features"));
    const splitDir = join(work, "split");
    await mkdir(splitDir);
    await writeSplitFiles(splitDir, train, test);
    console.error(
      `bench train: ${train.nRows} train rows, ${test.nRows} test rows, ${train.nFeatures} features, ${cores} cores`,
    );
    const common = ["--trees", String(trees), "--seed", String(seed), "--repeat", String(repeat)];
    const predict = [
      "--predict-calls",
      String(predictCalls),
      "--predict-warmup",
      String(predictWarmup),
    ];

    const forestFit = join(REPO, "bench", "train", "forest-fit.ts");
    console.error(`bench train: ours, ${trees} trees, ${cores} workers…`);
    const ours = (
      await runSide<OursResult>([
        process.execPath,
        forestFit,
        splitDir,
        ...common,
        "--workers",
        String(cores),
        ...predict,
      ])
    ).result;
    console.error("bench train: ours, 1 worker on CPU 0…");
    const oursOneCore = (
      await runSide<OursResult>(
        [process.execPath, forestFit, splitDir, ...common, "--workers", "1"],
        { oneCore: true },
      )
    ).result;

    const fits: Partial<Record<"sklearn" | "sklearnOneCore" | "xgboost" | "lightgbm", PeerResult>> =
      {};
    if (python) {
      const peerFit = (engine: string, extra: string[], oneCore = false) =>
        runSide<PeerResult>(
          [
            python.python,
            join(REPO, "bench", "train", "peer_fit.py"),
            splitDir,
            "--engine",
            engine,
            ...common,
            ...extra,
          ],
          { oneCore, env: PEER_ENV },
        ).then((run) => run.result);
      if (peers.includes("sklearn")) {
        console.error("bench train: scikit-learn, n_jobs=-1…");
        fits.sklearn = await peerFit("sklearn", ["--jobs", "-1", ...predict]);
        console.error("bench train: scikit-learn, n_jobs=1 on CPU 0…");
        fits.sklearnOneCore = await peerFit("sklearn", ["--jobs", "1"], true);
      }
      if (peers.includes("xgboost-rf")) {
        console.error("bench train: XGBoost random forest (XGBRFRegressor), n_jobs=-1…");
        fits.xgboost = await peerFit("xgboost-rf", ["--jobs", "-1"]);
      }
      if (peers.includes("lightgbm-rf")) {
        console.error('bench train: LightGBM random forest (boosting_type="rf"), n_jobs=-1…');
        fits.lightgbm = await peerFit("lightgbm-rf", ["--jobs", "-1"]);
      }
    }

    let ml: MlResult | null = null;
    if (peers.includes("ml-random-forest")) {
      for (const size of ML_SIZES.filter((rows) => rows <= train.nRows)) {
        console.error(`bench train: ml-random-forest on ${size} rows (limit ${mlLimitSeconds} s)…`);
        const script = join(REPO, "bench", "train", "ml-random-forest-fit.ts");
        // A crash (e.g. out of memory on a larger subsample) ends the search like a timeout.
        const run = await runJsonChild<MlResult>(
          [process.execPath, script, splitDir, String(size), String(trees), String(seed)],
          { limitMs: mlLimitSeconds * 1000 },
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
        ml = run.result;
      }
    }

    const result = summary({
      trees,
      rows: train.nRows,
      cores,
      predictCalls,
      ours,
      oursOneCore,
      fits,
      ml,
    });
    printTable(result, ours, oursOneCore, fits, ml, cores);
    await writeReport({
      bench: "train",
      setup: `${trees} fully grown trees, ${train.nRows.toLocaleString("en-US")} training rows, ${train.nFeatures} features`,
      panels: [
        {
          title: `fit on all ${cores} cores, s (lower is better)`,
          bars: [
            { side: `ours (${cores} workers)`, value: ours.fit_s },
            { side: "scikit-learn (n_jobs=-1)", value: fits.sklearn?.fit_s ?? null },
            { side: "XGBoost RF (n_jobs=-1)", value: fits.xgboost?.fit_s ?? null },
            { side: "LightGBM RF (n_jobs=-1)", value: fits.lightgbm?.fit_s ?? null },
          ],
        },
        {
          title: "fit on one core (CPU 0), s (lower is better)",
          bars: [
            { side: "ours (1 worker)", value: oursOneCore.fit_s },
            { side: "scikit-learn (n_jobs=1)", value: fits.sklearnOneCore?.fit_s ?? null },
          ],
        },
        {
          title: `one-row predict, µs per call, ${predictCalls} calls (lower is better)`,
          bars: [
            { side: "ours (Forest.predictOne)", value: ours.predict_one_us },
            { side: "scikit-learn (predict, 1 row)", value: fits.sklearn?.predict_one_us ?? null },
          ],
        },
        {
          title: "hold-out RMSE, $ (lower is better)",
          bars: [
            { side: "ours", value: ours.rmse },
            { side: "scikit-learn", value: fits.sklearn?.rmse ?? null },
            { side: "XGBoost RF", value: fits.xgboost?.rmse ?? null },
            { side: "LightGBM RF", value: fits.lightgbm?.rmse ?? null },
          ],
        },
      ],
      result,
      versions: pickVersions(python?.versions, [
        "scikit-learn",
        "xgboost-cpu",
        "lightgbm",
        "numpy",
      ]),
      notes: [
        "XGBoost and LightGBM subsample 63.2% of rows per tree (no bootstrap) and run with OMP_WAIT_POLICY=PASSIVE",
      ],
    });
    console.log(JSON.stringify(result));
  } finally {
    if (!values.keep) await rm(work, { recursive: true, force: true });
  }
}

const round = (value: number | null | undefined, digits: number) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? null
    : Number(value.toFixed(digits));

function summary(run: {
  trees: number;
  rows: number;
  cores: number;
  predictCalls: number;
  ours: OursResult;
  oursOneCore: OursResult;
  fits: Partial<Record<"sklearn" | "sklearnOneCore" | "xgboost" | "lightgbm", PeerResult>>;
  ml: MlResult | null;
}) {
  const { ours, oursOneCore, fits, ml } = run;
  const ratio = (peer: PeerResult | undefined, side: OursResult) =>
    peer ? round(peer.fit_s / side.fit_s, 2) : null;
  return {
    trees: run.trees,
    rows: run.rows,
    cores: run.cores,
    fit_speedup_equal_cores: ratio(fits.sklearn, ours),
    fit_speedup_one_core: ratio(fits.sklearnOneCore, oursOneCore),
    ours_fit_s: round(ours.fit_s, 3),
    ours_fit_s_one_core: round(oursOneCore.fit_s, 3),
    sklearn_fit_s_all_cores: round(fits.sklearn?.fit_s, 3),
    sklearn_fit_s_one_core: round(fits.sklearnOneCore?.fit_s, 3),
    xgboost_rf_fit_s: round(fits.xgboost?.fit_s, 2),
    lightgbm_rf_fit_s: round(fits.lightgbm?.fit_s, 2),
    vs_xgboost_rf: ratio(fits.xgboost, ours),
    vs_lightgbm_rf: ratio(fits.lightgbm, ours),
    ours_rmse: round(ours.rmse, 1),
    sklearn_rmse: round(fits.sklearn?.rmse, 1),
    xgboost_rf_rmse: round(fits.xgboost?.rmse, 1),
    lightgbm_rf_rmse: round(fits.lightgbm?.rmse, 1),
    rmse_ratio: fits.sklearn ? round(ours.rmse / fits.sklearn.rmse, 4) : null,
    predict_one_us: round(ours.predict_one_us, 2),
    sklearn_predict_one_us: round(fits.sklearn?.predict_one_us, 1),
    predict_calls: run.predictCalls,
    model_mb: round(ours.model_bytes / 1e6, 2),
    sklearn_pickle_mb: round(fits.sklearn?.pickle_mb, 2),
    peak_rss_mb: round(ours.peak_rss_mb, 0),
    ml_random_forest_rows: ml?.rows ?? null,
    ml_random_forest_fit_s: round(ml?.fit_s, 2),
    ml_random_forest_rmse: round(ml?.rmse, 1),
  };
}

function printTable(
  result: ReturnType<typeof summary>,
  ours: OursResult,
  oursOneCore: OursResult,
  fits: Partial<Record<"sklearn" | "sklearnOneCore" | "xgboost" | "lightgbm", PeerResult>>,
  ml: MlResult | null,
  cores: number,
): void {
  const fixed = (value: number | null | undefined, digits: number) =>
    value === null || value === undefined ? "-" : value.toFixed(digits);
  const table: string[][] = [
    ["side", "rows", "fit s", "test RMSE", "model MB", "predict 1 row µs", "peak RSS MB"],
    [
      `ours, ${cores} workers`,
      String(result.rows),
      fixed(ours.fit_s, 2),
      fixed(ours.rmse, 0),
      fixed(ours.model_bytes / 1e6, 1),
      fixed(ours.predict_one_us, 1),
      fixed(ours.peak_rss_mb, 0),
    ],
    [
      "ours, 1 worker on CPU 0",
      String(result.rows),
      fixed(oursOneCore.fit_s, 2),
      fixed(oursOneCore.rmse, 0),
      "",
      "",
      fixed(oursOneCore.peak_rss_mb, 0),
    ],
  ];
  const peerRows: [string, PeerResult | undefined][] = [
    [`sklearn ${fits.sklearn?.version} n_jobs=-1`, fits.sklearn],
    [`sklearn ${fits.sklearnOneCore?.version} n_jobs=1 on CPU 0`, fits.sklearnOneCore],
    [`XGBoost RF ${fits.xgboost?.version} n_jobs=-1`, fits.xgboost],
    [`LightGBM RF ${fits.lightgbm?.version} n_jobs=-1`, fits.lightgbm],
  ];
  for (const [name, fit] of peerRows) {
    if (!fit) continue;
    table.push([
      name,
      String(result.rows),
      fixed(fit.fit_s, 2),
      fixed(fit.rmse, 0),
      fit.pickle_mb === undefined ? "" : `${fixed(fit.pickle_mb, 1)} (pickle)`,
      fixed(fit.predict_one_us, 1),
      fixed(fit.peak_rss_mb, 0),
    ]);
  }
  if (ml) {
    table.push([
      "ml-random-forest",
      String(ml.rows),
      fixed(ml.fit_s, 2),
      fixed(ml.rmse, 0),
      "",
      "",
      "",
    ]);
  }
  const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)));
  console.log(`\ntrain benchmark: ${result.trees} fully grown trees, every feature at each split`);
  for (const row of table) {
    console.log(row.map((cell, column) => cell.padStart(widths[column])).join("  "));
  }
  console.log(
    `fit speed-up over scikit-learn: ${result.fit_speedup_equal_cores ?? "-"}x on ${cores} cores each, ${result.fit_speedup_one_core ?? "-"}x on one core each`,
  );
}

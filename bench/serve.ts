// `npm run bench -- serve [--duration 15] [--connections 8] [--trees 100] [--skip-peers]`:
// our prediction service against the seed-style FastAPI + scikit-learn anchor
// (bench/serve/fastapi_serve.py), each serving a 100-tree forest trained on the same split of the
// real data. Each server runs in its own child process; autocannon loads them from this process,
// one after the other, with single-record POST /predict. Then the latency of a 1,000-record batch.
// Any answer that is not 2xx, and any socket error or timeout, fails the benchmark: requests per
// second count only when every request was answered.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { BUNDLE_FILES, type ModelManifest, readBundle } from "../lib/bundle/bundle.ts";
import { DEFAULT_FOREST_PARAMS } from "../lib/forest/params.ts";
import { runTrain } from "../stages/3-train/train.ts";
import { type BenchHelp, benchArgs, wholeNumber } from "./support/args.ts";
import { benchDataset, REPO } from "./support/paths.ts";
import { benchPython } from "./support/python.ts";
import { pickVersions, writeReport } from "./support/report.ts";
import { anchorData, FASTAPI_SERVE, prepareFeatures, SERVE_DIR } from "./support/serve-data.ts";

const BATCH = 1000;
const BATCH_RUNS = 30;
/** Batches sent first, unmeasured: the batch path is compiled by then, as the load's path is by its warm-up. */
const BATCH_WARMUP = 20;

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Answers with a status outside 200..299. */
  non2xx: number;
  /** Socket errors, timeouts and dropped connections: requests that got no answer. */
  errors: number;
}

type Autocannon = (
  options: Record<string, unknown>,
  done: (
    error: Error | null,
    result: {
      requests: { average: number; sent: number; total: number };
      non2xx: number;
      errors: number;
      timeouts: number;
    },
  ) => void,
) => {
  on(
    event: "response",
    listener: (client: unknown, status: number, bytes: number, ms: number) => void,
  ): void;
};

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

export const help = {
  about:
    "The Express prediction service against a FastAPI + uvicorn + scikit-learn one: single-record POST /predict under load, then a 1,000-record batch; any failed request fails it.",
  options: {
    duration: {
      type: "string",
      default: "15",
      value: "S",
      description: "seconds of load per service",
    },
    connections: {
      type: "string",
      default: "8",
      value: "N",
      description: "connections of the load",
    },
    trees: { type: "string", default: "100", value: "N", description: "trees of both models" },
    source: {
      type: "string",
      value: "PATH",
      description: "the housing CSV (default: the shared dataset)",
    },
    "skip-peers": { type: "boolean", default: false, description: "time our service alone" },
  },
} satisfies BenchHelp;

/** Runs the serving benchmark; the last printed line is its JSON result. */
export async function main(args: string[]): Promise<void> {
  const values = benchArgs(help.options, args);
  const duration = wholeNumber("duration", values.duration);
  const connections = wholeNumber("connections", values.connections);
  const trees = wholeNumber("trees", values.trees);
  const source = await benchDataset(values.source);
  const python = values["skip-peers"] ? null : await benchPython();

  const { bundleDir, anchorDir } = await prepareModels(source, trees);
  const records = await rawRecords(source, BATCH);
  const single = JSON.stringify(records[0]);
  const batch = JSON.stringify(records);

  const children: ChildProcess[] = [];
  try {
    const ours = await startOurs(bundleDir);
    children.push(ours.child);
    console.error(`bench serve: ours at ${ours.url}`);
    let anchorUrl: string | null = null;
    if (python) {
      const port = await freePort();
      const child = spawn(
        python.python,
        [FASTAPI_SERVE, anchorDir, "--port", String(port), "--trees", String(trees)],
        {
          stdio: ["ignore", "inherit", "inherit"],
        },
      );
      children.push(child);
      anchorUrl = `http://127.0.0.1:${port}`;
      console.error(
        `bench serve: anchor training or loading its forest, then serving at ${anchorUrl}…`,
      );
      await waitForHealth(anchorUrl, child, 15 * 60_000);
    }

    const oursAnswer = await postJson(`${ours.url}/predict`, single);
    const anchorAnswer = anchorUrl ? await postJson(`${anchorUrl}/predict`, single) : null;
    console.error(
      `bench serve: one record -> ours ${oursAnswer.predicted_price}, anchor ${anchorAnswer?.predicted_price ?? "-"}`,
    );

    console.error(`bench serve: loading ours (${connections} connections, ${duration} s)…`);
    // The warm-up runs count too: a failed request anywhere fails the benchmark.
    const oursWarmUp = await load(ours.url, single, connections, 2);
    const oursLoad = await load(ours.url, single, connections, duration);
    let anchorWarmUp: LoadResult | null = null;
    let anchorLoad: LoadResult | null = null;
    if (anchorUrl) {
      console.error(`bench serve: loading the anchor (${connections} connections, ${duration} s)…`);
      anchorWarmUp = await load(anchorUrl, single, connections, 2);
      anchorLoad = await load(anchorUrl, single, connections, duration);
    }
    const batchMs = await batchLatency(ours.url, batch);
    const failures = {
      ours: addFailures(oursWarmUp, oursLoad),
      anchor: anchorWarmUp && anchorLoad ? addFailures(anchorWarmUp, anchorLoad) : null,
    };
    const result = summary({ oursLoad, anchorLoad, batchMs, failures });
    printTable({ oursLoad, anchorLoad, batchMs, connections, duration, trees });
    await writeReport({
      bench: "serve",
      setup: `POST /predict, one record, ${connections} connections for ${duration} s, ${trees} trees`,
      panels: [
        {
          title: "requests per second (higher is better)",
          bars: [
            { side: "ours (Express)", value: oursLoad.rps },
            { side: "FastAPI + scikit-learn", value: anchorLoad?.rps ?? null },
          ],
        },
        {
          title: "p99 latency, ms (lower is better)",
          bars: [
            { side: "ours (Express)", value: oursLoad.p99 },
            { side: "FastAPI + scikit-learn", value: anchorLoad?.p99 ?? null },
          ],
        },
      ],
      result,
      versions: pickVersions(python?.versions, ["fastapi", "uvicorn", "scikit-learn"]),
      notes: [`ours, one ${BATCH}-record batch: median ${batchMs.toFixed(1)} ms`],
    });
    console.log(JSON.stringify(result));
    const failure = failureMessage(failures);
    if (failure) {
      console.error(`bench serve: ${failure}`);
      process.exitCode = 1;
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  }
}

/**
 * Our bundle (train stage) and the anchor's training data from the real data's features, cached
 * under .bench/serve by the features' sha256 so later runs skip the training.
 */
async function prepareModels(
  source: string,
  trees: number,
): Promise<{ bundleDir: string; anchorDir: string }> {
  const features = await prepareFeatures(source, "serve");
  const { featuresDir, key } = features;
  const bundleDir = join(SERVE_DIR, `bundle-${key}-${trees}`);
  // A cached bundle is reused only while this checkout can still load it (the model file format may change).
  const cached = await readBundle(bundleDir).then(
    () => true,
    () => false,
  );
  if (cached) {
    console.error(`bench serve: reusing ${bundleDir}`);
  } else {
    console.error(`bench serve: training our ${trees}-tree forest…`);
    await runTrain({
      featuresDir,
      outDir: bundleDir,
      params: { ...DEFAULT_FOREST_PARAMS, nEstimators: trees },
      context: { commit: null, run: null },
    });
  }
  const manifest = JSON.parse(
    await readFile(join(bundleDir, BUNDLE_FILES.manifest), "utf8"),
  ) as ModelManifest;
  console.error(`bench serve: our validation RMSE ${manifest.metrics.validation.rmse.toFixed(0)}`);
  return { bundleDir, anchorDir: await anchorData(features) };
}

/** The first `count` rows of the raw CSV as /predict payloads (an empty total_bedrooms becomes null). */
async function rawRecords(
  source: string,
  count: number,
): Promise<Record<string, number | string | null>[]> {
  const lines = (await readFile(source, "utf8")).split("\n");
  const header = lines[0].trim().split(",");
  const records: Record<string, number | string | null>[] = [];
  for (const line of lines.slice(1)) {
    if (records.length === count) break;
    if (!line.trim()) continue;
    const fields = line.trim().split(",");
    const record: Record<string, number | string | null> = {};
    header.forEach((name, i) => {
      if (name === "median_house_value") return;
      if (name === "ocean_proximity") record[name] = fields[i];
      else record[name] = fields[i] === "" ? null : Number(fields[i]);
    });
    records.push(record);
  }
  return records;
}

async function startOurs(bundleDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(REPO, "deploy", "server", "index.ts")], {
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      MODEL_DIR: bundleDir,
      MAX_BATCH: String(BATCH),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; url?: string; modelVersion?: string | null };
    if (entry.msg === "listening") {
      if (!entry.modelVersion)
        throw new Error(`the server at ${entry.url} has no model loaded from ${bundleDir}`);
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout.resume();
      return { child, url: entry.url as string };
    }
  }
  throw new Error(`the server exited (code ${child.exitCode}) before listening`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the anchor exited with code ${child.exitCode}`);
    const ok = await fetch(`${url}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the anchor at ${url} did not become healthy within ${timeoutMs / 1000} s`);
}

async function postJson(
  url: string,
  body: string,
): Promise<{ predicted_price?: number; predictions?: number[] }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}: ${await response.text()}`);
  return (await response.json()) as { predicted_price?: number };
}

/** autocannon against url/predict; latency percentiles from every response's exact time. */
export function load(
  url: string,
  body: string,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const times: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/predict`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections,
        duration: seconds,
      },
      (error, result) => {
        if (error) return reject(error);
        times.sort((a, b) => a - b);
        resolve({
          rps: result.requests.average,
          p50: percentile(times, 0.5),
          p99: percentile(times, 0.99),
          requests: times.length,
          non2xx: result.non2xx,
          // autocannon's errors include its timeouts, but not a request whose connection the
          // server closed: it reconnects and sends the next. Requests sent and never answered
          // count too, beyond the one per connection still in flight when the run stops.
          errors:
            result.errors + Math.max(0, result.requests.sent - result.requests.total - connections),
        });
      },
    );
    instance.on("response", (_client, _status, _bytes, ms) => {
      times.push(ms);
    });
  });
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** Median wall time of a 1,000-record POST /predict, after BATCH_WARMUP unmeasured ones. */
async function batchLatency(url: string, body: string): Promise<number> {
  for (let i = 0; i < BATCH_WARMUP; i++) await postJson(`${url}/predict`, body);
  const times: number[] = [];
  for (let i = 0; i < BATCH_RUNS; i++) {
    const started = performance.now();
    const answer = await postJson(`${url}/predict`, body);
    times.push(performance.now() - started);
    if (answer.predictions?.length !== BATCH)
      throw new Error(
        `the batch answer has ${answer.predictions?.length} predictions; expected ${BATCH}`,
      );
  }
  times.sort((a, b) => a - b);
  return percentile(times, 0.5);
}

const round = (value: number, digits = 2) =>
  Number.isFinite(value) ? Number(value.toFixed(digits)) : null;

interface Failures {
  non2xx: number;
  errors: number;
}

export function addFailures(...runs: LoadResult[]): Failures {
  return {
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
  };
}

/** Why a run does not count, with each side's failed requests; null when every request succeeded. */
export function failureMessage(failures: {
  ours: Failures;
  anchor: Failures | null;
}): string | null {
  const { ours } = failures;
  const anchor = failures.anchor ?? { non2xx: 0, errors: 0 };
  const non2xx = ours.non2xx + anchor.non2xx;
  const errors = ours.errors + anchor.errors;
  if (non2xx + errors === 0) return null;
  return `FAILED: ${non2xx} answers were not 2xx and ${errors} requests got no answer (ours ${ours.non2xx} + ${ours.errors}, anchor ${anchor.non2xx} + ${anchor.errors}); the request rates do not count`;
}

function printTable(run: {
  oursLoad: LoadResult;
  anchorLoad: LoadResult | null;
  batchMs: number;
  connections: number;
  duration: number;
  trees: number;
}): void {
  const { oursLoad, anchorLoad } = run;
  console.log(
    `\nServing benchmark: POST /predict, one record, ${run.connections} connections, ${run.duration} s, ${run.trees} trees\n`,
  );
  const rows = [["side", "req/s", "p50 ms", "p99 ms", "requests", "non-2xx", "errors"]];
  for (const [name, side] of [
    ["ours (Express)", oursLoad],
    ["anchor (FastAPI + sklearn)", anchorLoad],
  ] as const) {
    if (!side) continue;
    rows.push([
      name,
      side.rps.toFixed(0),
      side.p50.toFixed(2),
      side.p99.toFixed(2),
      String(side.requests),
      String(side.non2xx),
      String(side.errors),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows)
    console.log(
      row
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join("  "),
    );
  console.log(
    `\nours, one ${BATCH}-record batch: median ${run.batchMs.toFixed(2)} ms over ${BATCH_RUNS} runs after ${BATCH_WARMUP} warm-up ones`,
  );
  if (anchorLoad) {
    console.log(`throughput ratio (ours / anchor): ${(oursLoad.rps / anchorLoad.rps).toFixed(1)}x`);
  }
}

export function summary(run: {
  oursLoad: LoadResult;
  anchorLoad: LoadResult | null;
  batchMs: number;
  failures: { ours: Failures; anchor: Failures | null };
}) {
  const { oursLoad, anchorLoad, failures } = run;
  const non2xx = failures.ours.non2xx + (failures.anchor?.non2xx ?? 0);
  const errors = failures.ours.errors + (failures.anchor?.errors ?? 0);
  // Rates count only when every request was answered with a 2xx.
  const valid = non2xx + errors === 0;
  const ratio = anchorLoad && valid ? oursLoad.rps / anchorLoad.rps : Number.NaN;
  return {
    ours_rps: round(oursLoad.rps, 0),
    anchor_rps: anchorLoad ? round(anchorLoad.rps, 1) : null,
    rps_ratio: round(ratio, 1),
    ours_p50_ms: round(oursLoad.p50),
    ours_p99_ms: round(oursLoad.p99),
    anchor_p99_ms: anchorLoad ? round(anchorLoad.p99) : null,
    batch_1000_ms: round(run.batchMs),
    non_2xx: non2xx,
    errors,
    ours_non_2xx: failures.ours.non2xx,
    ours_errors: failures.ours.errors,
    anchor_non_2xx: failures.anchor?.non2xx ?? null,
    anchor_errors: failures.anchor?.errors ?? null,
  };
}

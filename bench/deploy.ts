// `npm run bench -- deploy [--changes 5] [--poll-ms 2000] [--connections 4] [--starts 5]
// [--trees 100] [--skip-anchor] [--clean]`: the serving image as it is deployed (issue 11).
//
// Ours: the service image (deploy/Dockerfile, built as the deploy workflow builds it) runs in
// registry mode against the local GitHub (tools/local-github, in this process), following
// `production` with a short poll. Under a constant /predict load, production moves to a newly
// registered version `--changes` times; each swap is the time from the assignment to the first
// answer carrying the new model_version. Every request that is not answered 2xx with a
// registered version counts as failed, across the whole run. Then cold starts: the cache volume
// holds the production bundle, time from `run` to /ready 200, with the registry reachable (the
// JSON's number) and unreachable.
//
// The anchor, with the same engine in the same run: the seed-style FastAPI + scikit-learn image
// (bench/deploy/anchor.Dockerfile) with its 100-tree pickle baked in, timed from `run` to the
// first 200 of /predict. It cannot follow a registry: a new model means a new image and a restart.
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, promisify } from "node:util";
import { freePort } from "../.github/act.ts";
import { DEFAULT_FOREST_PARAMS } from "../lib/forest/params.ts";
import { createRegistry } from "../lib/registry/create-registry.ts";
import { SAMPLE_RECORD } from "../lib/schema/features.ts";
import { currentCommit, runTrain } from "../stages/3-train/train.ts";
import { type Engine, engineEnv, resolveEngine, runEngine } from "../tools/container/engine.ts";
import {
  buildServiceImage,
  imageSize,
  type RunningContainer,
  runServiceContainer,
} from "../tools/container/service-image.ts";
import { startLocalGitHub } from "../tools/local-github/server.ts";
import { ANCHOR_TAG, buildAnchorImage } from "./deploy/anchor-image.ts";
import { startVersionLoad, type VersionLoad } from "./deploy/load.ts";
import { median, type ProductionChange, rounded, swapSeconds } from "./deploy/measure.ts";
import { pythonBaseTag } from "./deploy/python-base.ts";
import { benchDataset, REPO } from "./support/paths.ts";
import { benchPython } from "./support/python.ts";
import { pickVersions, writeReport } from "./support/report.ts";
import { anchorData, anchorPickle, prepareFeatures } from "./support/serve-data.ts";

const OUR_TAG = "localhost/house-price-prediction:bench";
/** The anchor is the seed's 100-tree forest, whatever --trees says for ours. */
const ANCHOR_TREES = 100;
const STAGE = "production";
const TOKEN_IN_CONTAINER = "/run/secrets/github_token";
const SAMPLE_BODY = JSON.stringify(SAMPLE_RECORD);

const started = performance.now();
/** Progress on stderr, with the time since the bench started (image builds take minutes). */
function progress(message: string): void {
  const seconds = Math.round((performance.now() - started) / 1000);
  const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  process.stderr.write(`bench deploy [${clock}]: ${message}\n`);
}

function wholeNumber(name: string, value: string, min: number): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min)
    throw new Error(`${name}: "${value}" is not allowed; expected a whole number >= ${min}`);
  return number;
}

interface Settings {
  changes: number;
  pollMs: number;
  connections: number;
  starts: number;
  trees: number;
  source: string | undefined;
  skipAnchor: boolean;
  clean: boolean;
}

function readSettings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      changes: { type: "string", default: "5" },
      "poll-ms": { type: "string", default: "2000" },
      connections: { type: "string", default: "4" },
      starts: { type: "string", default: "5" },
      trees: { type: "string", default: String(DEFAULT_FOREST_PARAMS.nEstimators) },
      source: { type: "string" },
      "skip-anchor": { type: "boolean", default: false },
      clean: { type: "boolean", default: false },
    },
  });
  return {
    changes: wholeNumber("--changes", values.changes, 1),
    // The server's REGISTRY_POLL_MS accepts 1000 ms and more.
    pollMs: wholeNumber("--poll-ms", values["poll-ms"], 1000),
    connections: wholeNumber("--connections", values.connections, 1),
    starts: wholeNumber("--starts", values.starts, 1),
    trees: wholeNumber("--trees", values.trees, 1),
    source: values.source,
    skipAnchor: values["skip-anchor"],
    clean: values.clean,
  };
}

/** Polls `check` every 20 ms until it answers true; fails after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(20);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}

/** The version /ready names, or null while it is not 200. */
async function readyVersion(url: string): Promise<string | null> {
  const response = await fetch(`${url}/ready`).catch(() => null);
  if (response?.status !== 200) return null;
  return ((await response.json()) as { model_version?: string }).model_version ?? null;
}

async function predictAnswers(url: string): Promise<boolean> {
  const response = await fetch(`${url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: SAMPLE_BODY,
  });
  await response.arrayBuffer();
  return response.status === 200;
}

async function engineVersion(engine: Engine): Promise<string> {
  const { stdout } = await promisify(execFile)(engine, ["--version"], { env: engineEnv(engine) });
  return stdout.trim().split(/\s+/).at(-1) ?? "unknown";
}

/** Runs the deploy benchmark; the last printed line is its JSON result. */
export async function main(args: string[]): Promise<void> {
  const settings = readSettings(args);
  const engine = await resolveEngine();
  if (!engine) {
    throw new Error(
      "bench deploy: no container engine: install podman and runc (apt-get install podman runc), or docker with its daemon",
    );
  }
  const source = await benchDataset(settings.source);
  const python = settings.skipAnchor ? null : await benchPython();
  progress(`engine ${engine}; ${settings.changes} production changes, poll ${settings.pollMs} ms`);

  const features = await prepareFeatures(source, "deploy");
  let anchorInputs: { anchorDir: string; pickle: string } | null = null;
  if (python) {
    const anchorDir = await anchorData(features);
    anchorInputs = {
      anchorDir,
      pickle: await anchorPickle(python.python, anchorDir, ANCHOR_TREES),
    };
  }

  const work = await mkdtemp(join(tmpdir(), "bench-deploy-"));
  const github = await startLocalGitHub({ validate: false });
  const volume = `house-price-bench-cache-${process.pid}`;
  const containers = new Set<RunningContainer>();
  let load: VersionLoad | null = null;
  /** Starts `image` as runServiceContainer deploys it; stopped in `finally` whatever happens. */
  const start = async (
    image: string,
    options: Omit<Parameters<typeof runServiceContainer>[2], "port">,
  ) => {
    const container = await runServiceContainer(engine, image, {
      port: await freePort(),
      ...options,
    });
    containers.add(container);
    return container;
  };
  const stop = async (container: RunningContainer) => {
    containers.delete(container);
    await container.stop();
  };
  try {
    // --- the registry with a new version for the initial production and for every change ---
    const commit = await github.commitFiles("main", { "README.md": "# house prices\n" });
    const registry = await createRegistry({
      env: {
        GITHUB_TOKEN: github.token,
        GITHUB_REPOSITORY: github.repository,
        GITHUB_API_URL: github.apiUrl,
      },
    });
    // The service gets what compose.yaml and the Kubernetes base give it: a read-only token in a
    // mounted file (readable by the container's uid 1000).
    const tokenFile = join(work, "registry-token");
    const readToken = await github.mintToken({
      kind: "app",
      app: "house-price-server",
      permissions: { contents: "read" },
    });
    await writeFile(tokenFile, `${readToken}\n`, { mode: 0o644 });

    const trainAndRegister = async (): Promise<string[]> => {
      const versions: string[] = [];
      for (let i = 0; i <= settings.changes; i++) {
        progress(
          `training and registering version ${i + 1} of ${settings.changes + 1} (${settings.trees} trees, real data)…`,
        );
        const dir = join(work, `bundle-${i}`);
        await runTrain({
          featuresDir: features.featuresDir,
          outDir: dir,
          params: {
            ...DEFAULT_FOREST_PARAMS,
            nEstimators: settings.trees,
            seed: DEFAULT_FOREST_PARAMS.seed + i,
          },
          context: { commit, run: null },
        });
        versions.push((await registry.register(dir)).version);
      }
      return versions;
    };
    progress(`building ${OUR_TAG} from deploy/Dockerfile while the versions train…`);
    const revision = (await currentCommit(REPO)) ?? "unknown";
    const [, versions] = await Promise.all([
      buildServiceImage(engine, {
        tag: OUR_TAG,
        labels: { "org.opencontainers.image.revision": revision },
        log: (line) => process.stderr.write(`  image: ${line}\n`),
      }),
      trainAndRegister(),
    ]);
    const imageMb = (await imageSize(engine, OUR_TAG)) / 1e6;
    progress(`${OUR_TAG}: ${imageMb.toFixed(1)} MB; versions ${versions.join(", ")}`);

    // --- the container follows production under load ---
    const followerEnv = (apiUrl: string) => ({
      MODEL_SOURCE: "registry",
      REGISTRY_REPOSITORY: github.repository,
      GITHUB_API_URL: apiUrl,
      REGISTRY_TOKEN_FILE: TOKEN_IN_CONTAINER,
      MODEL_CACHE_DIR: "/cache",
      REGISTRY_POLL_MS: String(settings.pollMs),
      // REGISTRY_POLL_JITTER stays at its default (0.2), as deployed.
    });
    const mounts = [`${tokenFile}:${TOKEN_IN_CONTAINER}:ro`, `${volume}:/cache`];
    await registry.assign(versions[0], STAGE);
    const follower = await start(OUR_TAG, { env: followerEnv(github.apiUrl), volumes: mounts });
    progress(
      `container ${follower.name} follows ${STAGE} at ${follower.url}; waiting for ${versions[0]}…`,
    );
    await until(
      `${follower.name} ready with ${versions[0]}`,
      async () => (await readyVersion(follower.url)) === versions[0],
      120_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await follower.logs()}`);
    });

    progress(`loading /predict over ${settings.connections} connections…`);
    const predictLoad = startVersionLoad({
      url: follower.url,
      body: SAMPLE_BODY,
      connections: settings.connections,
    });
    load = predictLoad;
    await predictLoad.waitForVersion(versions[0], 30_000);
    await sleep(3000);
    const changes: ProductionChange[] = [];
    const assignSeconds: number[] = [];
    for (let i = 1; i <= settings.changes; i++) {
      // A random pause, so assignments fall anywhere in the follower's poll cycle.
      await sleep(settings.pollMs * (1 + Math.random()));
      const assignedAt = performance.now();
      await registry.assign(versions[i], STAGE);
      assignSeconds.push((performance.now() - assignedAt) / 1000);
      changes.push({ version: versions[i], assignedAt });
      const seenAt = await predictLoad.waitForVersion(versions[i], settings.pollMs * 2 + 60_000);
      progress(
        `change ${i}/${settings.changes}: ${versions[i]} answered ${((seenAt - assignedAt) / 1000).toFixed(2)} s after its assignment began`,
      );
    }
    await sleep(2000);
    load = null;
    const tally = await predictLoad.stop();
    await stop(follower);
    const swaps = swapSeconds(changes, predictLoad.firstSeen);
    const registered = new Set(versions);
    const strays = Object.entries(tally.byVersion)
      .filter(([version]) => !registered.has(version))
      .reduce((sum, [, count]) => sum + count, 0);
    const failed = tally.failed + tally.unreadable + strays;
    progress(
      `load: ${tally.sent} requests, ${failed} failed (${tally.failed} not 2xx or unanswered, ${tally.unreadable} without a version, ${strays} with an unregistered one)`,
    );

    // --- cold starts from the cache volume ---
    const lastVersion = versions[settings.changes];
    const coldStarts = async (apiUrl: string, label: string): Promise<number[]> => {
      const seconds: number[] = [];
      for (let i = 0; i < settings.starts; i++) {
        const before = performance.now();
        const container = await start(OUR_TAG, { env: followerEnv(apiUrl), volumes: mounts });
        let version: string | null = null;
        await until(
          `${container.name} /ready`,
          async () => {
            version = await readyVersion(container.url);
            return version !== null;
          },
          60_000,
        ).catch(async (error: Error) => {
          throw new Error(`${error.message}\n${await container.logs()}`);
        });
        seconds.push((performance.now() - before) / 1000);
        await stop(container);
        if (version !== lastVersion) {
          throw new Error(
            `a cold start (${label}) served ${version}; the cache holds ${lastVersion}`,
          );
        }
      }
      progress(`cold start to /ready, ${label}: ${seconds.map((s) => s.toFixed(2)).join(", ")} s`);
      return seconds;
    };
    const coldUp = await coldStarts(github.apiUrl, "registry reachable");
    const coldDown = await coldStarts(
      `http://127.0.0.1:${await freePort()}`,
      "registry unreachable",
    );

    // --- the anchor ---
    let anchor: { imageMb: number; coldStarts: number[]; pickleMb: number } | null = null;
    if (anchorInputs) {
      progress(`building the anchor ${ANCHOR_TAG} (pip installs scikit-learn, FastAPI, uvicorn)…`);
      await buildAnchorImage(engine, {
        ...anchorInputs,
        log: (line) => process.stderr.write(`  anchor image: ${line}\n`),
      });
      const anchorMb = (await imageSize(engine, ANCHOR_TAG)) / 1e6;
      progress(`${ANCHOR_TAG}: ${anchorMb.toFixed(1)} MB`);
      const seconds: number[] = [];
      for (let i = 0; i < settings.starts; i++) {
        const before = performance.now();
        const container = await start(ANCHOR_TAG, {});
        await until(
          `the anchor ${container.name} /predict`,
          () => predictAnswers(container.url),
          180_000,
        ).catch(async (error: Error) => {
          throw new Error(`${error.message}\n${await container.logs()}`);
        });
        seconds.push((performance.now() - before) / 1000);
        await stop(container);
      }
      progress(
        `anchor cold start to its first /predict 200: ${seconds.map((s) => s.toFixed(2)).join(", ")} s`,
      );
      const pickleMb = (await stat(anchorInputs.pickle)).size / 1e6;
      anchor = { imageMb: anchorMb, coldStarts: seconds, pickleMb };
    }

    // --- the result ---
    const result = {
      swap_p50_s: rounded(median(swaps)),
      swap_max_s: rounded(Math.max(...swaps)),
      poll_interval_s: settings.pollMs / 1000,
      failed_requests: failed,
      requests: tally.sent,
      image_mb: rounded(imageMb, 1),
      cold_start_ready_s: rounded(median(coldUp)),
      anchor_image_mb: rounded(anchor?.imageMb, 1),
      anchor_cold_start_ready_s: rounded(anchor ? median(anchor.coldStarts) : null),
      changes: settings.changes,
      swaps_s: swaps.map((s) => rounded(s)),
      cold_start_registry_down_s: rounded(median(coldDown)),
    };
    const targets = [
      { what: "failed_requests = 0", met: result.failed_requests === 0 },
      {
        what: `swap_max_s <= poll_interval_s + 2 (${result.poll_interval_s + 2})`,
        met: Math.max(...swaps) <= settings.pollMs / 1000 + 2,
      },
      {
        what: "image_mb <= 0.5 x anchor_image_mb",
        met: anchor ? imageMb <= 0.5 * anchor.imageMb : null,
      },
      { what: "cold_start_ready_s <= 2 (cached bundle)", met: median(coldUp) <= 2 },
    ];
    printTable({ settings, engine, result, assignSeconds, anchor, targets, coldDown, coldUp });
    await writeReport({
      bench: "deploy",
      setup: `${engine}, registry mode, poll ${settings.pollMs / 1000} s ±20%, ${settings.changes} production changes under load (${settings.connections} connections)`,
      panels: [
        {
          title: "image size, MB (lower is better)",
          bars: [
            { side: "ours (Node, no model inside)", value: imageMb },
            { side: "FastAPI + scikit-learn, pickle inside", value: anchor?.imageMb ?? null },
          ],
        },
        {
          title: "cold start to ready, model cached, s (lower is better)",
          bars: [
            { side: "ours (/ready, registry reachable)", value: median(coldUp) },
            {
              side: "FastAPI + scikit-learn (first /predict)",
              value: anchor ? median(anchor.coldStarts) : null,
            },
          ],
        },
        {
          title: "production change to the first answer of the new version, s",
          bars: [
            { side: `ours, slowest of ${settings.changes}`, value: Math.max(...swaps) },
            { side: "target: poll interval + 2 s", value: settings.pollMs / 1000 + 2 },
          ],
        },
      ],
      result,
      versions: {
        [engine]: await engineVersion(engine),
        ...pickVersions(python?.versions, ["fastapi", "uvicorn", "scikit-learn"]),
      },
      notes: [
        `swaps ${swaps.map((s) => s.toFixed(2)).join(", ")} s (median ${median(swaps).toFixed(2)}); ${tally.sent} requests, ${failed} failed; cold start with the registry unreachable ${median(coldDown).toFixed(2)} s`,
        ...(anchor
          ? [
              `anchor: ${ANCHOR_TREES}-tree pickle ${anchor.pickleMb.toFixed(1)} MB; ${engine === "podman" ? "base: Debian bookworm minbase + python3.11 made locally (python:3.11-slim stand-in)" : "base: python:3.11-slim-bookworm"}`,
            ]
          : []),
      ],
    });
    console.log(JSON.stringify(result));
    if (result.failed_requests > 0) {
      console.error(
        `bench deploy: FAILED: ${result.failed_requests} requests failed during the swaps`,
      );
      process.exitCode = 1;
    }
  } finally {
    if (load) await load.stop().catch(() => undefined);
    for (const container of containers) await container.stop();
    await runEngine(engine, ["volume", "rm", "--force", volume]).catch(() => undefined);
    await github.close();
    await rm(work, { recursive: true, force: true });
    if (settings.clean) {
      progress("--clean: removing the anchor's image and its Python base");
      for (const image of [ANCHOR_TAG, await pythonBaseTag()]) {
        await runEngine(engine, ["rmi", "--force", image]).catch(() => undefined);
      }
    }
  }
}

interface TableInput {
  settings: Settings;
  engine: Engine;
  result: { [key: string]: unknown; swaps_s: (number | null)[] };
  assignSeconds: number[];
  coldUp: number[];
  coldDown: number[];
  anchor: { imageMb: number; coldStarts: number[]; pickleMb: number } | null;
  targets: { what: string; met: boolean | null }[];
}

function printTable(input: TableInput): void {
  const { settings, result, anchor } = input;
  const seconds = (values: number[]) => values.map((value) => value.toFixed(2)).join(", ");
  console.log(
    `\nDeploy benchmark (${input.engine}): registry mode, poll ${settings.pollMs / 1000} s with 20% jitter, ${settings.changes} production changes under /predict load over ${settings.connections} connections\n`,
  );
  const rows = [
    ["", "ours (Express, registry mode)", "anchor (FastAPI + scikit-learn)"],
    ["image, MB", String(result.image_mb), anchor ? String(result.anchor_image_mb) : "-"],
    [
      "cold start to ready, s (median)",
      `${result.cold_start_ready_s} (cached bundle, registry reachable)`,
      anchor ? `${result.anchor_cold_start_ready_s} (pickle in the image)` : "-",
    ],
    ["cold start, registry unreachable, s", String(result.cold_start_registry_down_s), "-"],
    [
      "swap after a production change, s",
      `median ${result.swap_p50_s}, max ${result.swap_max_s}`,
      "a new image and a restart",
    ],
    ["requests under load / failed", `${result.requests} / ${result.failed_requests}`, "-"],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c])).join("  "));
  console.log(`\nswaps, s: ${result.swaps_s.join(", ")}`);
  console.log(`registry.assign took, s: ${seconds(input.assignSeconds)} (inside the swap times)`);
  console.log(`cold starts, registry reachable, s: ${seconds(input.coldUp)}`);
  console.log(`cold starts, registry unreachable, s: ${seconds(input.coldDown)}`);
  if (anchor) {
    console.log(
      `anchor cold starts, s: ${seconds(anchor.coldStarts)}; its pickle: ${anchor.pickleMb.toFixed(1)} MB`,
    );
  }
  console.log("\ntargets:");
  for (const target of input.targets) {
    const verdict = target.met === null ? "not measured" : target.met ? "met" : "MISSED";
    console.log(`  ${target.what}: ${verdict}`);
  }
  console.log("");
}

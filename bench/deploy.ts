// `npm run bench -- deploy [--changes 5] [--poll-ms 2000] [--connections 4] [--rate 0]
// [--starts 5] [--trees 100] [--skip-anchor] [--clean]`: the serving image as it is deployed
// (issue 11).
//
// Ours: the service image (deploy/Dockerfile, built as the deploy workflow builds it) runs in
// registry mode against the local GitHub (tools/local-github, in this process), following
// `production` with a short poll. Under a constant /predict load (its own process: by default
// each connection sends its next request when the last is answered, which saturates the
// service; --rate N sends N requests per second over all connections instead), production
// moves to a newly registered version `--changes` times; each swap is the time from the moment
// the production tag exists in the registry to the first answer carrying the new model_version,
// split by the service's logs into: the bundle in place (downloaded, verified), the model loaded.
// Every request that is not answered 2xx with a registered version counts as failed, across the
// whole run.
// Then cold starts: the cache volume holds the production bundle; the time from `run` to /ready
// 200, with the registry reachable (the JSON's number) and unreachable, split into the engine's
// part (until the container started) and the server's.
//
// The anchor, with the same engine in the same run: the seed-style FastAPI + scikit-learn image
// (bench/deploy/anchor.Dockerfile) with its 100-tree pickle baked in, timed from `run` to the
// first 200 of /predict. It cannot follow a registry: a new model means a new image and a restart.
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { verifyServable } from "../deploy/server/model-store.ts";
import { MODEL_NAME } from "../lib/bundle/bundle.ts";
import { DEFAULT_FOREST_PARAMS } from "../lib/forest/params.ts";
import { freePort } from "../lib/io/ports.ts";
import { createRegistry } from "../lib/registry/create-registry.ts";
import { fetchBundle } from "../lib/registry/fetch-bundle.ts";
import { SAMPLE_RECORD } from "../lib/schema/features.ts";
import { currentCommit, runTrain } from "../stages/3-train/train.ts";
import { type Engine, engineEnv, resolveEngine, runEngine } from "../tools/container/engine.ts";
import {
  buildServiceImage,
  imageSize,
  type RunningContainer,
  runServiceContainer,
} from "../tools/container/service-image.ts";
import { type LocalGitHub, startLocalGitHub } from "../tools/local-github/server.ts";
import { ANCHOR_TAG, buildAnchorImage } from "./deploy/anchor-image.ts";
import type { VersionLoad } from "./deploy/load.ts";
import { startLoadProcess } from "./deploy/load-process.ts";
import {
  epochMs,
  logEntries,
  median,
  type ProductionChange,
  parseEngineTime,
  rounded,
  swapSeconds,
} from "./deploy/measure.ts";
import { pythonBaseTag } from "./deploy/python-base.ts";
import { type BenchHelp, benchArgs, wholeNumber } from "./support/args.ts";
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

interface Settings {
  changes: number;
  pollMs: number;
  connections: number;
  rate: number;
  starts: number;
  trees: number;
  source: string | undefined;
  skipAnchor: boolean;
  clean: boolean;
}

export const help = {
  about:
    "The serving image following the registry under load (production swaps, failed requests, image size, cold start) against the seed's FastAPI image; needs podman or docker.",
  options: {
    changes: {
      type: "string",
      default: "5",
      value: "N",
      description: "production changes under load",
    },
    "poll-ms": {
      type: "string",
      default: "2000",
      value: "MS",
      description: "the service's registry poll (1000 or more)",
    },
    connections: {
      type: "string",
      default: "4",
      value: "N",
      description: "connections of the load",
    },
    rate: {
      type: "string",
      default: "0",
      value: "N",
      description: "requests per second over all connections; 0: as fast as answered",
    },
    starts: { type: "string", default: "5", value: "N", description: "cold starts timed" },
    trees: {
      type: "string",
      default: String(DEFAULT_FOREST_PARAMS.nEstimators),
      value: "N",
      description: "trees of the models served",
    },
    source: {
      type: "string",
      value: "PATH",
      description: "the housing CSV (default: the shared dataset)",
    },
    "skip-anchor": { type: "boolean", default: false, description: "leave the FastAPI image out" },
    clean: {
      type: "boolean",
      default: false,
      description: "remove the anchor's image and its Python base afterwards",
    },
  },
} satisfies BenchHelp;

function readSettings(args: string[]): Settings {
  const values = benchArgs(help.options, args);
  return {
    changes: wholeNumber("changes", values.changes),
    // The server's REGISTRY_POLL_MS accepts 1000 ms and more.
    pollMs: wholeNumber("poll-ms", values["poll-ms"], 1000),
    connections: wholeNumber("connections", values.connections),
    rate: wholeNumber("rate", values.rate, 0),
    starts: wholeNumber("starts", values.starts),
    trees: wholeNumber("trees", values.trees),
    source: values.source,
    skipAnchor: values["skip-anchor"],
    clean: values.clean,
  };
}

/** The load in words, e.g. "4 connections, as fast as answered". */
function describeLoad(settings: Settings): string {
  const pace = settings.rate > 0 ? `${settings.rate} requests/s` : "as fast as answered";
  return `${settings.connections} connections, ${pace}`;
}

/** Polls `check` every 20 ms until it answers true; fails after `timeoutMs` or when it throws. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}

/** The version /ready names, or null while it is not 200. */
async function readyVersion(url: string): Promise<string | null> {
  const response = await fetch(`${url}/ready`).catch(() => null);
  if (response?.status !== 200) {
    await response?.body?.cancel();
    return null;
  }
  return ((await response.json()) as { model_version?: string }).model_version ?? null;
}

/** Whether /predict answers the sample record with 200 (false while nothing listens). */
async function predictAnswers(url: string): Promise<boolean> {
  const response = await fetch(`${url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: SAMPLE_BODY,
  }).catch(() => null);
  await response?.arrayBuffer();
  return response?.status === 200;
}

async function engineVersion(engine: Engine): Promise<string> {
  const { stdout } = await promisify(execFile)(engine, ["--version"], { env: engineEnv(engine) });
  return stdout.trim().split(/\s+/).at(-1) ?? "unknown";
}

/**
 * Watches the local GitHub's bare repository for the first new tag named `prefix`N: the moment a
 * stage assignment exists in the registry. registry.assign takes longer than that (it reads the
 * registry's state before and after, and unassigns the previous holder with another tag), and
 * the follower may see the new tag before assign returns. git writes each new tag as a loose
 * ref file, so a directory listing every few milliseconds sees it.
 */
function watchNewTag(gitDir: string, prefix: string): { stop(): number | null } {
  const dir = join(gitDir, "refs", "tags");
  const list = () =>
    readdirSync(dir).filter(
      (name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)),
    );
  const before = new Set(list());
  let seenAt: number | null = null;
  const timer = setInterval(() => {
    if (seenAt === null && list().some((name) => !before.has(name))) seenAt = epochMs();
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      if (seenAt === null && list().some((name) => !before.has(name))) seenAt = epochMs();
      return seenAt;
    },
  };
}

/** The follower's steps for one new version, timed from the host (seconds), and its API requests. */
interface FollowerSteps {
  fingerprint_s: number;
  holder_s: number;
  download_s: number;
  verify_s: number;
  api_requests: number;
}

/**
 * What the container's follower does when production moved, done from the bench's process with
 * the service's read-only token: the stage's fingerprint, its holder, the bundle's download, the
 * servability check. It tells where a swap's time goes besides the poll's wait.
 */
async function timeFollowerSteps(
  github: LocalGitHub,
  token: string,
  version: string,
  dir: string,
): Promise<FollowerSteps> {
  const registry = await createRegistry({
    backend: "github",
    github: { token, repository: github.repository, apiUrl: github.apiUrl },
  });
  const requestsBefore = github.requests.length;
  const times = [epochMs()];
  await registry.stageFingerprint(STAGE);
  times.push(epochMs());
  await registry.stageVersion(STAGE);
  times.push(epochMs());
  await fetchBundle(registry, version, dir);
  times.push(epochMs());
  await verifyServable(dir);
  times.push(epochMs());
  const step = (i: number) => (times[i + 1] - times[i]) / 1000;
  await rm(dir, { recursive: true, force: true });
  return {
    fingerprint_s: step(0),
    holder_s: step(1),
    download_s: step(2),
    verify_s: step(3),
    api_requests: github.requests.length - requestsBefore,
  };
}

/** One cold start: seconds from `run` to the container started, to listening, to ready. */
interface ColdStart {
  engine_s: number;
  listening_s: number | null;
  ready_s: number;
}

/** The engine's start time of `container` and the service's "listening" line, as ColdStart. */
async function coldStartParts(
  engine: Engine,
  container: RunningContainer,
  invokedAt: number,
  readyAt: number,
): Promise<ColdStart> {
  const startedAt = parseEngineTime(
    await runEngine(engine, ["inspect", "--format", "{{.State.StartedAt}}", container.name]),
  );
  const listening = logEntries(await container.logs()).find((entry) => entry.msg === "listening");
  return {
    engine_s: (startedAt - invokedAt) / 1000,
    listening_s: listening ? (listening.at - invokedAt) / 1000 : null,
    ready_s: (readyAt - invokedAt) / 1000,
  };
}

/** Where one swap's time went, in seconds from the assignment tag's creation. */
interface SwapParts {
  version: string;
  /** registry.assign returned (it began before the tag: a negative number). */
  assign_began_s: number;
  assign_returned_s: number;
  /** The follower logged the new bundle in place (downloaded and verified). */
  in_place_s: number | null;
  /** The model store logged it loaded. */
  loaded_s: number | null;
  /** The first answer carrying it. */
  answered_s: number;
}

function swapParts(
  changes: ProductionChange[],
  assignCalls: { began: number; returned: number }[],
  firstSeen: ReadonlyMap<string, number>,
  logs: string,
): SwapParts[] {
  const entries = logEntries(logs);
  const at = (msg: string, version: string) =>
    entries.find((entry) => entry.msg === msg && entry.fields.version === version)?.at;
  return changes.map(({ version, assignedAt }, i) => {
    const since = (time: number | undefined) =>
      time === undefined ? null : (time - assignedAt) / 1000;
    return {
      version,
      assign_began_s: (assignCalls[i].began - assignedAt) / 1000,
      assign_returned_s: (assignCalls[i].returned - assignedAt) / 1000,
      in_place_s: since(at("registry: new version in place", version)),
      loaded_s: since(at("model loaded", version)),
      answered_s: since(firstSeen.get(version)) ?? Number.NaN,
    };
  });
}

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
/** The median of one part over several cold starts (null when a start lacks it). */
function medianOf(starts: ColdStart[], part: keyof ColdStart): number | null {
  const values = starts.map((start) => start[part]);
  return values.every((value) => value !== null) ? median(values as number[]) : null;
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
  progress(
    `engine ${engine}; ${settings.changes} production changes, poll ${settings.pollMs} ms; load average ${loadavg()[0].toFixed(1)}`,
  );

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
  /** Starts `image` and times it until `ready` answers true (see ColdStart). */
  const coldStart = async (
    image: string,
    options: Omit<Parameters<typeof runServiceContainer>[2], "port">,
    ready: (url: string) => Promise<boolean>,
  ): Promise<ColdStart> => {
    const invokedAt = epochMs();
    const container = await start(image, options);
    await until(`${container.name} ready`, () => ready(container.url), 180_000).catch(
      async (error: Error) => {
        throw new Error(`${error.message}\n${await container.logs()}`);
      },
    );
    const readyAt = epochMs();
    const parts = await coldStartParts(engine, container, invokedAt, readyAt);
    await stop(container);
    return parts;
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

    progress(`loading /predict: ${describeLoad(settings)}…`);
    const predictLoad = startLoadProcess({
      url: follower.url,
      body: SAMPLE_BODY,
      connections: settings.connections,
      rate: settings.rate,
    });
    load = predictLoad;
    await predictLoad.waitForVersion(versions[0], 30_000);
    await sleep(3000);
    const changes: ProductionChange[] = [];
    const assignCalls: { began: number; returned: number }[] = [];
    for (let i = 1; i <= settings.changes; i++) {
      // A random pause, so assignments fall anywhere in the follower's poll cycle.
      await sleep(settings.pollMs * (1 + Math.random()));
      const tag = watchNewTag(github.gitDir, `${MODEL_NAME}#${STAGE}#`);
      const began = epochMs();
      await registry.assign(versions[i], STAGE).finally(() => tag.stop());
      const returned = epochMs();
      const assignedAt = tag.stop();
      if (assignedAt === null) {
        throw new Error(
          `registry.assign(${versions[i]}) returned, but no new ${MODEL_NAME}#${STAGE}#N tag appeared in ${github.gitDir}/refs/tags`,
        );
      }
      assignCalls.push({ began, returned });
      changes.push({ version: versions[i], assignedAt });
      const seenAt = await predictLoad.waitForVersion(versions[i], settings.pollMs * 2 + 60_000);
      progress(
        `change ${i}/${settings.changes}: ${versions[i]} answered ${((seenAt - assignedAt) / 1000).toFixed(2)} s after its production tag appeared (registry.assign took ${((returned - began) / 1000).toFixed(2)} s)`,
      );
    }
    await sleep(2000);
    load = null;
    const tally = await predictLoad.stop();
    const followerLogs = await follower.logs();
    await stop(follower);
    const swaps = swapSeconds(changes, predictLoad.firstSeen);
    const parts = swapParts(changes, assignCalls, predictLoad.firstSeen, followerLogs);
    const registered = new Set(versions);
    const strays = Object.entries(tally.byVersion)
      .filter(([version]) => !registered.has(version))
      .reduce((sum, [, count]) => sum + count, 0);
    const failed = tally.failed + tally.unreadable + strays;
    const unanswered = tally.failed - tally.non2xx - tally.errors;
    const failures = `${tally.non2xx} not 2xx, ${tally.errors} socket errors or timeouts (${tally.timeouts} timeouts), ${unanswered} unanswered, ${tally.unreadable} without a version, ${strays} with an unregistered one`;
    progress(`load: ${tally.sent} requests, ${failed} failed: ${failures}`);

    const steps: FollowerSteps[] = [];
    for (const version of versions.slice(1)) {
      steps.push(await timeFollowerSteps(github, readToken, version, join(work, "steps")));
    }

    // --- cold starts from the cache volume ---
    const lastVersion = versions[settings.changes];
    const servesLast = async (url: string) => {
      const version = await readyVersion(url);
      if (version !== null && version !== lastVersion) {
        throw new Error(`a cold start served ${version}; the cache's production is ${lastVersion}`);
      }
      return version !== null;
    };
    const coldStarts = async (apiUrl: string, label: string): Promise<ColdStart[]> => {
      const starts: ColdStart[] = [];
      for (let i = 0; i < settings.starts; i++) {
        starts.push(
          await coldStart(OUR_TAG, { env: followerEnv(apiUrl), volumes: mounts }, servesLast),
        );
      }
      progress(
        `cold start to /ready, ${label}: ${starts.map((start) => start.ready_s.toFixed(2)).join(", ")} s`,
      );
      return starts;
    };
    const coldUp = await coldStarts(github.apiUrl, "registry reachable");
    const coldDown = await coldStarts(
      `http://127.0.0.1:${await freePort()}`,
      "registry unreachable",
    );

    // --- the anchor ---
    let anchor: AnchorResult | null = null;
    if (anchorInputs) {
      progress(`building the anchor ${ANCHOR_TAG} (pip installs scikit-learn, FastAPI, uvicorn)…`);
      await buildAnchorImage(engine, {
        ...anchorInputs,
        log: (line) => process.stderr.write(`  anchor image: ${line}\n`),
      });
      const anchorMb = (await imageSize(engine, ANCHOR_TAG)) / 1e6;
      progress(`${ANCHOR_TAG}: ${anchorMb.toFixed(1)} MB`);
      const starts: ColdStart[] = [];
      for (let i = 0; i < settings.starts; i++) {
        starts.push(await coldStart(ANCHOR_TAG, {}, predictAnswers));
      }
      progress(
        `anchor cold start to its first /predict 200: ${starts.map((start) => start.ready_s.toFixed(2)).join(", ")} s`,
      );
      const pickleMb = (await stat(anchorInputs.pickle)).size / 1e6;
      anchor = { imageMb: anchorMb, starts, pickleMb };
    }

    // --- the result ---
    const coldReady = medianOf(coldUp, "ready_s") as number;
    const result = {
      swap_p50_s: rounded(median(swaps)),
      swap_max_s: rounded(Math.max(...swaps)),
      poll_interval_s: settings.pollMs / 1000,
      failed_requests: failed,
      requests: tally.sent,
      image_mb: rounded(imageMb, 1),
      cold_start_ready_s: rounded(coldReady),
      anchor_image_mb: rounded(anchor?.imageMb, 1),
      anchor_cold_start_ready_s: rounded(anchor ? medianOf(anchor.starts, "ready_s") : null),
      changes: settings.changes,
      load_rate: settings.rate,
      swaps_s: swaps.map((swap) => rounded(swap)),
      cold_start_registry_down_s: rounded(medianOf(coldDown, "ready_s")),
      cold_start_engine_s: rounded(medianOf(coldUp, "engine_s")),
      load_average_end: rounded(loadavg()[0], 1),
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
      { what: "cold_start_ready_s <= 2 (cached bundle)", met: coldReady <= 2 },
    ];
    printTable({
      settings,
      engine,
      result,
      failures,
      parts,
      steps,
      anchor,
      targets,
      coldDown,
      coldUp,
    });
    await writeReport({
      bench: "deploy",
      setup: `${engine}, registry mode, poll ${settings.pollMs / 1000} s ±20%, ${settings.changes} production changes under /predict load (${describeLoad(settings)})`,
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
            { side: "ours (/ready, registry reachable)", value: coldReady },
            {
              side: "FastAPI + scikit-learn (first /predict)",
              value: anchor ? medianOf(anchor.starts, "ready_s") : null,
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
        `swaps ${swaps.map((swap) => swap.toFixed(2)).join(", ")} s (median ${median(swaps).toFixed(2)}); ${tally.sent} requests, ${failed} failed; cold start with the registry unreachable ${result.cold_start_registry_down_s} s`,
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

interface AnchorResult {
  imageMb: number;
  starts: ColdStart[];
  pickleMb: number;
}

interface TableInput {
  settings: Settings;
  engine: Engine;
  result: { [key: string]: unknown; swaps_s: (number | null)[] };
  /** The failed requests by kind, in words. */
  failures: string;
  parts: SwapParts[];
  steps: FollowerSteps[];
  coldUp: ColdStart[];
  coldDown: ColdStart[];
  anchor: AnchorResult | null;
  targets: { what: string; met: boolean | null }[];
}

const fixed = (value: number | null) => (value === null ? "-" : value.toFixed(2));

function printTable(input: TableInput): void {
  const { settings, result, anchor } = input;
  console.log(
    `\nDeploy benchmark (${input.engine}): registry mode, poll ${settings.pollMs / 1000} s with 20% jitter, ${settings.changes} production changes under /predict load (${describeLoad(settings)})\n`,
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
  printRows(rows);
  console.log(`\nfailed requests: ${input.failures}`);

  console.log(
    "\nswaps, s from the production tag's creation (registry.assign's call around it; the service's logs: bundle in place, model loaded; the first answer):",
  );
  printRows([
    ["version", "assign began", "assign returned", "in place", "loaded", "answered"],
    ...input.parts.map((part) => [
      part.version,
      fixed(part.assign_began_s),
      fixed(part.assign_returned_s),
      fixed(part.in_place_s),
      fixed(part.loaded_s),
      fixed(part.answered_s),
    ]),
  ]);

  const stepMedian = (part: keyof FollowerSteps) =>
    median(input.steps.map((step) => step[part])).toFixed(2);
  console.log(
    `the follower's steps done from the host for each new version, without load (median s): stage fingerprint ${stepMedian("fingerprint_s")}, stage holder ${stepMedian("holder_s")}, bundle download ${stepMedian("download_s")}, servable check ${stepMedian("verify_s")}; ${stepMedian("api_requests").replace(/\.00$/, "")} API requests`,
  );

  console.log("\ncold starts, s from `run`: container started / listening / ready");
  const startRows = (label: string, starts: ColdStart[]) =>
    starts.map((start, i) => [
      i === 0 ? label : "",
      fixed(start.engine_s),
      fixed(start.listening_s),
      fixed(start.ready_s),
    ]);
  printRows([
    ["", "started", "listening", "ready"],
    ...startRows("ours, registry reachable", input.coldUp),
    ...startRows("ours, registry unreachable", input.coldDown),
    ...(anchor ? startRows("anchor (first /predict 200)", anchor.starts) : []),
  ]);
  if (anchor) console.log(`\nthe anchor's pickle: ${anchor.pickleMb.toFixed(1)} MB`);
  const engineShare = mean(input.coldUp.map((start) => start.engine_s / start.ready_s));
  console.log(
    `the engine's part of our cold start (run until the container started): ${(engineShare * 100).toFixed(0)}% on average`,
  );

  console.log("\ntargets:");
  for (const target of input.targets) {
    const verdict = target.met === null ? "not measured" : target.met ? "met" : "MISSED";
    console.log(`  ${target.what}: ${verdict}`);
  }
  console.log("");
}

function printRows(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) {
    console.log(
      row
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join("  ")
        .trimEnd(),
    );
  }
}

// `npm run bench -- pipeline [--trees N] [--data PATH] [--skip-act] [--skip-session]`: times the
// whole pipeline on the real data: `npm run pipeline` (every stage in one process), pipeline.yml
// run with act (one job per stage, each setting up Node and the dependencies first:
// act_setup_s_per_job), and a local session as the README runs it (local_act_session_s: from
// `npm run act -- pipeline` to the deployed service answering the new version, `merge 1` in
// between). All run in throwaway clones of the working tree, since the local registry writes git
// tags and branches; act's jobs use the local GitHub as the registry. pipeline.yml runs twice with
// act, on a registry of 10 tags and on one of 2,000: the GitHub API requests each run makes
// (requests_per_run, requests_per_run_2000_tags) show what the registry's size costs. The last
// printed line is one JSON object.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { $ } from "zx";
import { findGoTool } from "../.github/act.ts";
import { runGit } from "../lib/registry/git.ts";
import { cloneWorkingTree } from "../test/e2e/act-harness.ts";
import { archiveTags, importTags } from "../test/support/synthetic-registry.ts";
import { resolveEngine } from "../tools/container/engine.ts";
import { startGitHubStandIn } from "../tools/local-github/server.ts";
import { runWorkflow } from "../tools/local-session/runner.ts";
import { type BenchHelp, BenchUsageError, benchArgs, wholeNumber } from "./support/args.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const DEFAULT_DATA = fileURLToPath(new URL("../../shared/data/housing.csv", import.meta.url));

interface LocalRun {
  total_s: number;
  stages: Record<string, number>;
}

/** Runs `npm run pipeline` in `clone` and reads the per-stage times from its log. */
async function localPipeline(clone: string, data: string, trees: string): Promise<LocalRun> {
  const started = performance.now();
  const output: string[] = [];
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn("npm", ["run", "-s", "pipeline", "--", "--data", data, "--trees", trees], {
      cwd: clone,
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding("utf8");
      stream.on("data", (text: string) => output.push(text));
    }
    child.once("error", reject);
    child.once("close", (code) => resolve(code ?? 1));
  });
  const total_s = (performance.now() - started) / 1000;
  const log = output.join("");
  if (exitCode !== 0) throw new Error(`npm run pipeline exited with ${exitCode}:\n${log}`);
  const stages: Record<string, number> = {};
  for (const match of log.matchAll(/^\[\d+\/\d+\] (\S+) done in ([\d.]+) s/gm)) {
    stages[match[1]] = Number(match[2]);
  }
  return { total_s, stages };
}

/** The steps every job runs before its stage: what `act_setup_s_per_job` measures. */
const SETUP_STEPS = ["Check out the repository", "Set up Node and the dependencies"];

interface ActRunTimes {
  total_s: number;
  jobs: Record<string, { total_s: number; setup_s: number }>;
  /** GitHub API requests (REST and GraphQL) the run made. */
  requests: number;
}

/** Runs pipeline.yml with act in `clone` against a fresh local GitHub holding `tags` old tags. */
async function actPipeline(
  root: string,
  clone: string,
  data: string,
  trees: string,
  tags: number,
): Promise<ActRunTimes> {
  const standIn = await startGitHubStandIn();
  try {
    await runGit(clone, ["push", "-q", standIn.gitDir, "HEAD:refs/heads/main"]);
    const head = (await runGit(clone, ["rev-parse", "HEAD"])).trim();
    await importTags(standIn.gitDir, archiveTags(tags, head));
    const artifactDir = join(root, `artifacts-${tags}`);
    await mkdir(artifactDir, { recursive: true });
    const before = standIn.requests.length;
    const started = performance.now();
    const run = await runWorkflow(
      {
        workflow: "pipeline",
        inputs: { trees },
        repoDir: clone,
        artifactDir,
        // Kept between runs, as a runner's tool cache is: Node and the npm cache stay warm there.
        actionCacheDir: join(REPO, ".bench", "act-cache"),
        github: { apiUrl: standIn.apiUrl, repository: standIn.repository, token: standIn.token },
        data,
      },
      30 * 60_000,
    );
    const total_s = (performance.now() - started) / 1000;
    if (run.exitCode !== 0) throw new Error(`act exited with ${run.exitCode}:\n${run.text}`);
    const jobs = Object.fromEntries(
      [...run.jobs.values()].map((job) => [
        job.jobId,
        {
          total_s: job.seconds,
          setup_s: Number(
            SETUP_STEPS.reduce((sum, step) => sum + (job.steps[step] ?? 0), 0).toFixed(1),
          ),
        },
      ]),
    );
    const requests = standIn.requests
      .slice(before)
      .filter(({ path }) => !path.startsWith("/_local/") && !path.startsWith("/git/")).length;
    return { total_s, jobs, requests };
  } finally {
    await standIn.close();
  }
}

interface SessionTimes {
  /** From `npm run act -- pipeline` to the service answering the new version on /model. */
  total_s: number;
  pipeline_s: number;
  merge_s: number;
  version: string;
}

/**
 * A local session in a fresh clone, as the README runs it: `npm run act -- pipeline trees=N`,
 * then `npm run act -- merge <its PR>`, timed until the deployed service answers the new version;
 * then `down --reset`. act's and podman's caches stay warm between runs, as on a laptop.
 */
async function actSession(root: string, data: string, trees: string): Promise<SessionTimes> {
  const clone = join(root, "session");
  await cloneWorkingTree(REPO, clone);
  await symlink(join(REPO, "node_modules"), join(clone, "node_modules"), "dir");
  const act = (args: string[]) =>
    $({
      cwd: clone,
      env: { ...process.env, HOUSING_CSV: data },
      stdio: ["ignore", "pipe", "inherit"],
      quiet: true,
      nothrow: true,
    })`npm run -s act -- ${args}`;
  try {
    const started = performance.now();
    const pipeline = await act(["pipeline", `trees=${trees}`]);
    const pipelineAt = performance.now();
    const pull = /promotion pull request #(\d+)/.exec(pipeline.stdout)?.[1];
    const version = /house-price (v\d+\.\d+\.\d+): the gate PASSED/.exec(pipeline.stdout)?.[1];
    if (pipeline.exitCode !== 0 || !pull || !version) {
      throw new Error(
        `npm run act -- pipeline exited with ${pipeline.exitCode}:\n${pipeline.stdout}`,
      );
    }
    const merge = await act(["merge", pull]);
    const url = /(http:\/\/127\.0\.0\.1:\d+) serves it/.exec(merge.stdout)?.[1];
    if (merge.exitCode !== 0 || !url) {
      throw new Error(
        `npm run act -- merge ${pull} exited with ${merge.exitCode}:\n${merge.stdout}`,
      );
    }
    // merge returns once the service serves the version; the clock stops at its answer.
    const served = (await (await fetch(`${url}/model`)).json()) as { version?: string };
    const ended = performance.now();
    if (served.version !== version) {
      throw new Error(`${url}/model answers ${served.version}, expected ${version}`);
    }
    return {
      total_s: Number(((ended - started) / 1000).toFixed(1)),
      pipeline_s: Number(((pipelineAt - started) / 1000).toFixed(1)),
      merge_s: Number(((ended - pipelineAt) / 1000).toFixed(1)),
      version,
    };
  } finally {
    await act(["down", "--reset"]);
  }
}

function meanSetup(act: ActRunTimes): number {
  const jobs = Object.values(act.jobs);
  return jobs.reduce((sum, job) => sum + job.setup_s, 0) / Math.max(jobs.length, 1);
}

export const help = {
  about:
    "The whole pipeline on the real data: npm run pipeline per stage, pipeline.yml under act (registries of 10 and 2,000 tags), and the README's local session to a served new version.",
  options: {
    trees: {
      type: "string",
      default: "100",
      value: "N",
      description: "trees of the forest trained",
    },
    data: { type: "string", default: DEFAULT_DATA, value: "PATH", description: "the housing CSV" },
    "skip-act": { type: "boolean", default: false, description: "leave out the act runs" },
    "skip-session": { type: "boolean", default: false, description: "leave out the local session" },
  },
} satisfies BenchHelp;

/** Runs the pipeline benchmark; the last printed line is its JSON result. */
export async function main(args: string[]): Promise<void> {
  const values = benchArgs(help.options, args);
  const trees = String(wholeNumber("trees", values.trees));
  const data = values.data;
  if (!existsSync(data))
    throw new BenchUsageError(`${data}: no such file; pass --data PATH to the housing CSV`);
  const root = await mkdtemp(join(tmpdir(), "bench-pipeline-"));
  try {
    const localClone = join(root, "local");
    await cloneWorkingTree(REPO, localClone);
    // The clone shares this checkout's installed dependencies instead of installing its own.
    await symlink(join(REPO, "node_modules"), join(localClone, "node_modules"), "dir");
    console.error(`local: npm run pipeline -- --trees ${trees} in ${localClone}`);
    const local = await localPipeline(localClone, data, trees);

    let act: ActRunTimes | null = null;
    let act2000: ActRunTimes | null = null;
    const actBinary = await findGoTool("act");
    if (!values["skip-act"] && actBinary) {
      const actClone = join(root, "act");
      await cloneWorkingTree(REPO, actClone);
      console.error(`act: pipeline.yml with trees=${trees} in ${actClone}`);
      act = await actPipeline(root, actClone, data, trees, 10);
      console.error(`act: pipeline.yml again, on a registry of 2,000 tags`);
      act2000 = await actPipeline(root, actClone, data, trees, 2000);
    } else if (!values["skip-act"]) {
      console.error(
        "act: skipped, act is not installed (go install github.com/nektos/act@v0.2.87)",
      );
    }

    let session: SessionTimes | null = null;
    if (!values["skip-session"]) {
      const engine = await resolveEngine();
      if (actBinary && engine) {
        console.error(`session: npm run act -- pipeline trees=${trees}, then merge`);
        session = await actSession(root, data, trees);
      } else {
        console.error(
          `session: skipped, ${actBinary ? "no container engine (podman or docker)" : "act is not installed"}`,
        );
      }
    }

    const rows = [
      ["run", "stage / job", "seconds", "of which setup"],
      ...Object.entries(local.stages).map(([name, s]) => ["local", name, s.toFixed(2), ""]),
      ["local", "total (npm run pipeline)", local.total_s.toFixed(2), ""],
      ...Object.entries(act?.jobs ?? {}).map(([name, job]) => [
        "act",
        name,
        job.total_s.toFixed(0),
        job.setup_s.toFixed(1),
      ]),
      ...(act ? [["act", "total (pipeline.yml)", act.total_s.toFixed(1), ""]] : []),
      ...(act ? [["act", "GitHub API requests, 10 tags", String(act.requests), ""]] : []),
      ...(act2000
        ? [["act", "GitHub API requests, 2,000 tags", String(act2000.requests), ""]]
        : []),
      ...(session
        ? [
            ["session", "npm run act -- pipeline", session.pipeline_s.toFixed(1), ""],
            ["session", "npm run act -- merge (until served)", session.merge_s.toFixed(1), ""],
            ["session", "total (local_act_session_s)", session.total_s.toFixed(1), ""],
          ]
        : []),
    ];
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("  "));
    console.log(
      JSON.stringify({
        trees: Number(trees),
        local_total_s: Number(local.total_s.toFixed(2)),
        act_total_s: act ? Number(act.total_s.toFixed(1)) : null,
        act_setup_s_per_job: act ? Number(meanSetup(act).toFixed(1)) : null,
        requests_per_run: act?.requests ?? null,
        requests_per_run_2000_tags: act2000?.requests ?? null,
        local_act_session_s: session?.total_s ?? null,
        stages: Object.fromEntries(
          Object.entries(local.stages).map(([name, s]) => [name, Number(s.toFixed(2))]),
        ),
        act_jobs: act?.jobs ?? null,
        local_act_session: session,
        // The machine is shared: its 1-minute load average as the run ended, beside the times.
        load_1m: Number(loadavg()[0].toFixed(2)),
      }),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

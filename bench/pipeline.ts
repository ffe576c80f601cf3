// `npm run bench -- pipeline [--trees N] [--data PATH] [--skip-act]`: times the whole pipeline on
// the real data twice: `npm run pipeline` (every stage in one process) and pipeline.yml run with
// act (one job per stage, each setting up Node and the dependencies first: act_setup_s_per_job).
// Both run in throwaway clones of the working tree, since the local registry writes git tags and
// branches; act's jobs use the GitHub REST stand-in as the registry. The last printed line is one
// JSON object.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { findGoTool } from "../.github/act.ts";
import { runGit } from "../lib/registry/git.ts";
import { cloneWorkingTree } from "../test/e2e/act-harness.ts";
import { startGitHubStandIn } from "../tools/local-github/server.ts";
import { runWorkflow } from "../tools/local-session/runner.ts";

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
}

/** Runs pipeline.yml with act in `clone` against a fresh GitHub stand-in. */
async function actPipeline(
  root: string,
  clone: string,
  data: string,
  trees: string,
): Promise<ActRunTimes> {
  const standIn = await startGitHubStandIn();
  try {
    await runGit(clone, ["push", "-q", standIn.gitDir, "HEAD:refs/heads/main"]);
    const artifactDir = join(root, "artifacts");
    await mkdir(artifactDir, { recursive: true });
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
    return { total_s, jobs };
  } finally {
    await standIn.close();
  }
}

function meanSetup(act: ActRunTimes): number {
  const jobs = Object.values(act.jobs);
  return jobs.reduce((sum, job) => sum + job.setup_s, 0) / Math.max(jobs.length, 1);
}

/** Runs the pipeline benchmark; the last printed line is its JSON result. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      trees: { type: "string", default: "100" },
      data: { type: "string", default: DEFAULT_DATA },
      "skip-act": { type: "boolean", default: false },
    },
  });
  const data = values.data;
  if (!existsSync(data))
    throw new Error(`${data}: no such file; pass --data PATH to the housing CSV`);
  const root = await mkdtemp(join(tmpdir(), "bench-pipeline-"));
  try {
    const localClone = join(root, "local");
    await cloneWorkingTree(REPO, localClone);
    // The clone shares this checkout's installed dependencies instead of installing its own.
    await symlink(join(REPO, "node_modules"), join(localClone, "node_modules"), "dir");
    console.error(`local: npm run pipeline -- --trees ${values.trees} in ${localClone}`);
    const local = await localPipeline(localClone, data, values.trees);

    let act: ActRunTimes | null = null;
    const actBinary = await findGoTool("act");
    if (!values["skip-act"] && actBinary) {
      const actClone = join(root, "act");
      await cloneWorkingTree(REPO, actClone);
      console.error(`act: pipeline.yml with trees=${values.trees} in ${actClone}`);
      act = await actPipeline(root, actClone, data, values.trees);
    } else if (!values["skip-act"]) {
      console.error(
        "act: skipped, act is not installed (go install github.com/nektos/act@v0.2.87)",
      );
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
    ];
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("  "));
    console.log(
      JSON.stringify({
        trees: Number(values.trees),
        local_total_s: Number(local.total_s.toFixed(2)),
        act_total_s: act ? Number(act.total_s.toFixed(1)) : null,
        act_setup_s_per_job: act ? Number(meanSetup(act).toFixed(1)) : null,
        stages: Object.fromEntries(
          Object.entries(local.stages).map(([name, s]) => [name, Number(s.toFixed(2))]),
        ),
        act_jobs: act?.jobs ?? null,
      }),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

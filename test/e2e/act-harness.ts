// What the workflow tests need around act: a throwaway clone holding the working tree, the GitHub
// stand-in holding its commits, and act's JSON log read back as job results and outputs.
import { copyFile, lstat, mkdir, readlink, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type ActOptions, actInvocation, findGoTool, runAct } from "../../.github/act.ts";
import { runGit } from "../../lib/registry/git.ts";

const IDENTITY_ENV = {
  GIT_AUTHOR_NAME: "e2e",
  GIT_AUTHOR_EMAIL: "e2e@example.invalid",
  GIT_COMMITTER_NAME: "e2e",
  GIT_COMMITTER_EMAIL: "e2e@example.invalid",
};

/**
 * Clones `source` into `dest` and commits its working tree there (tracked and untracked files
 * that git does not ignore, deletions included), so the clone's HEAD is what is on disk now.
 */
export async function cloneWorkingTree(source: string, dest: string): Promise<string> {
  await runGit(dirname(dest), ["clone", "-q", "--no-tags", source, dest]);
  const list = async (flag: string) =>
    (await runGit(source, ["ls-files", "-z", flag, "--exclude-standard"]))
      .split("\0")
      .filter(Boolean);
  const deleted = new Set(await list("--deleted"));
  const present = [...new Set([...(await list("--cached")), ...(await list("--others"))])].filter(
    (file) => !deleted.has(file),
  );
  for (const file of present) {
    const from = join(source, file);
    const to = join(dest, file);
    await mkdir(dirname(to), { recursive: true });
    await rm(to, { force: true });
    if ((await lstat(from)).isSymbolicLink()) await symlink(await readlink(from), to);
    else await copyFile(from, to);
  }
  for (const file of deleted) await rm(join(dest, file), { force: true });
  const git = (args: string[]) => runGit(dest, args, { env: IDENTITY_ENV });
  await git(["add", "-A"]);
  await git(["commit", "-q", "--allow-empty", "--no-verify", "-m", "working tree under test"]);
  return (await git(["rev-parse", "HEAD"])).trim();
}

/**
 * A Go-installed tool tests need (act, actionlint): its path, or null after printing why `tests`
 * skip. Under CI=true a missing tool throws instead: a CI run must not pass with fewer tests than
 * it shows.
 */
export async function requiredGoTool(
  name: string,
  install: string,
  tests: string,
): Promise<string | null> {
  const path = await findGoTool(name);
  if (path) return path;
  const reason = `${name} is not installed (${install})`;
  if (process.env.CI === "true") throw new Error(`${tests}: ${reason}, and CI=true`);
  console.warn(`${tests}: skipped, ${reason}`);
  return null;
}

/** One job of an act run, as its JSON log tells it. */
export interface JobLog {
  /** The job id, with the matrix values for matrix jobs (`train {"shard":1}`). */
  key: string;
  jobId: string;
  matrix: Record<string, unknown>;
  /** success or failure; null when the log has no result (the job never finished). */
  result: string | null;
  outputs: Record<string, string>;
  /** The job's log messages, in order. */
  messages: string[];
  /** Wall-clock span of the job's log, in seconds. */
  seconds: number;
  /** Duration of each finished step, in seconds, by step name (`Post <name>` for post steps). */
  steps: Record<string, number>;
}

export interface WorkflowRun {
  exitCode: number;
  runId: string;
  jobs: Map<string, JobLog>;
  /** The whole log as text, for failure messages. */
  text: string;
}

interface ActLogEntry {
  jobID?: string;
  matrix?: Record<string, unknown>;
  msg?: string;
  jobResult?: string;
  command?: string;
  name?: string;
  arg?: string;
  time?: string;
  step?: string;
  /** Pre, Main or Post: a step's post stage reports under the step's own name. */
  stage?: string;
  stepResult?: string;
  /** Nanoseconds, on a step's result line. */
  executionTime?: number;
}

/** Reads act's `--json` log into jobs with their results, outputs and messages. */
export function parseActLog(lines: string[]): Map<string, JobLog> {
  const jobs = new Map<string, JobLog>();
  const spans = new Map<string, { first: number; last: number }>();
  for (const line of lines) {
    let entry: ActLogEntry;
    try {
      entry = JSON.parse(line) as ActLogEntry;
    } catch {
      continue;
    }
    if (!entry.jobID) continue;
    const matrix = entry.matrix ?? {};
    const key = Object.keys(matrix).length
      ? `${entry.jobID} ${JSON.stringify(matrix)}`
      : entry.jobID;
    let job = jobs.get(key);
    if (!job) {
      job = {
        key,
        jobId: entry.jobID,
        matrix,
        result: null,
        outputs: {},
        messages: [],
        seconds: 0,
        steps: {},
      };
      jobs.set(key, job);
    }
    const time = entry.time ? Date.parse(entry.time) : Number.NaN;
    if (Number.isFinite(time)) {
      const span = spans.get(key) ?? { first: time, last: time };
      span.last = Math.max(span.last, time);
      spans.set(key, span);
      job.seconds = (span.last - span.first) / 1000;
    }
    if (entry.stepResult && entry.step && entry.executionTime !== undefined) {
      const name =
        !entry.stage || entry.stage === "Main" ? entry.step : `${entry.stage} ${entry.step}`;
      job.steps[name] = entry.executionTime / 1e9;
    }
    if (entry.msg) job.messages.push(entry.msg);
    if (entry.jobResult) job.result = entry.jobResult;
    if (entry.command === "set-output" && entry.name) job.outputs[entry.name] = entry.arg ?? "";
  }
  return jobs;
}

/** Runs a workflow with act (JSON log), in `options.repoDir`, and reads back its jobs. */
export async function runWorkflow(
  options: Omit<ActOptions, "json">,
  timeoutMs: number,
): Promise<WorkflowRun> {
  const invocation = await actInvocation({ ...options, json: true });
  let timer: NodeJS.Timeout | undefined;
  const run = await runAct(
    invocation,
    options.repoDir,
    () => {},
    (child) => {
      // Bounded: a hung job must not hold the suite forever.
      timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    },
  );
  clearTimeout(timer);
  const jobs = parseActLog(run.lines);
  const text = run.lines
    .map((line) => {
      try {
        const entry = JSON.parse(line) as ActLogEntry;
        return `[${entry.jobID ?? "act"}] ${entry.msg ?? ""}`.trimEnd();
      } catch {
        return line;
      }
    })
    .join("\n");
  return { exitCode: run.exitCode, runId: run.runId, jobs, text };
}

/** The jobs of `run` whose id is `jobId` (several for a matrix). */
export function jobsOf(run: WorkflowRun, jobId: string): JobLog[] {
  return [...run.jobs.values()].filter((job) => job.jobId === jobId);
}

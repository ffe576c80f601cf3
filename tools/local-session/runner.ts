// Running the workflows the local GitHub says GitHub would start, with act: its trigger model
// turns pushes, pull requests, dispatches and completed runs into pending runs (with the event
// payload GitHub would send); each is run with act in a clone at its commit, with a GITHUB_TOKEN
// minted for that run (the jobs' `permissions:` apply), and reported back as completed with its
// jobs' conclusions, which become the commit's check runs and may start further runs.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  type ActEvent,
  type ActOptions,
  actInvocation,
  newRunId,
  runAct,
} from "../../.github/act.ts";
import { runGit } from "../../lib/registry/git.ts";

/** One job of an act run, as its JSON log tells it. */
export interface JobLog {
  /** The job id, with the matrix values for matrix jobs (`train {"shard":1}`). */
  key: string;
  jobId: string;
  matrix: Record<string, unknown>;
  /** success or failure; null when the log has no result (the job never finished or was skipped). */
  result: string | null;
  outputs: Record<string, string>;
  /** The job's log messages, in order. */
  messages: string[];
  /** Wall-clock span of the job's log, in seconds. */
  seconds: number;
  /** Duration of each finished step, in seconds, by step name (`Post <name>` for post steps). */
  steps: Record<string, number>;
  /** The steps that failed, by name, in order. */
  failedSteps: string[];
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
        failedSteps: [],
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
      if (entry.stepResult === "failure" && !job.failedSteps.includes(name))
        job.failedSteps.push(name);
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
  onLine: (line: string) => void = () => {},
): Promise<WorkflowRun> {
  const invocation = await actInvocation({ ...options, json: true });
  let timer: NodeJS.Timeout | undefined;
  const run = await runAct(invocation, options.repoDir, onLine, (child) => {
    // Bounded: a hung job must not hold the caller forever.
    timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
  });
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

/** A run the local GitHub's trigger model started (GET /_local/runs). */
export interface PendingRun {
  id: number;
  /** `.github/workflows/<file>`. */
  workflow: string;
  name: string;
  event: string;
  ref: string;
  sha: string;
  head_branch: string | null;
  cause: { kind: string; actor: string; login: string };
  payload: Record<string, unknown>;
}

/** What the local GitHub is and how to act on it as its owner. */
export interface LocalHub {
  apiUrl: string;
  repository: string;
  /** The bare repository (runs are cloned from it). */
  gitDir: string;
  /** The owner's token: reads the runs and mints each run's GITHUB_TOKEN. */
  ownerToken: string;
}

export interface RunnerOptions {
  hub: LocalHub;
  /** Clones, artifacts and act's caches go under it. */
  workDir: string;
  /** A local copy of the housing CSV for the ingest job. */
  data?: string;
  act?: string;
  /** Repository variables (`vars.*`). */
  vars?: Record<string, string>;
  timeoutMs?: number;
  /** Told about each run as it starts and ends. */
  onRun?: (run: PendingRun, phase: "start" | "end", result?: CompletedRun) => void;
  /** Each act log line. */
  onLine?: (run: PendingRun, line: string) => void;
  /** Stop after this many runs (a guard against a loop of runs starting runs). */
  maxRuns?: number;
  /** act's action cache (the jobs' workspaces and the runner's tool cache); default
   * `<workDir>/act-cache`, null for act's own (~/.cache/act), which every act run shares. */
  actionCacheDir?: string | null;
  /** Delete each run's clone when it has finished. */
  removeClones?: boolean;
}

export interface CompletedRun {
  run: PendingRun;
  workflowRun: WorkflowRun;
  conclusion: "success" | "failure";
}

/** A request to the local GitHub as its owner; throws naming the request and the answer. */
export async function hubRequest<T>(
  hub: LocalHub,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${hub.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `token ${hub.ownerToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`local GitHub ${method} ${path} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** The runs GitHub would have started and nobody has run yet, oldest first. */
export async function pendingRuns(hub: LocalHub): Promise<PendingRun[]> {
  const runs = await hubRequest<PendingRun[]>(hub, "GET", "/_local/runs?status=pending");
  return runs.sort((a, b) => a.id - b.id);
}

/** Runs one pending run with act and reports it completed. */
export async function runPending(run: PendingRun, options: RunnerOptions): Promise<CompletedRun> {
  const { hub } = options;
  await hubRequest(hub, "POST", `/_local/runs/${run.id}`, { status: "in_progress" });
  options.onRun?.(run, "start");
  const runDir = join(options.workDir, `run-${run.id}`);
  await rm(runDir, { recursive: true, force: true });
  await mkdir(join(options.workDir, "artifacts"), { recursive: true });
  let workflowRun: WorkflowRun;
  try {
    // The run's own commit, as GitHub checks it out: a clone of the repository at `sha`.
    await runGit(options.workDir, ["clone", "-q", hub.gitDir, runDir]);
    await runGit(runDir, ["checkout", "-q", "--detach", run.sha]);
    const token = (
      await hubRequest<{ token: string }>(hub, "POST", "/_local/tokens", {
        kind: "github_token",
        workflow: run.workflow,
        ref: run.sha,
        runId: run.id,
      })
    ).token;
    workflowRun = await runWorkflow(
      {
        workflow: run.workflow.replace(/^\.github\/workflows\//, ""),
        event: run.event as ActEvent,
        payload: run.payload,
        repoDir: runDir,
        artifactDir: join(options.workDir, "artifacts"),
        actionCacheDir:
          options.actionCacheDir === null
            ? undefined
            : (options.actionCacheDir ?? join(options.workDir, "act-cache")),
        runId: newRunId(),
        act: options.act,
        github: { apiUrl: hub.apiUrl, repository: hub.repository, token },
        data: options.data,
        vars: options.vars,
      },
      options.timeoutMs ?? 20 * 60_000,
      (line) => options.onLine?.(run, line),
    );
  } catch (error) {
    await hubRequest(hub, "POST", `/_local/runs/${run.id}`, {
      status: "completed",
      conclusion: "failure",
      jobs: [],
    });
    throw error;
  } finally {
    if (options.removeClones) await rm(runDir, { recursive: true, force: true });
  }
  const jobs = [...workflowRun.jobs.values()]
    .filter((job) => job.result !== null)
    .map((job) => ({ name: job.key, conclusion: job.result as string }));
  const conclusion =
    workflowRun.exitCode === 0 && jobs.every((job) => job.conclusion === "success")
      ? "success"
      : "failure";
  await hubRequest(hub, "POST", `/_local/runs/${run.id}`, {
    status: "completed",
    conclusion,
    jobs,
  });
  const completed = { run, workflowRun, conclusion } as const;
  options.onRun?.(run, "end", completed);
  return completed;
}

/** Runs, one at a time, every run GitHub would start, including the runs those runs start,
 * until none is pending. */
export async function runPendingRuns(options: RunnerOptions): Promise<CompletedRun[]> {
  const done: CompletedRun[] = [];
  const limit = options.maxRuns ?? 20;
  for (;;) {
    const [next] = await pendingRuns(options.hub);
    if (!next) return done;
    if (done.length >= limit) {
      throw new Error(
        `stopped after ${limit} runs: runs keep starting runs (${next.workflow} by ${next.event})`,
      );
    }
    done.push(await runPending(next, options));
  }
}

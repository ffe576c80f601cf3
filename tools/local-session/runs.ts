// Running, with act, what the local GitHub says GitHub would start now: one log file per run
// (`.local-github/runs/<id>-<workflow>.log`), a line per job as it finishes, and for a failed run
// the job, the step and the log file to read.
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { relative } from "node:path";
import type { RunningHub } from "./hub.ts";
import { runLogPath, type SessionPaths } from "./paths.ts";
import { type CompletedRun, type JobLog, runPendingRuns } from "./runner.ts";

export interface RunContext {
  hub: RunningHub;
  paths: SessionPaths;
  /** The housing CSV the ingest job copies. */
  data?: string;
  act?: string;
  print: (line: string) => void;
}

/** A path as the user would type it from the current folder. */
export function shown(path: string): string {
  const near = relative(process.cwd(), path);
  return near.startsWith("..") ? path : near;
}

/** `pipeline.yml` from `.github/workflows/pipeline.yml`. */
export function workflowFile(run: { workflow: string }): string {
  return run.workflow.replace(/^.*\//, "");
}

/** `[job] message` for a line of act's JSON log (other lines as they are). */
function logText(line: string): string {
  try {
    const entry = JSON.parse(line) as { jobID?: string; msg?: string };
    return `[${entry.jobID ?? "act"}] ${entry.msg ?? ""}`.trimEnd();
  } catch {
    return line;
  }
}

/** Runs, one at a time, every run GitHub would start now and the runs those start. */
export async function runWhatGitHubStarts(context: RunContext): Promise<CompletedRun[]> {
  const { paths, print } = context;
  await mkdir(paths.runsDir, { recursive: true });
  const logs = new Map<number, { stream: WriteStream; started: number; jobs: Set<string> }>();
  const done = await runPendingRuns({
    hub: context.hub,
    workDir: paths.workDir,
    data: context.data,
    act: context.act,
    // act's own action cache: Node and the dependencies stay warm between sessions and clones.
    actionCacheDir: null,
    removeClones: true,
    onRun(run, phase, result) {
      const log = runLogPath(paths, run);
      if (phase === "start") {
        logs.set(run.id, { stream: createWriteStream(log), started: Date.now(), jobs: new Set() });
        print(
          `run #${run.id} ${workflowFile(run)} (${run.event}${run.head_branch ? ` on ${run.head_branch}` : ""}): log ${shown(log)}`,
        );
        return;
      }
      const state = logs.get(run.id);
      state?.stream.end();
      const seconds = state ? Math.round((Date.now() - state.started) / 1000) : 0;
      print(`run #${run.id} ${workflowFile(run)}: ${result?.conclusion} in ${seconds} s`);
    },
    onLine(run, line) {
      const state = logs.get(run.id);
      if (!state) return;
      state.stream.write(`${logText(line)}\n`);
      let entry: { jobID?: string; jobResult?: string; matrix?: Record<string, unknown> };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.jobID && entry.jobResult) {
        const matrix =
          entry.matrix && Object.keys(entry.matrix).length
            ? ` ${JSON.stringify(entry.matrix)}`
            : "";
        const key = `${entry.jobID}${matrix}`;
        if (!state.jobs.has(key)) {
          state.jobs.add(key);
          print(`  ${entry.jobResult === "success" ? "ok    " : "FAILED"} ${key}`);
        }
      }
    },
  });
  for (const state of logs.values()) state.stream.end();
  return done;
}

/** Why a run failed: each failed job with its failed steps, its last messages, and the log file. */
export function failureOf(paths: SessionPaths, done: CompletedRun): string {
  const log = shown(runLogPath(paths, done.run));
  const failed = [...done.workflowRun.jobs.values()].filter((job) => job.result === "failure");
  const lines = [
    `${workflowFile(done.run)} run #${done.run.id} (${done.run.event}) failed${failed.length ? "" : ` (act exited with ${done.workflowRun.exitCode})`}:`,
  ];
  for (const job of failed) {
    const steps = job.failedSteps.filter((step) => !step.startsWith("Post "));
    lines.push(
      `  job "${job.key}", step ${steps.length ? steps.map((step) => `"${step}"`).join(", ") : "(none recorded)"}`,
    );
    for (const message of lastMessages(job)) lines.push(`    ${message}`);
  }
  lines.push(`  log: ${log}`);
  return lines.join("\n");
}

/** The job's last few non-empty messages before its result: where the error is. */
function lastMessages(job: JobLog, count = 6): string[] {
  return job.messages
    .flatMap((message) => message.split("\n"))
    .map((message) => message.trimEnd())
    .filter((message) => message.trim() && !/^\s*(✅|❌|⭐|🏁)/u.test(message))
    .slice(-count);
}

// Runs one side of a benchmark in its own process: each side gets the machine to itself and its
// own peak memory. The side prints one JSON object as its last stdout line; its stderr shows.
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { $ } from "zx";
import { BENCH_DIR, REPO } from "./paths.ts";

const TIME = "/usr/bin/time";
const TASKSET = "/usr/bin/taskset";

export interface ChildOptions {
  /** Kill the child after this long; the run then reports `timedOut` instead of a result. */
  limitMs?: number;
  /** Run the child on CPU 0 only (with taskset), for one-core timings. */
  oneCore?: boolean;
  env?: NodeJS.ProcessEnv;
}

export type ChildRun<T> =
  | {
      timedOut: false;
      result: T;
      /** Wall time of the whole process: start-up, imports and exit included. */
      wall_s: number;
      /** Peak RSS of the process and the children it waited for, from GNU time; else null. */
      peak_rss_mb: number | null;
    }
  | { timedOut: true };

/** Runs `command` and parses the JSON object on its last stdout line. */
export async function runJsonChild<T>(
  command: string[],
  options: ChildOptions = {},
): Promise<ChildRun<T>> {
  if (options.oneCore && !existsSync(TASKSET)) {
    throw new Error(`${TASKSET} is missing: one-core timings need it (Debian: util-linux)`);
  }
  await mkdir(BENCH_DIR, { recursive: true });
  const rssFile = join(BENCH_DIR, `rss-${process.pid}.txt`);
  const timed = existsSync(TIME);
  const full = [
    ...(timed ? [TIME, "-f", "%M", "-o", rssFile] : []),
    ...(options.oneCore ? [TASKSET, "-c", "0"] : []),
    ...command,
  ];
  const started = performance.now();
  const run = await $({
    cwd: REPO,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "inherit"],
    nothrow: true,
    quiet: true,
    timeout: options.limitMs,
    timeoutSignal: "SIGKILL",
  })`${full}`;
  const wall_s = (performance.now() - started) / 1000;
  const rss = timed ? await readFile(rssFile, "utf8").catch(() => "") : "";
  await rm(rssFile, { force: true });
  if (run.signal === "SIGKILL" && options.limitMs !== undefined) return { timedOut: true };
  if (!run.ok) {
    throw new Error(
      `${command.join(" ")} failed (exit ${run.exitCode ?? run.signal}):\n${run.stdout.trim()}`,
    );
  }
  // GNU time's %M is the peak RSS in KiB; its file may also hold a "Command exited" line.
  const kib = Number(rss.trim().split("\n").at(-1));
  return {
    timedOut: false,
    result: lastJsonLine<T>(command, run.stdout),
    wall_s,
    peak_rss_mb: timed && Number.isFinite(kib) ? kib / 1024 : null,
  };
}

/** Like runJsonChild, for a child that must finish: a timeout is an error. */
export async function runSide<T>(command: string[], options: ChildOptions = {}) {
  const run = await runJsonChild<T>(command, options);
  if (run.timedOut) throw new Error(`${command.join(" ")} did not finish in time`);
  return run;
}

function lastJsonLine<T>(command: string[], stdout: string): T {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${command.join(" ")}: its last line is not JSON: "${line}"`);
  }
}

// The deploy bench's load in a process of its own. In the bench's process it would share one
// event loop with the local GitHub and the registry client: a busy load generator then delays
// the stand-in's answers to the container's polls and the assignment itself, which is the
// bench's doing, not the service's.
//
// The child (`node bench/deploy/load-process.ts URL CONNECTIONS RATE`, the body on stdin's first line)
// prints one JSON line per model_version when it first answers ({"version","at"}, at in epochMs),
// stops when stdin says "stop", then prints {"tally": …} and exits.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type LoadOptions, type LoadTally, startVersionLoad, type VersionLoad } from "./load.ts";

type ChildLine = { version: string; at: number } | { tally: LoadTally } | { error: string };

/** Starts the load in a child process; the same interface as startVersionLoad. */
export function startLoadProcess(options: LoadOptions): VersionLoad {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      options.url,
      String(options.connections),
      String(options.rate ?? 0),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  child.stdin.write(`${options.body.replace(/\n/g, " ")}\n`);
  const firstSeen = new Map<string, number>();
  const waiters = new Map<string, Array<(at: number) => void>>();
  let failure: Error | null = null;
  const failed = new Set<(error: Error) => void>();
  const fail = (error: Error) => {
    failure ??= error;
    for (const reject of failed) reject(error);
  };
  let finish: (tally: LoadTally) => void = () => {};
  const finished = new Promise<LoadTally>((resolve, reject) => {
    finish = resolve;
    failed.add(reject);
  });
  finished.catch(() => undefined);

  createInterface({ input: child.stdout }).on("line", (text) => {
    const line = JSON.parse(text) as ChildLine;
    if ("version" in line) {
      firstSeen.set(line.version, line.at);
      for (const resolve of waiters.get(line.version) ?? []) resolve(line.at);
      waiters.delete(line.version);
    } else if ("tally" in line) {
      finish(line.tally);
    } else {
      fail(new Error(`the load process: ${line.error}`));
    }
  });
  child.once("exit", (code, signal) =>
    fail(new Error(`the load process ended (${signal ?? `exit ${code}`}) before reporting`)),
  );

  return {
    firstSeen,
    waitForVersion(version, timeoutMs) {
      const seen = firstSeen.get(version);
      if (seen !== undefined) return Promise.resolve(seen);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          failed.delete(reject);
          reject(new Error(`no answer carried ${version} within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        failed.add(reject);
        const list = waiters.get(version) ?? [];
        list.push((at) => {
          clearTimeout(timer);
          failed.delete(reject);
          resolve(at);
        });
        waiters.set(version, list);
      });
    },
    async stop() {
      if (child.exitCode === null) child.stdin.end("stop\n");
      return finished;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, connections, rate] = process.argv.slice(2);
  const print = (line: ChildLine) => process.stdout.write(`${JSON.stringify(line)}\n`);
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const body = (await lines.next()).value as string;
  const load = startVersionLoad({
    url,
    body,
    connections: Number(connections),
    rate: Number(rate),
  });
  const reported = new Set<string>();
  // The parent learns of each new version within 20 ms; the time it carries is the answer's own.
  const reportNew = () => {
    for (const [version, at] of load.firstSeen) {
      if (!reported.has(version)) {
        reported.add(version);
        print({ version, at });
      }
    }
  };
  const report = setInterval(reportNew, 20);
  // "stop", or stdin closing because the parent went away.
  await lines.next();
  clearInterval(report);
  try {
    const tally = await load.stop();
    reportNew();
    print({ tally });
  } catch (error) {
    print({ error: (error as Error).message });
  }
  process.exit(0);
}

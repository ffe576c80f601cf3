// The local GitHub of a session, running in the background: found through the server.json it
// keeps while it runs, started when it is not, configured once as a real repository should be
// (README "Set up on GitHub"), and stopped by `down`.
import { spawn } from "node:child_process";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { UsageError } from "../../lib/cli/program.ts";
import { REPO, readJson, readSession, type SessionPaths, updateSession } from "./paths.ts";
import { hubRequest, type LocalHub } from "./runner.ts";

const MAIN = join(REPO, "tools", "local-github", "main.ts");
const START_TIMEOUT_MS = 30_000;

/** What tools/local-github/main.ts writes to server.json while it runs. */
interface ServerInfo {
  apiUrl: string;
  repository: string;
  gitDir: string;
  cloneUrl: string;
  stateDir: string;
  tokenFile: string;
  pid: number;
}

export interface RunningHub extends LocalHub {
  pid: number;
  /** `<apiUrl>/html/<owner>/<repo>`: where GitHub's html_url values point. */
  htmlUrl: string;
}

/** Whether a process with this id exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function hubOf(info: ServerInfo): Promise<RunningHub> {
  const ownerToken = (await readFile(info.tokenFile, "utf8")).trim();
  return {
    apiUrl: info.apiUrl,
    repository: info.repository,
    gitDir: info.gitDir,
    ownerToken,
    pid: info.pid,
    htmlUrl: `${info.apiUrl}/html/${info.repository}`,
  };
}

/** The local GitHub of `paths` when it runs and answers; null otherwise (a stale record is removed). */
export async function runningHub(paths: SessionPaths): Promise<RunningHub | null> {
  const info = await readJson<ServerInfo>(paths.serverJson);
  if (!info) return null;
  if (alive(info.pid)) {
    const hub = await hubOf(info);
    const answers = await hubRequest(hub, "GET", "/_local/settings").then(
      () => true,
      () => false,
    );
    if (answers) return hub;
  }
  await rm(paths.serverJson, { force: true });
  return null;
}

/** The last lines of a log file, for error messages. */
export async function tail(path: string, lines = 15): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * The running local GitHub, started in the background first when it is not running (its state
 * persists in `paths.stateDir`). `port` pins the API port (a running service expects it there).
 */
export async function ensureHub(
  paths: SessionPaths,
  options: { port?: number; log?: (line: string) => void } = {},
): Promise<{ hub: RunningHub; started: boolean }> {
  const running = await runningHub(paths);
  if (running) return { hub: running, started: false };
  await mkdir(paths.stateDir, { recursive: true });
  const log = await open(paths.serverLog, "a");
  const args = ["--state-dir", paths.stateDir];
  if (options.port) args.push("--port", String(options.port));
  // Detached, with its output in a file: it outlives this command, until `down`.
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: REPO,
    detached: true,
    stdio: ["ignore", log.fd, log.fd],
  });
  child.unref();
  await log.close();
  let exited: number | null = null;
  child.once("exit", (code) => {
    exited = code ?? 1;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== null) {
      const output = await tail(paths.serverLog, 5);
      if (/port in use/.test(output)) {
        throw new UsageError(
          `the local GitHub cannot listen on port ${options.port}: it is in use. A local service still expects it there; stop what uses the port, or stop the service (npm run act -- down) and run again.\n${output}`,
        );
      }
      throw new Error(
        `the local GitHub stopped at start (exit ${exited}); its log ${paths.serverLog} ends:\n${output}`,
      );
    }
    const info = await readJson<ServerInfo>(paths.serverJson).catch(() => null);
    if (info && info.pid === child.pid) {
      const hub = await hubOf(info);
      options.log?.(
        `local GitHub: started at ${hub.apiUrl} (pid ${hub.pid}, state in ${paths.stateDir})`,
      );
      await configure(paths, hub);
      return { hub, started: true };
    }
    await sleep(100);
  }
  throw new Error(
    `the local GitHub did not start within ${START_TIMEOUT_MS / 1000} s; its log ${paths.serverLog} ends:\n${await tail(paths.serverLog)}`,
  );
}

/**
 * The repository settings "Set up on GitHub" asks of a real repository, made once with GitHub's
 * own endpoints: GitHub Actions may create pull requests (promote opens the PR with GITHUB_TOKEN),
 * the default GITHUB_TOKEN stays read-only, and releases are immutable.
 */
async function configure(paths: SessionPaths, hub: RunningHub): Promise<void> {
  if ((await readSession(paths)).configured) return;
  const repo = `/repos/${hub.repository}`;
  await hubRequest(hub, "PUT", `${repo}/actions/permissions/workflow`, {
    default_workflow_permissions: "read",
    can_approve_pull_request_reviews: true,
  });
  await hubRequest(hub, "PUT", `${repo}/immutable-releases`);
  await updateSession(paths, (record) => ({ ...record, configured: true }));
}

/** Stops the local GitHub of `paths` if it runs; true when it did. */
export async function stopHub(paths: SessionPaths): Promise<boolean> {
  const info = await readJson<ServerInfo>(paths.serverJson);
  if (!info) return false;
  if (alive(info.pid)) {
    process.kill(info.pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (alive(info.pid) && Date.now() < deadline) await sleep(100);
    if (alive(info.pid)) process.kill(info.pid, "SIGKILL");
  }
  await rm(paths.serverJson, { force: true });
  return true;
}

// A local session: what `npm run act -- pipeline | prs | merge | rollback | status | down` do.
// Each command acts as the repository's owner would on github.com (push, dispatch, merge, open a
// rollback pull request), then runs with act exactly what the local GitHub's trigger model says
// GitHub would start, until nothing is left to run.
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../../lib/cli/program.ts";
import { formatTable } from "../../lib/cli/table.ts";
import { SAMPLE_RECORD } from "../../lib/schema/features.ts";
import { DEFAULT_DATASET_PATH } from "../../stages/0-fetch/fetch.ts";
import { engineEnv, resolveEngine } from "../container/engine.ts";
import { ensureHub, type RunningHub, runningHub, stopHub } from "./hub.ts";
import { REPO, readSession, runLogPath, type SessionPaths, updateSession } from "./paths.ts";
import { requireAct, resolveDataset } from "./preflight.ts";
import { type PushOutcome, pushHead } from "./push.ts";
import { type CompletedRun, hubRequest, jobsOf, pendingRuns } from "./runner.ts";
import { failureOf, runWhatGitHubStarts, shown, workflowFile } from "./runs.ts";
import {
  cacheVolume,
  runningService,
  type ServiceRecord,
  serviceModel,
  startService,
  stopService,
  waitForService,
} from "./service.ts";
import { sh } from "./shell.ts";

/** Where a command writes: results to `out` (stdout), progress and notes to `err` (stderr). */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const consoleIo: Io = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** A run GitHub started failed: the message names each job, step and log file. */
export class RunFailed extends Error {}

interface Pull {
  number: number;
  title: string;
  state: string;
  merged_at: string | null;
  html_url: string;
  head: { ref: string; sha: string };
}

interface Check {
  name: string;
  conclusion: string | null;
}

/** The REST API of the session's repository, as its owner. */
function repoApi(hub: RunningHub) {
  return <T>(method: string, path: string, body?: unknown) =>
    hubRequest<T>(hub, method, `/repos/${hub.repository}${path}`, body);
}

/** The running local GitHub, started when it is not, on the port a running service expects. */
async function hubFor(paths: SessionPaths, io: Io): Promise<RunningHub> {
  const service = await runningService(paths);
  const port = service ? Number(new URL(service.apiUrl).port) : undefined;
  return (await ensureHub(paths, { port, log: io.err })).hub;
}

/** The local GitHub of an existing session (started when its state is there); null without one. */
async function existingHub(paths: SessionPaths, io: Io): Promise<RunningHub | null> {
  if (!existsSync(join(paths.stateDir, "state.json"))) return null;
  return (await runningHub(paths)) ?? hubFor(paths, io);
}

const NO_SESSION = "No local session here yet: `npm run act -- pipeline` starts one.";

async function checksOf(hub: RunningHub, sha: string): Promise<Check[]> {
  const answer = await repoApi(hub)<{ check_runs: Check[] }>("GET", `/commits/${sha}/check-runs`);
  return answer.check_runs;
}

function checksText(checks: Check[]): string {
  return checks.length
    ? checks.map((check) => `${check.name}: ${check.conclusion ?? "pending"}`).join(", ")
    : "none";
}

const PASSING = new Set(["success", "skipped", "neutral"]);

/** Throws RunFailed describing every run of `done` that did not succeed. */
function assertSucceeded(paths: SessionPaths, done: CompletedRun[]): void {
  const failed = done.filter((item) => item.conclusion !== "success");
  if (failed.length) throw new RunFailed(failed.map((item) => failureOf(paths, item)).join("\n"));
}

const PUSHED: Record<PushOutcome, string> = {
  created: "pushed your commit as main",
  "fast-forward": "pushed your commit to main",
  unchanged: "main already is your commit",
  behind: "main holds your commit and the pull requests merged since",
  merged: "merged your commit with the pull requests merged on main since, and pushed it",
};

/** The runner's data: the given dataset, else data/housing.csv when it is here. */
function knownDataset(data: string | undefined): string | undefined {
  const given = data ?? process.env.HOUSING_CSV;
  if (given) return given;
  const local = join(REPO, DEFAULT_DATASET_PATH);
  return existsSync(local) ? local : undefined;
}

export interface PipelineResult {
  version: string | null;
  passed: boolean;
  pull: { number: number; url: string } | null;
}

/** `pipeline`: push the checkout's commit as main, dispatch pipeline.yml, run what it starts. */
export async function pipeline(
  paths: SessionPaths,
  io: Io,
  options: { inputs: Record<string, string>; data?: string },
): Promise<PipelineResult> {
  const act = await requireAct(io.err);
  const data = await resolveDataset(options.data ?? process.env.HOUSING_CSV, io.err);
  const hub = await hubFor(paths, io);
  const api = repoApi(hub);
  const pushed = await pushHead(hub, REPO);
  io.err(`local GitHub: ${PUSHED[pushed.outcome]} (${pushed.main.slice(0, 12)})`);
  if (pushed.uncommitted.length) {
    io.err(
      `note: uncommitted changes are not part of the run (${pushed.uncommitted.slice(0, 5).join(", ")}${pushed.uncommitted.length > 5 ? ", …" : ""}): commit them to include them`,
    );
  }
  // The push may start pipeline.yml on the same commit; the dispatch (with your inputs) runs it
  // instead, as you would cancel the push's run on github.com.
  for (const run of await pendingRuns(hub)) {
    if (workflowFile(run) === "pipeline.yml" && run.event === "push") {
      await hubRequest(hub, "POST", `/_local/runs/${run.id}`, {
        status: "completed",
        conclusion: "cancelled",
        jobs: [],
      });
      io.err(`run #${run.id} pipeline.yml (push): cancelled, the dispatch runs the same commit`);
    }
  }
  await api("POST", "/actions/workflows/pipeline.yml/dispatches", {
    ref: "main",
    inputs: options.inputs,
  }).catch((error: Error) => {
    throw new UsageError(`pipeline.yml refused the inputs: ${error.message}`);
  });
  const inputs = Object.entries(options.inputs).map(([name, value]) => `${name}=${value}`);
  io.err(`dispatched pipeline.yml on main${inputs.length ? ` with ${inputs.join(" ")}` : ""}`);
  const done = await runWhatGitHubStarts({ hub, paths, data, act, print: io.err });
  const run = done.find(
    (item) => workflowFile(item.run) === "pipeline.yml" && item.run.event === "workflow_dispatch",
  );
  const [evaluate] = run ? jobsOf(run.workflowRun, "evaluate") : [];
  const [promote] = run ? jobsOf(run.workflowRun, "promote") : [];
  const version = evaluate?.outputs.version ?? null;
  const passed = evaluate?.outputs.passed === "true";
  if (version) {
    const reason = evaluate.messages
      .map((message) => /did not pass the evaluation gate: (.*)/.exec(message)?.[1])
      .find(Boolean);
    const rmse = evaluate.outputs.rmse
      ? `, hold-out RMSE ${Number(evaluate.outputs.rmse).toFixed(0)}`
      : "";
    io.out(
      `house-price ${version}: the gate ${passed ? "PASSED" : "FAILED"}${rmse}${reason ? `: ${reason}` : ""}`,
    );
  }
  let pull: PipelineResult["pull"] = null;
  const number = Number(promote?.outputs["pr-number"]);
  if (number) {
    const opened = await api<Pull>("GET", `/pulls/${number}`);
    pull = { number, url: opened.html_url };
    io.out(`promotion pull request #${number}: ${opened.html_url}`);
    io.out(`  checks: ${checksText(await checksOf(hub, opened.head.sha))}`);
    io.out(`next: npm run act -- merge ${number}`);
  }
  assertSucceeded(paths, done);
  return { version, passed, pull };
}

/** `prs`: the open pull requests and their checks. */
export async function prs(paths: SessionPaths, io: Io): Promise<void> {
  const hub = await existingHub(paths, io);
  if (!hub) return io.out(NO_SESSION);
  io.out(await pullsTable(hub));
}

async function pullsTable(hub: RunningHub): Promise<string> {
  const pulls = await repoApi(hub)<Pull[]>("GET", "/pulls?state=open");
  if (!pulls.length) return "No open pull requests.";
  const rows: string[][] = [];
  for (const pull of [...pulls].sort((a, b) => a.number - b.number)) {
    rows.push([
      `#${pull.number}`,
      pull.title,
      checksText(await checksOf(hub, pull.head.sha)),
      pull.html_url,
    ]);
  }
  return formatTable(["PR", "TITLE", "CHECKS", "URL"], rows);
}

/** `merge N`: merge pull request N as its owner after its checks, then run what the merge starts
 * (deploy.yml) and leave the service answering with the deployed version. */
export async function merge(
  paths: SessionPaths,
  io: Io,
  number: number,
  options: { port?: number; data?: string } = {},
): Promise<{ version: string | null; service: ServiceRecord | null }> {
  const act = await requireAct(io.err);
  const hub = await hubFor(paths, io);
  const api = repoApi(hub);
  const context = { hub, paths, act, data: knownDataset(options.data), print: io.err };
  const pull = await api<Pull>("GET", `/pulls/${number}`).catch(() => {
    throw new UsageError(
      `there is no pull request #${number}: \`npm run act -- prs\` lists the open ones`,
    );
  });
  if (pull.state !== "open") {
    throw new UsageError(`#${number} is ${pull.merged_at ? "merged" : "closed"} already`);
  }
  // What GitHub has started and nobody ran yet (a pull request's ci run, say) runs first.
  const done = await runWhatGitHubStarts(context);
  let checks = await checksOf(hub, pull.head.sha);
  if (!checks.length) {
    io.err(
      `#${number} has no checks on its head yet: dispatching ci.yml on ${pull.head.ref}, as promote does`,
    );
    await api("POST", "/actions/workflows/ci.yml/dispatches", { ref: pull.head.ref });
    done.push(...(await runWhatGitHubStarts(context)));
    checks = await checksOf(hub, pull.head.sha);
  }
  const failing = checks.filter((check) => !PASSING.has(check.conclusion ?? ""));
  if (failing.length || !checks.length) {
    const logs = done
      .filter((item) => item.run.sha === pull.head.sha)
      .map((item) => shown(runLogPath(paths, item.run)));
    throw new UsageError(
      `#${number} is not merged: its checks ${checks.length ? `did not pass (${checksText(failing)})` : "never reported"}, and the ci checks are required${logs.length ? `; logs: ${logs.join(", ")}` : ""}`,
    );
  }
  io.err(`#${number} checks: ${checksText(checks)}`);
  if (!(await resolveEngine())) {
    io.err(
      "warning: no container engine: deploy.yml builds and smoke-tests the service image with podman (or docker), so its deploy job will fail. Install podman and runc (apt-get install podman runc).",
    );
  }
  const merged = await api<{ sha: string }>("PUT", `/pulls/${number}/merge`, {
    merge_method: "merge",
  });
  io.err(`merged #${number} into main (${merged.sha.slice(0, 12)})`);
  const started = await runWhatGitHubStarts(context);
  done.push(...started);
  const deploy = started.find((item) => workflowFile(item.run) === "deploy.yml");
  const [job] = deploy ? jobsOf(deploy.workflowRun, "deploy") : [];
  // The image is built before the smoke test: recorded even when a later step failed.
  const image = job?.outputs.image || undefined;
  if (image) {
    await updateSession(paths, (record) => ({
      ...record,
      images: [...new Set([...(record.images ?? []), image])],
    }));
  }
  assertSucceeded(paths, done);
  if (!job) {
    io.out(`merged #${number}; nothing was deployed (deploy/production.json did not change)`);
    return { version: null, service: await runningService(paths) };
  }
  const version = job.outputs.version;
  let service = await runningService(paths);
  if (!service) {
    service = await startService(paths, hub, { image, port: options.port });
    io.err(`service: started ${serviceText(service)}`);
  } else if (options.port && options.port !== service.port) {
    io.err(
      `note: the service already answers on port ${service.port}; --port applies when it starts`,
    );
  }
  io.err(`waiting for ${service.url} to serve ${version} (it follows the production stage)`);
  await waitForService(service, version);
  io.out(`house-price ${version} is in production; ${service.url} serves it`);
  io.out(
    `  curl -s ${service.url}/predict -H 'content-type: application/json' -d '${JSON.stringify(SAMPLE_RECORD)}'`,
  );
  return { version, service };
}

function serviceText(service: ServiceRecord): string {
  return service.kind === "container"
    ? `container ${service.name} (${service.image}) on ${service.url}`
    : `process ${service.pid} (node deploy/server/index.ts) on ${service.url}, log ${shown(service.log ?? "")}`;
}

/** The registry CLI's environment: the owner's token on the local GitHub, nothing of the caller's
 * own GitHub context (under CI, say). */
function registryEnv(hub: RunningHub): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(GITHUB_|ACTIONS_|RUNNER_)/.test(key)),
  );
  return {
    ...env,
    GITHUB_TOKEN: hub.ownerToken,
    GITHUB_REPOSITORY: hub.repository,
    GITHUB_API_URL: hub.apiUrl,
  };
}

/** Runs `npm run registry -- <args>` against the local GitHub; its error as a usage error. */
async function registryCli(hub: RunningHub, args: string[]): Promise<string> {
  const result = await sh({
    cwd: REPO,
    env: registryEnv(hub),
    nothrow: true,
  })`${process.execPath} cli/registry.ts ${args}`;
  if (result.exitCode !== 0) {
    throw new UsageError(
      result.stderr.trim().replace(/^registry: /, "") || `registry ${args[0]} failed`,
    );
  }
  return result.stdout;
}

/** `rollback [--to V]`: open the rollback pull request as the owner and run its ci run. */
export async function rollback(
  paths: SessionPaths,
  io: Io,
  options: { to?: string } = {},
): Promise<{ number: number; url: string } | null> {
  const act = await requireAct(io.err);
  const hub = await hubFor(paths, io);
  const proposal = JSON.parse(
    await registryCli(hub, ["rollback", "--json", ...(options.to ? ["--to", options.to] : [])]),
  ) as {
    pointer: { name: string; version: string };
    from: string | null;
    pullRequest: { number: number; url: string; created: boolean } | null;
  };
  const pull = proposal.pullRequest;
  io.err(
    `${pull?.created ? "opened" : "updated"} the rollback of ${proposal.pointer.name} to ${proposal.pointer.version}${pull ? ` as #${pull.number}` : ""}`,
  );
  const done = await runWhatGitHubStarts({ hub, paths, act, print: io.err });
  if (pull) {
    const opened = await repoApi(hub)<Pull>("GET", `/pulls/${pull.number}`);
    io.out(
      `rollback of ${proposal.pointer.name} to ${proposal.pointer.version} (production now: ${proposal.from ?? "none"}): pull request #${pull.number}: ${opened.html_url}`,
    );
    io.out(`  checks: ${checksText(await checksOf(hub, opened.head.sha))}`);
    io.out(`next: npm run act -- merge ${pull.number}`);
  }
  assertSucceeded(paths, done);
  return pull ? { number: pull.number, url: pull.url } : null;
}

interface RunRecord {
  id: number;
  workflow: string;
  event: string;
  status: string;
  conclusion: string | null;
  head_branch: string | null;
  created_at: string;
  payload: { number?: number; pull_request?: { head?: { ref?: string } } };
}

/** Where a run ran: its branch, or for a pull request's run the PR and its head branch. */
function runBranch(run: RunRecord): string {
  const pull = run.payload?.pull_request;
  if (run.event === "pull_request" && run.payload.number) {
    return `#${run.payload.number} ${pull?.head?.ref ?? ""}`.trimEnd();
  }
  return run.head_branch ?? "-";
}

/** `status`: the local GitHub, the registry, open pull requests, the last runs, the service. */
export async function status(
  paths: SessionPaths,
  io: Io,
  options: { runs?: number } = {},
): Promise<void> {
  const hub = await existingHub(paths, io);
  if (!hub) return io.out(NO_SESSION);
  io.out(
    `local GitHub: ${hub.apiUrl} (pid ${hub.pid}), ${hub.repository}, state in ${shown(paths.stateDir)}`,
  );
  io.out("");
  io.out("registry (npm run registry -- list):");
  io.out(indent((await registryCli(hub, ["list"])).trimEnd()));
  io.out("");
  io.out("open pull requests:");
  io.out(indent(await pullsTable(hub)));
  io.out("");
  const runs = await hubRequest<RunRecord[]>(hub, "GET", "/_local/runs");
  const last = runs.sort((a, b) => a.id - b.id).slice(-(options.runs ?? 10));
  io.out(`runs (last ${last.length} of ${runs.length}):`);
  io.out(
    indent(
      last.length
        ? formatTable(
            ["RUN", "WORKFLOW", "EVENT", "BRANCH", "OUTCOME", "LOG"],
            last.map((run) => {
              const log = runLogPath(paths, run);
              return [
                `#${run.id}`,
                workflowFile(run),
                run.event,
                runBranch(run),
                run.conclusion ?? run.status,
                existsSync(log) ? shown(log) : "-",
              ];
            }),
          )
        : "No runs yet.",
    ),
  );
  io.out("");
  const service = await runningService(paths);
  if (!service) {
    io.out("service: not running (`npm run act -- merge N` starts it once a version is deployed)");
    return;
  }
  io.out(`service: ${serviceText(service)}`);
  const model = await serviceModel(service);
  if ("error" in model) io.out(indent(`GET ${service.url}/model: ${model.error}`));
  else {
    const { name, version, loadedAt, trainedAt, error, modelSource } = model.body as Record<
      string,
      unknown
    >;
    io.out(indent(`GET ${service.url}/model: ${model.status}`));
    io.out(
      indent(
        JSON.stringify(
          model.status === 200 ? { name, version, trainedAt, loadedAt } : { error, modelSource },
        ),
      ),
    );
  }
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

/** `down [--reset]`: stop the service and the local GitHub; with reset, delete the local state
 * (and the images and cache volume the session made). */
export async function down(
  paths: SessionPaths,
  io: Io,
  options: { reset?: boolean } = {},
): Promise<void> {
  const service = await runningService(paths);
  const stoppedService = await stopService(paths);
  if (stoppedService) io.out(`stopped the service${service ? ` (${serviceText(service)})` : ""}`);
  const stoppedHub = await stopHub(paths);
  if (stoppedHub) io.out("stopped the local GitHub");
  if (!options.reset) {
    if (!stoppedService && !stoppedHub) io.out("Nothing was running.");
    return;
  }
  const engine = await resolveEngine();
  if (engine) {
    const run = sh({ env: engineEnv(engine), nothrow: true });
    for (const image of (await readSession(paths)).images ?? []) await run`${engine} rmi ${image}`;
    await run`${engine} volume rm --force ${cacheVolume(paths)}`;
  }
  if (existsSync(paths.stateDir)) {
    await rm(paths.stateDir, { recursive: true, force: true });
    io.out(
      `deleted ${shown(paths.stateDir)}: the local repository, registry, pull requests and run logs`,
    );
  }
}

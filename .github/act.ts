// Running a workflow of .github/workflows on this machine with act (https://github.com/nektos/act):
// jobs on the host (no Docker), artifacts through act's own artifact server, the registry on the
// GitHub API that GITHUB_API_URL names. `npm run act -- run <workflow> [INPUT=VALUE ...]` runs one
// by hand (the local session, tools/local-session/, runs them as GitHub would start them).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, request } from "node:http";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { Command, Option } from "commander";
import { runProgram, UsageError } from "../lib/cli/program.ts";
import { freePort } from "../lib/io/ports.ts";

export const ACT_VERSION = "0.2.87";

/** The events the project's workflows listen to. */
export type ActEvent =
  | "workflow_dispatch"
  | "push"
  | "pull_request"
  | "workflow_run"
  | "repository_dispatch";

export interface ActOptions {
  /** A workflow of .github/workflows by name (`pipeline`) or file name (`pipeline.yml`). */
  workflow: string;
  /** The triggering event (default workflow_dispatch). */
  event?: ActEvent;
  /** The event's payload as GitHub would send it (the local GitHub's trigger model gives it);
   * default a minimal one made from the repository's HEAD. */
  payload?: Record<string, unknown>;
  /** workflow_dispatch inputs; strings, as GitHub sends them. */
  inputs?: Record<string, string>;
  /** The repository act runs in; jobs get a copy of its working tree without gitignored files. */
  repoDir: string;
  /** Where act's artifact server keeps the artifacts (`<run id>/<name>/<name>.zip`). */
  artifactDir: string;
  /** Port of the artifact server on 127.0.0.1 (default: a free one). */
  artifactPort?: number;
  /** GITHUB_RUN_ID; artifacts are scoped by it, so every run needs its own (default: a new one). */
  runId?: string;
  /** The registry: GITHUB_API_URL, GITHUB_REPOSITORY and the token the jobs get as GITHUB_TOKEN. */
  github?: { apiUrl?: string; repository?: string; token?: string };
  /** A local copy of the housing CSV for the ingest job (HOUSING_CSV); without it the job downloads it. */
  data?: string;
  /** Repository variables (`vars.*`), e.g. MODELS_DIR for deploy.yml. */
  vars?: Record<string, string>;
  /** Run only this job (act -j). */
  job?: string;
  /**
   * act's action cache, where each job's copy of the workspace lives and the runner's tool cache
   * (`tool_cache/`, where the setup-node stand-in keeps Node and the npm cache) (default act's own).
   */
  actionCacheDir?: string;
  /** Where act's cache server keeps the caches of actions/cache (default act's own, ~/.cache/actcache). */
  cacheServerDir?: string;
  /** Log JSON lines instead of text. */
  json?: boolean;
  /** The act binary (default: found on PATH or in $(go env GOPATH)/bin). */
  act?: string;
}

export interface ActInvocation {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Where act's artifact server keeps the artifacts. */
  artifactDir: string;
  /** Where act's artifact server listens, and the proxy in front of it that the jobs use. */
  artifactPort: number;
  artifactProxyPort: number;
  /** The event payload written to the file passed with -e. */
  event: Record<string, unknown>;
  eventFile: string;
  runId: string;
}

/** Finds a Go-installed tool on PATH or in $(go env GOPATH)/bin; null when absent. */
export async function findGoTool(name: string): Promise<string | null> {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const gopath = await promisify(execFile)("go", ["env", "GOPATH"])
    .then(({ stdout }) => stdout.trim())
    .catch(() => "");
  if (gopath) dirs.push(...gopath.split(delimiter).map((dir) => join(dir, "bin")));
  for (const dir of dirs) {
    const path = join(dir, name);
    if (
      await access(path, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  return null;
}

/** A new GITHUB_RUN_ID (a number, as act parses it). */
export function newRunId(): string {
  return `${Date.now()}${Math.floor(Math.random() * 1000)
    .toString()
    .padStart(3, "0")}`;
}

/**
 * The environment act runs with. act's host mode hands its own environment to every step, so
 * variables a GitHub runner defines (GITHUB_*, ACTIONS_*, RUNNER_*) must come from act, not from
 * whoever called us (a CI job, npm, vitest). PATH starts with the Node running this script: act
 * resolves the `node` of `runs.using: node24` actions once per job, from its own PATH, before any
 * step runs, so a step's `$GITHUB_PATH` addition does not reach it.
 */
export function actEnvironment(
  base: NodeJS.ProcessEnv,
  nodeDir: string,
  token: string | undefined,
): Record<string, string> {
  const dropped =
    /^(GITHUB_|ACTIONS_|RUNNER_|INPUT_|STATE_|npm_|VITEST|HOUSING_CSV$|NODE_ENV$|NODE_OPTIONS$|TEST$)/i;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined && !dropped.test(key)) env[key] = value;
  }
  const path = (base.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir && !dir.includes("node_modules"));
  env.PATH = [nodeDir, ...path].join(delimiter);
  if (token) env.GITHUB_TOKEN = token;
  return env;
}

function workflowFile(workflow: string): string {
  const name = workflow.replace(/^\.github\/workflows\//, "");
  return join(".github", "workflows", /\.ya?ml$/.test(name) ? name : `${name}.yml`);
}

async function headOf(repoDir: string): Promise<{ ref: string; sha: string }> {
  const git = (args: string[]) =>
    promisify(execFile)("git", args, { cwd: repoDir }).then(({ stdout }) => stdout.trim());
  const [branch, sha] = await Promise.all([
    git(["rev-parse", "--abbrev-ref", "HEAD"]),
    git(["rev-parse", "HEAD"]),
  ]);
  return { ref: `refs/heads/${branch === "HEAD" ? "main" : branch}`, sha };
}

/** Where the act-only stand-ins of remote actions live: `<dir>/<owner>/<repo>/action.yml`. */
export const STAND_INS_DIR = join("tools", "act-actions");

/** A remote action a workflow uses: `owner/repo[/path]@ref`, and where. */
export interface RemoteAction {
  repository: string;
  ref: string;
  /** The file and line of its first `uses:`, for messages. */
  usedAt: string;
}

/** Every `uses: owner/repo[/path]@ref` in `files` (local `./` and `docker://` actions left out). */
export async function remoteActionsIn(repoDir: string, files: string[]): Promise<RemoteAction[]> {
  const found = new Map<string, RemoteAction>();
  for (const file of files) {
    const lines = (await readFile(join(repoDir, file), "utf8")).split("\n");
    lines.forEach((line, index) => {
      const match =
        /^\s*(?:-\s+)?uses:\s*["']?([\w.-]+)\/([\w.-]+)(?:\/[^@\s"']*)?@([^\s"'#]+)/.exec(line);
      if (!match) return;
      const [, owner, repo, ref] = match;
      const key = `${owner}/${repo}@${ref}`;
      if (!found.has(key)) {
        found.set(key, { repository: `${owner}/${repo}`, ref, usedAt: `${file}:${index + 1}` });
      }
    });
  }
  return [...found.values()];
}

async function filesUnder(repoDir: string, dir: string, pattern: RegExp): Promise<string[]> {
  const entries = await readdir(join(repoDir, dir), { recursive: true }).catch(
    () => [] as string[],
  );
  return entries.filter((entry) => pattern.test(entry)).map((entry) => join(dir, entry));
}

/**
 * act's `--local-repository OWNER/REPO@REF=DIR` for each remote action `workflow` and the
 * repository's composite actions use: this machine cannot fetch actions from GitHub, so each maps
 * to the project's own stand-in in tools/act-actions/<owner>/<repo>/, and the same workflow files
 * run under act and on GitHub. A new stand-in joins by adding its folder. actions/checkout needs
 * none: act skips it for the repository itself.
 */
export async function localRepositoryArgs(repoDir: string, workflow: string): Promise<string[]> {
  const files = [
    workflowFile(workflow),
    ...(await filesUnder(repoDir, join(".github", "actions"), /(^|\/)action\.ya?ml$/)),
  ];
  const args: string[] = [];
  const missing: string[] = [];
  for (const action of await remoteActionsIn(repoDir, files)) {
    if (action.repository === "actions/checkout") continue;
    const dir = resolve(repoDir, STAND_INS_DIR, action.repository);
    const isDir = await stat(dir).then(
      (info) => info.isDirectory(),
      () => false,
    );
    if (isDir) args.push("--local-repository", `${action.repository}@${action.ref}=${dir}`);
    else missing.push(`${action.repository} (${action.usedAt})`);
  }
  if (missing.length > 0) {
    throw new UsageError(
      `no act stand-in for ${missing.join(", ")}: act cannot fetch actions from GitHub here; ` +
        `add one in ${STAND_INS_DIR}/<owner>/<repo>/ (see its README)`,
    );
  }
  return args;
}

/** The exact act command for `options`: binary, arguments, environment and event payload. */
export async function actInvocation(options: ActOptions): Promise<ActInvocation> {
  const event = options.event ?? "workflow_dispatch";
  const inputs = options.inputs ?? {};
  if (event !== "workflow_dispatch" && Object.keys(inputs).length > 0) {
    throw new UsageError(
      `inputs (${Object.keys(inputs).join(", ")}) need the workflow_dispatch event, not ${event}`,
    );
  }
  const act = options.act ?? (await findGoTool("act"));
  if (!act) {
    throw new UsageError(
      `act is not installed: go install github.com/nektos/act@v${ACT_VERSION} (it lands in $(go env GOPATH)/bin)`,
    );
  }
  const runId = options.runId ?? newRunId();
  const head = await headOf(options.repoDir);
  const payload: Record<string, unknown> =
    options.payload ??
    (event === "workflow_dispatch"
      ? { inputs, ref: head.ref }
      : event === "push"
        ? { ref: head.ref, after: head.sha, head_commit: { id: head.sha } }
        : { pull_request: { head: { ref: head.ref, sha: head.sha }, base: { ref: "main" } } });
  const github = options.github ?? {};
  const artifactPort = options.artifactPort ?? (await freePort());
  const artifactProxyPort = await freePort();
  const env = (name: string, value: string | undefined) =>
    value ? ["--env", `${name}=${value}`] : [];
  const args = [
    event,
    "--workflows",
    workflowFile(options.workflow),
    // Jobs run on this machine: act has no Docker to start runner images in.
    "--platform",
    "ubuntu-latest=-self-hosted",
    "--eventpath",
    resolve(options.artifactDir, `event-${runId}.json`),
    "--artifact-server-path",
    resolve(options.artifactDir),
    "--artifact-server-addr",
    "127.0.0.1",
    "--artifact-server-port",
    String(artifactPort),
    // act's cache server backs actions/cache (its stand-in), on loopback only.
    "--cache-server-addr",
    "127.0.0.1",
    ...(options.cacheServerDir ? ["--cache-server-path", resolve(options.cacheServerDir)] : []),
    ...(await localRepositoryArgs(options.repoDir, options.workflow)),
    ...env("GITHUB_RUN_ID", runId),
    ...env("GITHUB_API_URL", github.apiUrl),
    ...env("GITHUB_REPOSITORY", github.repository),
    ...env("HOUSING_CSV", options.data && resolve(options.data)),
    // Without a value act reads the secret from its environment: the token stays off the command line.
    ...(github.token ? ["--secret", "GITHUB_TOKEN"] : []),
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}=${value}`]),
    ...(options.job ? ["--job", options.job] : []),
    ...(options.actionCacheDir ? ["--action-cache-path", resolve(options.actionCacheDir)] : []),
    ...(options.json ? ["--json"] : []),
  ];
  return {
    command: act,
    args,
    env: {
      ...actEnvironment(process.env, dirname(process.execPath), github.token),
      // act hands the jobs this URL for artifacts when it is set: see startArtifactProxy.
      ACTIONS_RUNTIME_URL: `http://127.0.0.1:${artifactProxyPort}/`,
    },
    artifactDir: resolve(options.artifactDir),
    artifactPort,
    artifactProxyPort,
    event: payload,
    eventFile: args[args.indexOf("--eventpath") + 1],
    runId,
  };
}

export interface ActRun {
  exitCode: number;
  runId: string;
  /** Every line act printed (stdout and stderr), when its output was captured. */
  lines: string[];
}

/**
 * A proxy in front of act 0.2.87's artifact server that the jobs use instead, for two mismatches
 * with @actions/artifact 6: the server decodes requests strictly and rejects the `mime_type` field
 * the client sends with CreateArtifact (nektos/act#6022), and the client's blob upload drops the
 * `=` padding of the signed URL's `sig`, which the server then rejects as unauthorized. With the
 * server's `artifactDir` it also refuses, as GitHub does, a second artifact of the same name in a
 * run (act would overwrite it), so a re-run that uploads a name again fails here too.
 */
export async function startArtifactProxy(
  port: number,
  upstreamPort: number,
  artifactDir?: string,
): Promise<{ close(): Promise<void> }> {
  const server = createHttpServer(async (req, res) => {
    const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
    const sig = url.searchParams.get("sig");
    if (sig && sig.length % 4 !== 0)
      url.searchParams.set("sig", sig.padEnd(Math.ceil(sig.length / 4) * 4, "="));
    const { "transfer-encoding": _chunked, "content-length": _length, ...headers } = req.headers;
    let body: Buffer | null = null;
    if (url.pathname.endsWith("/CreateArtifact")) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const {
        mime_type: _mimeType,
        mimeType: _camel,
        ...rest
      } = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      const { name, workflow_run_backend_id: runId } = rest as Record<string, unknown>;
      if (artifactDir && typeof name === "string" && typeof runId === "string") {
        const taken = await readdir(join(artifactDir, runId, name)).then(
          (files) => files.length > 0,
          () => false,
        );
        if (taken) {
          res.writeHead(409, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              code: "already_exists",
              msg: `an artifact with this name already exists on the workflow run: ${name}`,
            }),
          );
          return;
        }
      }
      body = Buffer.from(JSON.stringify(rest));
    }
    const upstream = request(
      {
        host: "127.0.0.1",
        port: upstreamPort,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        // The Host header stays the proxy's: act builds the signed upload and download URLs from it.
        headers: body
          ? { ...headers, "content-length": body.length }
          : {
              ...headers,
              ...(_length ? { "content-length": _length } : {}),
              ...(_chunked ? { "transfer-encoding": _chunked } : {}),
            },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.once("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`artifact proxy: ${error.message}`);
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolveListen());
  });
  return {
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

/** Runs act as `invocation` says in `repoDir`; `onLine` gets each output line (else it goes to the terminal). */
export async function runAct(
  invocation: ActInvocation,
  repoDir: string,
  onLine?: (line: string) => void,
  onStart?: (child: ChildProcess) => void,
): Promise<ActRun> {
  // act 0.2.87's ListArtifacts fails (a panic) until the run's folder exists, and the actions
  // list the run's artifacts before their first upload (to replace one of the same name).
  await mkdir(join(invocation.artifactDir, invocation.runId), { recursive: true });
  await writeFile(invocation.eventFile, `${JSON.stringify(invocation.event, null, 2)}\n`);
  const proxy = await startArtifactProxy(
    invocation.artifactProxyPort,
    invocation.artifactPort,
    invocation.artifactDir,
  );
  const child = spawn(invocation.command, invocation.args, {
    cwd: repoDir,
    env: invocation.env,
    stdio: onLine ? ["ignore", "pipe", "pipe"] : "inherit",
  });
  onStart?.(child);
  const lines: string[] = [];
  if (onLine) {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream as NodeJS.ReadableStream }).on("line", (line) => {
        lines.push(line);
        onLine(line);
      });
    }
  }
  const exitCode = await new Promise<number>((resolveExit, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
  }).finally(() => proxy.close());
  await rm(invocation.eventFile, { force: true });
  return { exitCode, runId: invocation.runId, lines };
}

/** workflow_dispatch inputs from `NAME=VALUE` arguments; a usage error names a malformed one. */
export function parseInputs(pairs: string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const match = /^([\w-]+)=(.*)$/s.exec(pair);
      if (!match) throw new UsageError(`input "${pair}": expected NAME=VALUE, e.g. trees=20`);
      return [match[1], match[2]];
    }),
  );
}

/** Quotes an argument for a POSIX shell when it needs it. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** The command that runs one workflow by hand, named `name` in its help. */
export function actProgram(name = "npm run act -- run"): Command {
  return new Command(name)
    .description(
      "Run a workflow of .github/workflows (pipeline, deploy, ci) locally with act, jobs on this machine.",
    )
    .argument("<workflow>", "pipeline, deploy or ci")
    .argument("[inputs...]", "workflow_dispatch inputs as NAME=VALUE")
    .addOption(
      new Option(
        "--event <NAME>",
        "the triggering event: workflow_dispatch, push or pull_request",
      ).default("workflow_dispatch"),
    )
    .addOption(
      new Option(
        "--data <PATH>",
        "local housing CSV for the ingest job (env HOUSING_CSV); default: download it",
      ),
    )
    .addOption(
      new Option(
        "--models-dir <DIR>",
        "deploy.yml: where the model is deployed (vars.MODELS_DIR), e.g. the folder a local service watches",
      ),
    )
    .addOption(
      new Option("--api-url <URL>", "the GitHub REST API of the registry (env GITHUB_API_URL)"),
    )
    .addOption(
      new Option(
        "--repository <OWNER/REPO>",
        "the repository holding the registry (env GITHUB_REPOSITORY)",
      ),
    )
    .addOption(
      new Option(
        "--artifact-dir <DIR>",
        "where act's artifact server stores artifacts (default: a new temp folder)",
      ),
    )
    .addOption(new Option("--job <ID>", "run only this job"))
    .addOption(new Option("--json", "log JSON lines"))
    .addOption(new Option("--dry-run", "print the act command without running it"))
    .addHelpText(
      "after",
      [
        "",
        "This runs one workflow by hand, with the event you choose. `npm run act -- pipeline`, `merge`",
        "and the other session commands run them as GitHub would start them, against a local GitHub.",
        "",
        "The token comes from the environment only (GITHUB_TOKEN), never from the command line.",
        "The pipeline's jobs share the model registry through the GitHub API, so pipeline.yml and",
        "deploy.yml need GITHUB_TOKEN and GITHUB_REPOSITORY; for a local stand-in of the API run",
        "`node tools/local-github/main.ts` (it prints apiUrl, repository and gitDir), push your",
        "commit to its gitDir as main and pass its URL as GITHUB_API_URL. Jobs copy the working tree",
        "without gitignored files (data/ among them), hence --data.",
        "",
        "Example: GITHUB_API_URL=http://127.0.0.1:PORT GITHUB_REPOSITORY=octo-org/house-price \\",
        "  GITHUB_TOKEN=... npm run act -- run pipeline trees=20 shards=2 --data ../shared/data/housing.csv",
      ].join("\n"),
    )
    .action(
      async (
        workflow: string,
        pairs: string[],
        values: Record<string, string | boolean | undefined>,
      ) => {
        if (!workflow) throw new UsageError("give the workflow to run: pipeline, deploy or ci");
        const text = await readFile(workflowFile(workflow), "utf8").catch(() => {
          throw new UsageError(`${workflowFile(workflow)}: no such workflow`);
        });
        const inputs = parseInputs(pairs);
        const event = values.event as string;
        if (!["workflow_dispatch", "push", "pull_request"].includes(event)) {
          throw new UsageError(
            `--event ${event}: expected workflow_dispatch, push or pull_request`,
          );
        }
        const github = {
          apiUrl: (values["api-url"] as string | undefined) ?? process.env.GITHUB_API_URL,
          repository: (values.repository as string | undefined) ?? process.env.GITHUB_REPOSITORY,
          token: process.env.GITHUB_TOKEN,
        };
        if (text.includes("uses: ./actions/") && !(github.repository && github.token)) {
          throw new UsageError(
            `${workflowFile(workflow)} uses the model registry, which its jobs share through the GitHub API: ` +
              "set GITHUB_TOKEN and GITHUB_REPOSITORY (and GITHUB_API_URL for a stand-in); see --help",
          );
        }
        const ownArtifactDir = !values["artifact-dir"];
        const artifactDir = ownArtifactDir
          ? await mkdtemp(join(tmpdir(), "act-artifacts-"))
          : (values["artifact-dir"] as string);
        const modelsDir = values["models-dir"] as string | undefined;
        const options: ActOptions = {
          workflow,
          event: event as ActOptions["event"],
          inputs,
          repoDir: process.cwd(),
          artifactDir,
          github,
          data: (values.data as string | undefined) ?? process.env.HOUSING_CSV,
          vars: modelsDir ? { MODELS_DIR: resolve(modelsDir) } : {},
          job: values.job as string | undefined,
          json: Boolean(values.json),
        };
        const invocation = await actInvocation(options);
        console.error(
          `$ ACTIONS_RUNTIME_URL=${invocation.env.ACTIONS_RUNTIME_URL} ${[invocation.command, ...invocation.args].map(shellQuote).join(" ")}`,
        );
        console.error(`  event: ${JSON.stringify(invocation.event)}`);
        if (values["dry-run"]) {
          if (ownArtifactDir) await rm(artifactDir, { recursive: true, force: true });
          return;
        }
        const { exitCode } = await runAct(invocation, options.repoDir);
        console.error(
          `act exited with ${exitCode}; artifacts of run ${invocation.runId} are in ${artifactDir}`,
        );
        process.exitCode = exitCode;
      },
    );
}

if (import.meta.main) {
  await runProgram(actProgram("node .github/act.ts"), process.argv.slice(2), "act");
}

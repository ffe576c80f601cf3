import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import express, { type Express, type Request, type Response } from "express";
import { runGit } from "../../lib/registry/git.ts";
import { installHooks, mountGitHttp } from "./git-http.ts";
import { HttpError, openGitRepo } from "./git-repo.ts";
import { answerGraphql } from "./graphql.ts";
import {
  type ApiRequest,
  causeOf,
  type FaultRule,
  type Hub,
  type Principal,
  type Reply,
  type Route,
} from "./hub.ts";
import { applySettings, mountLocalApi, withPayload } from "./local-api.ts";
import { checkResponse, findOperation, validateSchema } from "./openapi-check.ts";
import { acceptedHeader, satisfies } from "./permissions.ts";
import {
  createRateLimiter,
  etagOf,
  notModified,
  RATE_LIMIT_DOCS,
  rateLimitHeaders,
  rateLimitMessage,
  secondaryRateLimitBody,
} from "./rate-limit.ts";
import { actionRoutes } from "./rest/actions.ts";
import { contentRoutes } from "./rest/contents.ts";
import { gitRoutes } from "./rest/git.ts";
import { pullRoutes } from "./rest/pulls.ts";
import { assetFile, releaseRoutes, uploadRoute } from "./rest/releases.ts";
import type { Site } from "./shapes.ts";
import {
  type JobResult,
  openStore,
  type RecordedEvent,
  type Settings,
  type SettingsPatch,
  type StandInComment,
  type StandInPull,
  type StandInRelease,
  type WorkflowRun,
} from "./store.ts";
import { mintToken, ownerToken, resolvePrincipal, type TokenSpec } from "./tokens.ts";
import { createTriggers } from "./triggers.ts";

// A local GitHub for one repository, on loopback: GitHub's REST API (the endpoints this project
// uses), GraphQL for tag listing, an upload origin for release assets, and the stand-in's own
// /_local/ endpoints. Git state lives in a real bare repository; the rest in a state folder that
// survives restarts (or a temp folder removed on close). Every REST response is checked against
// GitHub's OpenAPI description (`violations`); tokens carry GitHub's permissions, rate limits
// and rules; events feed the trigger model (triggers.ts).

export type { FaultRule } from "./hub.ts";
export type { StandInAsset, StandInComment, StandInPull, StandInRelease } from "./store.ts";

export interface LocalGitHubOptions {
  owner?: string;
  repo?: string;
  /** The owner's user token (default: made once per state folder). */
  token?: string;
  defaultBranch?: string;
  /** A folder that keeps the state across restarts; default a temp folder removed on close. */
  stateDir?: string;
  host?: string;
  /** API port (default any free one); the upload origin listens on `uploadPort`. */
  port?: number;
  uploadPort?: number;
  /** Check every response against the OpenAPI description (default true). */
  validate?: boolean;
  /** Page size cap, lowered in tests to exercise pagination with few items (GitHub's is 100). */
  maxPerPage?: number;
  /** Settings to apply at start (e.g. immutable releases on). */
  settings?: SettingsPatch;
  /** Called with each response that does not match GitHub's OpenAPI description. */
  onViolation?: (violation: string) => void;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  /** The kind of token that made the request, when it had a known one. */
  kind?: string;
}

export interface LocalGitHub {
  /** Base URL for Octokit (`GITHUB_API_URL`); GraphQL is `${apiUrl}/graphql`. */
  apiUrl: string;
  /** Origin of `upload_url` and of asset downloads. */
  uploadUrl: string;
  owner: string;
  repo: string;
  /** `owner/repo` (`GITHUB_REPOSITORY`). */
  repository: string;
  /** The repository owner's user token: every permission, and the /_local/ endpoints. */
  token: string;
  /** The bare repository holding the git state (push here: pushes count as the owner's). */
  gitDir: string;
  /** Git over HTTP with a token as the password: pushes count as the token's. */
  cloneUrl: string;
  stateDir: string;
  /** Responses that do not match GitHub's OpenAPI description. */
  violations: string[];
  /** Every request to GitHub's API (REST and GraphQL), 304s included. */
  requests: RequestRecord[];
  releases: StandInRelease[];
  pulls: StandInPull[];
  comments: StandInComment[];
  events: RecordedEvent[];
  runs: WorkflowRun[];
  settings: Settings;
  addFault(rule: FaultRule): void;
  /** Mints a token (see tokens.ts) and returns it. */
  mintToken(spec: TokenSpec): Promise<string>;
  updateSettings(patch: SettingsPatch): Promise<Settings>;
  /** Records pushes made straight to `gitDir` (as the owner's) and returns the new events. */
  syncRefs(): Promise<RecordedEvent[]>;
  /** Runs GitHub would have started and nobody has reported started, with their payloads. */
  pendingRuns(): Promise<ReturnType<typeof withPayload>[]>;
  updateRun(
    id: number,
    update: { status: "in_progress" | "completed"; conclusion?: string; jobs?: JobResult[] },
  ): Promise<WorkflowRun>;
  git(args: string[], input?: string): Promise<string>;
  /** Commits `files` (path -> content) on `branch`, creating it if needed; returns the commit. */
  commitFiles(branch: string, files: Record<string, string>, message?: string): Promise<string>;
  /** Flips bytes of a stored asset, as storage corruption would. */
  corruptAsset(tag: string, name: string): Promise<void>;
  close(): Promise<void>;
}

/** Former names, kept for the tests that import them. */
export type GitHubStandIn = LocalGitHub;
export type StandInOptions = LocalGitHubOptions;

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolvePort((server.address() as AddressInfo).port));
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolveBody(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Starts the local GitHub; with a new state folder the repository is empty (no commits). */
export async function startLocalGitHub(options: LocalGitHubOptions = {}): Promise<LocalGitHub> {
  const owner = options.owner ?? "octo-org";
  const repo = options.repo ?? "house-price";
  const defaultBranch = options.defaultBranch ?? "main";
  const host = options.host ?? "127.0.0.1";
  const validate = options.validate ?? true;
  const temporary = !options.stateDir;
  const stateDir = options.stateDir
    ? resolve(options.stateDir)
    : await mkdtemp(join(tmpdir(), "local-github-"));
  const gitDir = join(stateDir, `${repo}.git`);
  await mkdir(join(stateDir, "assets"), { recursive: true });
  await mkdir(join(stateDir, "tmp"), { recursive: true });
  if (!(await exists(gitDir))) {
    await runGit(stateDir, ["init", "-q", "--bare", "-b", defaultBranch, gitDir]);
  }

  const store = await openStore(stateDir);
  const git = openGitRepo(gitDir, join(stateDir, "tmp"));
  const apiApp = express();
  const uploadApp = express();
  const apiServer = createServer(apiApp);
  const uploadServer = createServer(uploadApp);
  const apiPort = await listen(apiServer, host, options.port ?? 0);
  const uploadPort = await listen(uploadServer, host, options.uploadPort ?? 0);
  const apiUrl = `http://${host}:${apiPort}`;
  const uploadUrl = `http://${host}:${uploadPort}`;
  const site: Site = {
    apiUrl,
    uploadUrl,
    owner,
    repo,
    defaultBranch,
    htmlUrl: `${apiUrl}/html/${owner}/${repo}`,
    repoApi: `${apiUrl}/repos/${owner}/${repo}`,
  };
  const partial = { site, git, store, state: store.data, maxPerPage: options.maxPerPage ?? 100 };
  const hub: Hub = { ...partial, triggers: createTriggers(partial) };
  const owned = ownerToken(hub);
  if (options.token) owned.token = options.token;
  if (options.settings) applySettings(hub, options.settings);
  const ownerCause = causeOf(
    (await resolvePrincipal(hub, `token ${owned.token}`, undefined)) as Principal,
  );
  // Pushes made while the server was down count from now on.
  await hub.triggers.syncRefs(ownerCause);
  await store.save();
  if (!temporary)
    await writeFile(join(stateDir, "owner-token"), `${owned.token}\n`, { mode: 0o600 });

  let queue: Promise<void> = Promise.resolve();
  /** Runs `work` after every change started before it has finished. */
  function exclusive(work: () => Promise<void>): Promise<void> {
    const run = queue.then(work);
    queue = run.catch(() => {});
    return run;
  }

  const faults: FaultRule[] = [];
  const violations: string[] = [];
  const requests: RequestRecord[] = [];
  const limiter = createRateLimiter(() => hub.state.settings);

  function takeFault(method: string, path: string): FaultRule | undefined {
    const index = faults.findIndex(
      (rule) =>
        (!rule.method || rule.method === method) &&
        (typeof rule.path === "string" ? rule.path === path : rule.path.test(path)),
    );
    if (index < 0) return undefined;
    const rule = faults[index];
    rule.times = (rule.times ?? 1) - 1;
    if (rule.times <= 0) faults.splice(index, 1);
    return rule;
  }

  function violation(found: string[]) {
    for (const item of found) {
      violations.push(item);
      options.onViolation?.(item);
    }
  }

  /** An error body as GitHub writes it, pointing at the endpoint's documentation. */
  function errorReply(error: unknown, docs: string): Reply {
    if (error instanceof HttpError) {
      return {
        status: error.status,
        body: {
          message: error.message,
          documentation_url: docs,
          status: String(error.status),
          ...(error.errors ? { errors: error.errors } : {}),
        },
        undeclared: error.undeclared,
      };
    }
    return { status: 500, body: { message: `local GitHub failure: ${(error as Error).message}` } };
  }

  function send(res: ServerResponse, reply: Reply, headers: Record<string, string>): void {
    const all: Record<string, string> = {
      "x-github-api-version-selected": "2022-11-28",
      ...headers,
      ...reply.headers,
    };
    if (reply.body === undefined) {
      res.writeHead(reply.status, all).end();
      return;
    }
    res
      .writeHead(reply.status, { "content-type": "application/json; charset=utf-8", ...all })
      .end(JSON.stringify(reply.body));
  }

  /**
   * One request to GitHub's API: faults, authentication, the rate limit, the route's permission,
   * the handler, then ETag/304, the OpenAPI check, the request log and the answer.
   */
  async function pipeline(
    req: Request,
    res: Response,
    route: Route | null,
    kind: "rest" | "graphql",
  ) {
    const url = new URL(req.originalUrl ?? req.url ?? "/", apiUrl);
    const method = req.method ?? "GET";
    const path = url.pathname;
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    const headers: Record<string, string> = { "x-github-request-id": requestId };
    const operation = kind === "rest" ? findOperation(method, path)?.operation : undefined;
    const docs =
      (operation as { externalDocs?: { url?: string } } | undefined)?.externalDocs?.url ??
      "https://docs.github.com/rest";
    const record = (status: number, principal?: Principal) =>
      requests.push({ method, path, status, ...(principal ? { kind: principal.kind } : {}) });
    /** Answers that any endpoint may give (auth, permissions, rate limits): GitHub's basic-error shape. */
    const general = (reply: Reply, principal?: Principal) => {
      if (validate && reply.body !== undefined) {
        const problems = validateSchema({ $ref: "#/components/schemas/basic-error" }, reply.body);
        violation(
          problems.map(
            (problem) => `${method} ${path} -> ${reply.status} (basic-error): ${problem}`,
          ),
        );
      }
      record(reply.status, principal);
      send(res, reply, headers);
    };

    const fault = takeFault(method, path);
    if (fault) {
      await fault.before?.();
      if (fault.respond) {
        record(fault.respond.status);
        return send(
          res,
          {
            status: fault.respond.status,
            body: fault.respond.body ?? { message: "injected fault" },
            headers: fault.respond.headers,
          },
          headers,
        );
      }
      if (fault.secondaryRateLimit) {
        const retry = fault.secondaryRateLimit.retryAfter;
        return general({
          status: 403,
          body: secondaryRateLimitBody(requestId),
          headers: retry !== undefined ? { "retry-after": String(retry) } : {},
        });
      }
      if (fault.echoAuthorization) {
        record(500);
        return send(
          res,
          {
            status: 500,
            body: { message: `upstream rejected credentials "${req.headers.authorization}"` },
          },
          headers,
        );
      }
    }

    let principal: Principal | null;
    try {
      principal = await resolvePrincipal(hub, req.headers.authorization, req.headers["user-agent"]);
    } catch (error) {
      return general(errorReply(error, docs));
    }
    if (!principal)
      return general({
        status: 401,
        body: {
          message: "Bad credentials",
          documentation_url: "https://docs.github.com/rest",
          status: "401",
        },
      });

    const resource = kind === "graphql" ? "graphql" : "core";
    const charge = limiter.take(principal, resource);
    Object.assign(headers, rateLimitHeaders(charge));
    const conditional = method === "GET" && Boolean(req.headers["if-none-match"]);
    const limited = (): Reply =>
      kind === "graphql"
        ? {
            status: 200,
            body: { errors: [{ type: "RATE_LIMITED", message: rateLimitMessage(principal) }] },
          }
        : {
            status: 403,
            body: { message: rateLimitMessage(principal), documentation_url: RATE_LIMIT_DOCS },
          };
    if (charge.exceeded && !conditional) {
      if (kind === "graphql") {
        record(200, principal);
        return send(res, limited(), headers);
      }
      return general(limited(), principal);
    }

    if (!route) {
      const reply = errorReply(new HttpError(404, "Not Found"), docs);
      if (validate)
        violation(checkResponse(method, path, reply.status, "application/json", reply.body));
      record(reply.status, principal);
      return send(res, reply, headers);
    }
    if (
      req.params.owner !== undefined &&
      (req.params.owner !== owner || req.params.repo !== repo)
    ) {
      record(404, principal);
      return send(res, errorReply(new HttpError(404, "Not Found"), docs), headers);
    }
    headers["x-accepted-github-permissions"] = acceptedHeader(route.permission);
    if (!satisfies(principal.permissions, route.permission)) {
      return general(
        {
          status: 403,
          body: {
            message: "Resource not accessible by integration",
            documentation_url: docs,
            status: "403",
          },
        },
        principal,
      );
    }

    const mutating = method !== "GET" && kind === "rest";
    let reply: Reply = { status: 500 };
    // Changes are made one at a time, so each ref change is recorded with the token that made it.
    await (mutating ? exclusive : (work: () => Promise<void>) => work())(async () => {
      try {
        // Pushes made straight to the bare repository are recorded before this change, as the owner's.
        if (mutating) await hub.triggers.syncRefs(ownerCause);
        let body: Record<string, unknown> = {};
        if (!route.streamsBody) {
          const raw = await readBody(req);
          try {
            body = raw.length ? (JSON.parse(raw.toString("utf8")) as Record<string, unknown>) : {};
          } catch {
            throw new HttpError(400, "Problems parsing JSON");
          }
        }
        const params = Object.fromEntries(
          Object.entries(req.params as Record<string, string | string[]>).map(([key, value]) => [
            key,
            Array.isArray(value) ? value.join("/") : value,
          ]),
        );
        const request: ApiRequest = {
          params,
          url,
          body,
          headers: req.headers,
          principal,
          raw: req,
          fault,
        };
        reply = await route.handler(request);
      } catch (error) {
        reply = errorReply(error, docs);
      }
      if (mutating) {
        await hub.triggers.syncRefs(causeOf(principal)).catch((error: Error) => {
          violation([`local GitHub: recording events failed: ${error.message}`]);
        });
        await store.save();
      }
    });
    if (reply.status === 0) return record(0, principal); // the connection was cut on purpose

    if (method === "GET" && reply.status === 200 && reply.body !== undefined) {
      const etag = etagOf(reply.body);
      headers.etag = etag;
      if (notModified(req.headers["if-none-match"], etag)) {
        // A 304 does not count against the rate limit.
        Object.assign(headers, rateLimitHeaders(limiter.refund(principal, resource)));
        record(304, principal);
        return send(res, { status: 304 }, headers);
      }
    }
    if (charge.exceeded) return general(limited(), principal);
    if (reply.undeclared) return general(reply, principal);
    if (validate && kind === "rest") {
      const contentType = reply.body === undefined ? undefined : "application/json";
      violation(checkResponse(method, path, reply.status, contentType, reply.body));
    }
    if (route.streamsBody && !req.complete) req.resume();
    record(reply.status, principal);
    send(res, reply, headers);
  }

  for (const app of [apiApp, uploadApp]) {
    app.disable("x-powered-by");
    app.set("etag", false);
  }
  mountLocalApi(apiApp, hub, {
    addFault: (rule) => faults.push(rule),
    limiter,
    requests: () => requests,
  });
  mountGitHttp(apiApp, hub, { hooksDir: await installHooks(stateDir), exclusive, ownerCause });
  const restRoutes = [
    ...gitRoutes(hub),
    ...releaseRoutes(hub),
    ...contentRoutes(hub),
    ...pullRoutes(hub),
    ...actionRoutes(hub),
  ];
  const register = (app: Express, route: Route) => {
    const method = route.method.toLowerCase() as "get" | "post" | "put" | "patch" | "delete";
    app[method](`/repos/:owner/:repo${route.path}`, (req, res) =>
      pipeline(req, res, route, "rest"),
    );
  };
  for (const route of restRoutes) register(apiApp, route);
  const graphqlRoute: Route = {
    method: "POST",
    path: "/graphql",
    // Each field checks its own permission (graphql.ts), as GitHub answers per field.
    permission: "metadata:read",
    handler: ({ principal, body }) => answerGraphql(hub, principal, body),
  };
  apiApp.post("/graphql", (req, res) => pipeline(req, res, graphqlRoute, "graphql"));
  apiApp.use((req, res) => pipeline(req, res, null, "rest"));

  register(uploadApp, uploadRoute(hub));
  uploadApp.get("/storage/assets/:id", (req, res) =>
    download(res, (_, asset) => asset.id === Number(req.params.id)),
  );
  uploadApp.get(`/${owner}/${repo}/releases/download/:tag/:name`, (req, res) =>
    download(
      res,
      (release, asset) => release.tag_name === req.params.tag && asset.name === req.params.name,
    ),
  );
  uploadApp.use((_req, res) => {
    res.status(404).json({ message: "Not Found" });
  });

  async function download(
    res: Response,
    match: (release: StandInRelease, asset: StandInRelease["assets"][number]) => boolean,
  ) {
    for (const release of hub.state.releases) {
      const asset = release.assets.find((item) => match(release, item));
      if (asset) {
        res
          .writeHead(200, { "content-type": "application/octet-stream" })
          .end(await readFile(assetFile(hub, asset)));
        return;
      }
    }
    res.status(404).json({ message: "Not Found" });
  }

  return {
    apiUrl,
    uploadUrl,
    owner,
    repo,
    repository: `${owner}/${repo}`,
    token: owned.token,
    gitDir,
    cloneUrl: `${apiUrl}/git/${owner}/${repo}.git`,
    stateDir,
    violations,
    requests,
    releases: hub.state.releases,
    pulls: hub.state.pulls,
    comments: hub.state.comments,
    events: hub.state.events,
    runs: hub.state.runs,
    settings: hub.state.settings,
    addFault(rule) {
      faults.push(rule);
    },
    async mintToken(spec) {
      const record = await mintToken(hub, spec);
      hub.state.tokens.push(record);
      await store.save();
      return record.token;
    },
    async updateSettings(patch) {
      const settings = applySettings(hub, patch, limiter);
      await store.save();
      return settings;
    },
    async syncRefs() {
      const events = await hub.triggers.syncRefs(ownerCause);
      await store.save();
      return events;
    },
    async pendingRuns() {
      await hub.triggers.syncRefs(ownerCause);
      await store.save();
      return hub.state.runs
        .filter((run) => run.status === "pending")
        .map((run) => withPayload(hub, run));
    },
    async updateRun(id, update) {
      const run = await hub.triggers.updateRun(id, update);
      await store.save();
      return run;
    },
    git: git.git,
    async commitFiles(branch, files, message = "update") {
      const entries = Object.entries(files).map(([path, content]) => ({
        path,
        content: Buffer.from(content),
      }));
      const commit = await git.commitOnBranch(branch, entries, message);
      await hub.triggers.syncRefs(ownerCause);
      await store.save();
      return commit;
    },
    async corruptAsset(tag, name) {
      const asset = hub.state.releases
        .find((release) => release.tag_name === tag)
        ?.assets.find((item) => item.name === name);
      if (!asset) throw new Error(`local GitHub: no asset ${name} on release ${tag}`);
      const bytes = await readFile(assetFile(hub, asset));
      bytes[0] ^= 0xff;
      await writeFile(assetFile(hub, asset), bytes);
    },
    async close() {
      await Promise.all(
        [apiServer, uploadServer].map(
          (server) =>
            new Promise<void>((done) => {
              server.closeAllConnections();
              server.close(() => done());
            }),
        ),
      );
      await store.save();
      if (temporary) await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** The former entry point's name, kept for the tests that import it. */
export const startGitHubStandIn = startLocalGitHub;

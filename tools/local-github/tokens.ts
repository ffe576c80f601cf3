import { basename } from "node:path";
import { HttpError } from "./git-repo.ts";
import type { Hub, Principal } from "./hub.ts";
import {
  defaultTokenPermissions,
  normalizePermissions,
  type Permissions,
  WORKFLOW_SCOPES,
} from "./permissions.ts";
import { isoSeconds, newToken, type TokenRecord } from "./store.ts";
import { commonPermissions, jobPermissions, parseWorkflow, type Workflow } from "./workflows.ts";

// The three kinds of token and what each may do:
// - user: a person with admin rights on the repository (every permission);
// - app: a GitHub App installation token, with the App's permissions;
// - github_token: a workflow run's GITHUB_TOKEN, with its job's `permissions:`.
// GitHub mints a GITHUB_TOKEN per job. Under act one token serves every job of a run, so a run
// token is bound to its workflow file and commit, and each request names its job in the
// User-Agent (`job/<job-id>` or `job/<workflow-file>/<job-id>`, from GITHUB_JOB); the job's
// `permissions:` at that commit then apply. A request that names no job gets what every job of
// the workflow holds (fail closed).

export interface TokenSpec {
  kind: "user" | "app" | "github_token";
  /** user: the login (default: the repository owner). */
  login?: string;
  /** app: the App's slug (default `local-app`). */
  app?: string;
  /** app, or a per-job GITHUB_TOKEN: its permissions (`contents: write` …). */
  permissions?: Record<string, unknown>;
  /** A run's GITHUB_TOKEN: the workflow (`pipeline.yml` or `.github/workflows/pipeline.yml`) … */
  workflow?: string;
  /** … and the commit (or a ref naming it, default the default branch) whose jobs apply. */
  ref?: string;
  runId?: number;
}

/** Mints a token from `spec`; throws HttpError 422 naming what is wrong with it. */
export async function mintToken(hub: Hub, spec: TokenSpec): Promise<TokenRecord> {
  const created_at = isoSeconds();
  const invalid = (message: string) => new HttpError(422, `token: ${message}`);
  const permissions = (where: string) => {
    try {
      return normalizePermissions(spec.permissions ?? {}, where);
    } catch (error) {
      throw invalid((error as Error).message);
    }
  };
  if (spec.kind === "user") {
    return {
      token: newToken("user"),
      kind: "user",
      login: spec.login ?? hub.site.owner,
      created_at,
    };
  }
  if (spec.kind === "app") {
    const app = spec.app ?? "local-app";
    if (!/^[a-z0-9-]+$/.test(app)) throw invalid(`app "${app}": expected a slug like my-app`);
    return {
      token: newToken("app"),
      kind: "app",
      login: `${app}[bot]`,
      app,
      permissions: { ...permissions("app permissions"), metadata: "read" },
      created_at,
    };
  }
  if (spec.kind !== "github_token") {
    throw invalid(`kind "${String(spec.kind)}": expected user, app or github_token`);
  }
  const record: TokenRecord = {
    token: newToken("github_token"),
    kind: "github_token",
    login: "github-actions[bot]",
    created_at,
    ...(spec.runId !== undefined ? { runId: spec.runId } : {}),
  };
  if (spec.permissions) {
    const unknown = Object.keys(spec.permissions).filter(
      (key) => !WORKFLOW_SCOPES.includes(key.replaceAll("_", "-")),
    );
    if (unknown.length) throw invalid(`no GITHUB_TOKEN permission ${unknown.join(", ")}`);
    return { ...record, permissions: { ...permissions("permissions"), metadata: "read" } };
  }
  if (!spec.workflow) throw invalid("a github_token needs permissions, or a workflow (and ref)");
  const workflow = spec.workflow.includes("/")
    ? spec.workflow
    : `.github/workflows/${spec.workflow}`;
  const ref = spec.ref ?? hub.site.defaultBranch;
  const sha =
    (await hub.git.revParse(`refs/heads/${ref}^{commit}`)) ??
    (await hub.git.revParse(`${ref}^{commit}`));
  if (!sha) throw invalid(`ref "${ref}" names no commit`);
  await loadWorkflow(hub, sha, workflow);
  return { ...record, workflow, sha };
}

const workflowCache = new Map<string, Workflow>();

/** The workflow file at a commit, parsed (cached: a commit never changes). */
export async function loadWorkflow(hub: Hub, sha: string, path: string): Promise<Workflow> {
  const key = `${hub.git.gitDir}\0${sha}\0${path}`;
  const cached = workflowCache.get(key);
  if (cached) return cached;
  const text = await hub.git.readFileAt(sha, path);
  if (text === null) throw new HttpError(422, `token: no ${path} at ${sha.slice(0, 12)}`);
  const workflow = parseWorkflow(path, text);
  workflowCache.set(key, workflow);
  return workflow;
}

/** The job a client names in its User-Agent: `job/<job>` or `job/<workflow-file>/<job>`. */
export function jobFromUserAgent(
  userAgent: string | undefined,
): { workflow: string | null; job: string } | null {
  const match = /(?:^|\s)job\/(?:([^\s/]+)\/)?([^\s/]+)/.exec(userAgent ?? "");
  return match ? { workflow: match[1] ?? null, job: match[2] } : null;
}

/** The caller of a request, or null when its token is unknown (GitHub's 401 Bad credentials). */
export async function resolvePrincipal(
  hub: Hub,
  authorization: string | undefined,
  userAgent: string | undefined,
): Promise<Principal | null> {
  const match = /^(?:token|bearer)\s+(\S+)$/i.exec(authorization ?? "");
  const record = match ? hub.state.tokens.find((item) => item.token === match[1]) : undefined;
  if (!record) return null;
  const base = { record, kind: record.kind, login: record.login, job: null };
  if (record.kind === "user") {
    return { ...base, actor: `user:${record.login}`, permissions: ALL_WRITE };
  }
  if (record.kind === "app") {
    return { ...base, actor: `app:${record.app}`, permissions: record.permissions ?? {} };
  }
  const actor = "app:github-actions";
  if (record.permissions) return { ...base, actor, permissions: record.permissions };
  const workflow = await loadWorkflow(hub, record.sha ?? "", record.workflow ?? "");
  const fallback = defaultTokenPermissions(hub.state.settings.defaultWorkflowPermissions);
  const named = jobFromUserAgent(userAgent);
  if (!named) return { ...base, actor, permissions: commonPermissions(workflow, fallback) };
  if (named.workflow && named.workflow !== basename(workflow.path)) {
    throw new HttpError(
      403,
      `local GitHub: this GITHUB_TOKEN belongs to a run of ${basename(workflow.path)}, not ${named.workflow}`,
    );
  }
  if (!workflow.jobs[named.job]) {
    throw new HttpError(
      403,
      `local GitHub: ${workflow.path} has no job "${named.job}" (named in the User-Agent)`,
    );
  }
  return {
    ...base,
    actor,
    job: named.job,
    permissions: jobPermissions(workflow, named.job, fallback),
  };
}

const ALL_WRITE: Permissions = {
  metadata: "read",
  administration: "write",
  workflows: "write",
  ...Object.fromEntries(WORKFLOW_SCOPES.map((scope) => [scope, "write" as const])),
};

/** The repository owner's token, made once per state: the local GitHub's admin credential. */
export function ownerToken(hub: Hub): TokenRecord {
  let owner = hub.state.tokens.find(
    (item) => item.kind === "user" && item.login === hub.site.owner,
  );
  if (!owner) {
    owner = {
      token: newToken("user"),
      kind: "user",
      login: hub.site.owner,
      created_at: isoSeconds(),
    };
    hub.state.tokens.push(owner);
  }
  return owner;
}

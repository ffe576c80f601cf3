import { parse } from "yaml";
import { matchesList } from "./filter-pattern.ts";
import { fromWorkflowPermissions, intersect, type Permissions } from "./permissions.ts";

// A workflow file as far as GitHub reads it before any job runs: its triggers (`on:` with their
// filters) and the permissions each job's GITHUB_TOKEN gets.

export interface Workflow {
  /** `.github/workflows/<file>` */
  path: string;
  /** `name:`, or the file path when it has none (as GitHub shows it). */
  name: string;
  on: Record<string, Record<string, unknown>>;
  permissions: unknown;
  jobs: Record<string, { name?: string; permissions?: unknown }>;
}

/** Parses a workflow file; throws naming the file when it is not a workflow. */
export function parseWorkflow(path: string, text: string): Workflow {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${path}: not valid YAML (${(error as Error).message})`);
  }
  if (!doc || typeof doc !== "object") throw new Error(`${path}: not a workflow (no mapping)`);
  // YAML 1.1 readers turn the bare key `on` into true; accept both spellings.
  const rawOn = doc.on ?? (doc as Record<string, unknown>).true;
  const on: Record<string, Record<string, unknown>> = {};
  if (typeof rawOn === "string") on[rawOn] = {};
  else if (Array.isArray(rawOn)) for (const name of rawOn) on[String(name)] = {};
  else if (rawOn && typeof rawOn === "object") {
    for (const [name, filters] of Object.entries(rawOn)) {
      on[name] = filters && typeof filters === "object" ? (filters as Record<string, unknown>) : {};
    }
  } else throw new Error(`${path}: no "on:" triggers`);
  const jobs = (doc.jobs ?? {}) as Workflow["jobs"];
  if (typeof jobs !== "object") throw new Error(`${path}: "jobs:" is not a mapping`);
  return {
    path,
    name: typeof doc.name === "string" ? doc.name : path,
    on,
    permissions: doc.permissions,
    jobs,
  };
}

/** The GITHUB_TOKEN permissions of one job: its own `permissions:`, else the workflow's, else the default. */
export function jobPermissions(
  workflow: Workflow,
  jobId: string,
  fallback: Permissions,
): Permissions {
  const job = workflow.jobs[jobId];
  if (!job) throw new Error(`${workflow.path} has no job "${jobId}"`);
  const value = job.permissions ?? workflow.permissions;
  if (value === undefined) return fallback;
  return fromWorkflowPermissions(value, `${workflow.path} jobs.${jobId}`);
}

/** The permissions every job of the workflow holds: what a token whose job is unknown gets. */
export function commonPermissions(workflow: Workflow, fallback: Permissions): Permissions {
  return intersect(Object.keys(workflow.jobs).map((id) => jobPermissions(workflow, id, fallback)));
}

/** What GitHub compares a workflow's `on:` filters with. */
export interface TriggerEvent {
  name: string;
  /** The activity type (`opened`, `completed`, a repository_dispatch event_type …). */
  action?: string | null;
  /** push: the branch or tag pushed; pull_request: the base branch; workflow_run: the head branch. */
  branch?: string;
  tag?: string;
  /** push and pull_request: the changed files. */
  paths?: string[];
  /** workflow_dispatch: the workflow file the dispatch names. */
  workflowFile?: string;
  /** workflow_run: the name of the workflow whose run it reports. */
  workflowName?: string;
}

const DEFAULT_TYPES: Record<string, string[]> = {
  pull_request: ["opened", "synchronize", "reopened"],
  pull_request_target: ["opened", "synchronize", "reopened"],
};

function list(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** Branch/tag filters: `branches`+`branches-ignore` for branches, `tags`+`tags-ignore` for tags. */
function refSelected(filters: Record<string, unknown>, event: TriggerEvent): boolean {
  const branches = list(filters.branches);
  const branchesIgnore = list(filters["branches-ignore"]);
  const tags = list(filters.tags);
  const tagsIgnore = list(filters["tags-ignore"]);
  const hasBranchFilter = branches !== undefined || branchesIgnore !== undefined;
  const hasTagFilter = tags !== undefined || tagsIgnore !== undefined;
  if (event.tag !== undefined) {
    // Only branch filters: the workflow does not run for tags (and the other way round).
    if (hasBranchFilter && !hasTagFilter) return false;
    if (tags) return matchesList(tags, event.tag);
    if (tagsIgnore) return !matchesList(tagsIgnore, event.tag);
    return true;
  }
  if (event.branch === undefined) return true;
  if (hasTagFilter && !hasBranchFilter) return false;
  if (branches) return matchesList(branches, event.branch);
  if (branchesIgnore) return !matchesList(branchesIgnore, event.branch);
  return true;
}

function pathsSelected(filters: Record<string, unknown>, paths: string[] | undefined): boolean {
  const include = list(filters.paths);
  const ignore = list(filters["paths-ignore"]);
  if (!include && !ignore) return true;
  const changed = paths ?? [];
  if (include) return changed.some((path) => matchesList(include, path));
  return changed.some((path) => !matchesList(ignore ?? [], path));
}

/** Whether GitHub would start `workflow` for `event` (its `on:` and filters; not who caused it). */
export function triggers(workflow: Workflow, event: TriggerEvent): boolean {
  const filters = workflow.on[event.name];
  if (!filters) return false;
  const types = list(filters.types) ?? DEFAULT_TYPES[event.name];
  if (types && event.action && !types.includes(event.action)) return false;
  switch (event.name) {
    case "push":
      // Path filters are not evaluated for pushes of tags.
      return (
        refSelected(filters, event) &&
        (event.tag !== undefined || pathsSelected(filters, event.paths))
      );
    case "pull_request":
    case "pull_request_target":
      return refSelected(filters, event) && pathsSelected(filters, event.paths);
    case "workflow_dispatch":
      return event.workflowFile === workflow.path;
    case "workflow_run": {
      const names = list(filters.workflows) ?? [];
      return names.includes(event.workflowName ?? "") && refSelected(filters, event);
    }
    default:
      return true;
  }
}

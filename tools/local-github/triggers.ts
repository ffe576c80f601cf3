import { HttpError, undeclaredError } from "./git-repo.ts";
import type { Hub } from "./hub.ts";
import { checkRunJson, pullJson, repositoryJson, userJson } from "./shapes.ts";
import {
  type Cause,
  isoSeconds,
  type JobResult,
  type RecordedEvent,
  type StandInPull,
  type WorkflowRun,
} from "./store.ts";
import { loadWorkflow } from "./tokens.ts";
import { type TriggerEvent, triggers, type Workflow } from "./workflows.ts";

// The trigger model: every event the repository sees (pushes with their changed paths, tag and
// branch creation, pull request activity, dispatches, workflow runs completing) is recorded with
// the kind of token that caused it, and the workflow runs GitHub would start for it are computed
// from `.github/workflows/*.yml` at the event's commit. GitHub's rules kept here:
// - an event caused by GITHUB_TOKEN starts no run, except workflow_dispatch and
//   repository_dispatch ("Triggering a workflow from a workflow" in GitHub's docs);
// - no events are created for tags when more than three tags are pushed at once;
// - workflow_run chains stop after three levels.
// Runs start as `pending`; whoever runs them (the act wrapper) reports them `in_progress` and
// `completed`, and a completed run reports a check run per job on its commit, as GitHub Actions
// does, and may start workflow_run workflows.

const DISPATCH_EVENTS = new Set(["workflow_dispatch", "repository_dispatch"]);
const MAX_WORKFLOW_RUN_DEPTH = 2;
const ZERO = "0".repeat(40);

interface NewEvent {
  name: string;
  action?: string | null;
  ref: string | null;
  sha: string | null;
  paths?: string[];
  cause: Cause;
  payload: Record<string, unknown>;
  /** The commit whose workflow files decide; null: the default branch's head. */
  workflowSha?: string | null;
  trigger: TriggerEvent;
  /** Set when GitHub would start nothing whatever the workflow files say. */
  suppressed?: string | null;
  /** workflow_run: how deep in a chain the triggering run is. */
  depth?: number;
}

export type Triggers = ReturnType<typeof createTriggers>;

/** The webhook payload GitHub would send for a recorded event, with `repository` and `sender`. */
export function fullPayload(hub: Pick<Hub, "site" | "state">, event: RecordedEvent) {
  return {
    ...event.payload,
    repository: repositoryJson(hub.site, hub.state),
    sender: userJson(hub.site, event.cause.login),
  };
}

export function createTriggers(hub: Omit<Hub, "triggers">) {
  const { site, git, state } = hub;
  let syncing: Promise<unknown> = Promise.resolve();

  async function workflowsAt(sha: string): Promise<{ workflows: Workflow[]; errors: string[] }> {
    const files = (await git.listFilesAt(sha, ".github/workflows")).filter((file) =>
      /\.ya?ml$/.test(file),
    );
    const workflows: Workflow[] = [];
    const errors: string[] = [];
    for (const file of files) {
      try {
        workflows.push(await loadWorkflow(hub as Hub, sha, `.github/workflows/${file}`));
      } catch (error) {
        // GitHub shows such a file as a failed run ("Invalid workflow file"); here it is noted.
        errors.push((error as Error).message);
      }
    }
    return { workflows, errors };
  }

  function newRun(
    workflow: Workflow,
    event: RecordedEvent,
    sha: string,
    depth: number,
  ): WorkflowRun {
    const now = isoSeconds();
    const ref = event.ref ?? `refs/heads/${site.defaultBranch}`;
    return {
      id: hub.store.nextId(),
      workflow: workflow.path,
      name: workflow.name,
      event: event.name,
      eventId: event.id,
      ref,
      sha,
      head_branch: ref.startsWith("refs/heads/") ? ref.slice(11) : null,
      status: "pending",
      conclusion: null,
      depth,
      jobs: [],
      created_at: now,
      updated_at: now,
    };
  }

  /** Records an event and the runs GitHub would start for it; returns the event and its runs. */
  async function record(input: NewEvent): Promise<{ event: RecordedEvent; runs: WorkflowRun[] }> {
    let suppressed = input.suppressed ?? null;
    if (
      !suppressed &&
      input.cause.kind === "github_token" &&
      !DISPATCH_EVENTS.has(input.name) &&
      input.name !== "workflow_run"
    ) {
      suppressed =
        "caused by GITHUB_TOKEN: GitHub starts no workflow run for it (only workflow_dispatch and repository_dispatch are exempt)";
    }
    if (!suppressed && (input.depth ?? 0) > MAX_WORKFLOW_RUN_DEPTH) {
      suppressed = "workflow_run chains stop after three levels";
    }
    const event: RecordedEvent = {
      id: hub.store.nextId(),
      name: input.name,
      action: input.action ?? null,
      ref: input.ref,
      sha: input.sha,
      ...(input.paths ? { paths: input.paths } : {}),
      cause: input.cause,
      // `repository` and `sender` are added when the payload is read (see fullPayload): the
      // state file stays small however many events it holds.
      payload: input.payload,
      suppressed,
      created_at: isoSeconds(),
    };
    state.events.push(event);
    const runs: WorkflowRun[] = [];
    if (!suppressed) {
      const sha =
        input.workflowSha ?? (await git.revParse(`refs/heads/${site.defaultBranch}`)) ?? null;
      if (sha) {
        const { workflows, errors } = await workflowsAt(sha);
        if (errors.length) Object.assign(event, { errors });
        for (const workflow of workflows) {
          if (triggers(workflow, input.trigger))
            runs.push(newRun(workflow, event, input.sha ?? sha, input.depth ?? 0));
        }
      }
    }
    state.runs.push(...runs);
    // A run being requested is itself an event workflow_run workflows can listen to.
    for (const run of runs) await runEvent(run, "requested");
    return { event, runs };
  }

  function runPayload(run: WorkflowRun) {
    return {
      id: run.id,
      name: run.name,
      path: run.workflow,
      head_branch: run.head_branch,
      head_sha: run.sha,
      event: run.event,
      status: run.status === "pending" ? "queued" : run.status,
      conclusion: run.conclusion,
      run_number: run.id,
      html_url: `${site.htmlUrl}/actions/runs/${run.id}`,
      created_at: run.created_at,
      updated_at: run.updated_at,
    };
  }

  async function runEvent(run: WorkflowRun, action: "requested" | "in_progress" | "completed") {
    const origin = state.events.find((event) => event.id === run.eventId);
    if (!origin) return;
    await record({
      name: "workflow_run",
      action,
      ref: `refs/heads/${site.defaultBranch}`,
      sha: null,
      cause: origin.cause,
      payload: {
        action,
        workflow_run: runPayload(run),
        workflow: { path: run.workflow, name: run.name },
      },
      workflowSha: null,
      trigger: {
        name: "workflow_run",
        action,
        workflowName: run.name,
        branch: run.head_branch ?? undefined,
      },
      depth: run.depth + 1,
    });
  }

  async function pushPayload(
    ref: string,
    before: string,
    after: string,
    changed: string[],
    cause: Cause,
  ) {
    const range = before === ZERO ? [after, "-n", "20"] : [`${before}..${after}`, "-n", "20"];
    const log = await git.git([
      "log",
      "--reverse",
      "--format=%H%x00%T%x00%aI%x00%an%x00%ae%x00%B%x00",
      ...range,
    ]);
    const parts = log.split("\0");
    const commits = [];
    for (let i = 0; i + 6 <= parts.length; i += 6) {
      const [id, tree, date, name, email, message] = parts.slice(i, i + 6);
      const person = { name, email, username: name };
      commits.push({
        id: id.replace(/^\n/, ""),
        tree_id: tree,
        distinct: true,
        message: message.trimEnd(),
        timestamp: date,
        url: `${site.htmlUrl}/commit/${id.replace(/^\n/, "")}`,
        author: person,
        committer: person,
        added: [],
        removed: [],
        modified: [],
      });
    }
    const head = commits.at(-1);
    if (head) head.modified = changed as never[];
    return {
      ref,
      before,
      after,
      created: before === ZERO,
      deleted: after === ZERO,
      forced: false,
      base_ref: null,
      compare: `${site.htmlUrl}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
      commits,
      head_commit: head ?? null,
      pusher: { name: cause.login, email: null },
    };
  }

  /** Records the events for ref changes since the refs were last seen, as caused by `cause`. */
  function syncRefs(cause: Cause): Promise<RecordedEvent[]> {
    const next = syncing.then(() => syncNow(cause));
    syncing = next.catch(() => {});
    return next;
  }

  async function syncNow(cause: Cause): Promise<RecordedEvent[]> {
    const current = await git.listRefs();
    const known = state.knownRefs;
    const changes: { ref: string; before: string; after: string }[] = [];
    for (const [ref, sha] of Object.entries(current)) {
      if (known[ref] !== sha) changes.push({ ref, before: known[ref] ?? ZERO, after: sha });
    }
    for (const [ref, sha] of Object.entries(known)) {
      if (!(ref in current)) changes.push({ ref, before: sha, after: ZERO });
    }
    state.knownRefs = current;
    const events: RecordedEvent[] = [];
    const newTags = changes.filter((c) => c.ref.startsWith("refs/tags/") && c.before === ZERO);
    const tooManyTags =
      newTags.length > 3
        ? "more than three tags were pushed at once: GitHub creates no events for them"
        : null;
    for (const change of changes) {
      const isTag = change.ref.startsWith("refs/tags/");
      if (!isTag && !change.ref.startsWith("refs/heads/")) continue;
      if (isTag && tooManyTags) continue;
      events.push(...(await refChanged(change, isTag, cause)));
    }
    if (tooManyTags && newTags.length) {
      const { event } = await record({
        name: "push",
        ref: null,
        sha: null,
        cause,
        payload: { tags: newTags.length },
        trigger: { name: "push" },
        suppressed: tooManyTags,
      });
      events.push(event);
    }
    return events;
  }

  async function refChanged(
    change: { ref: string; before: string; after: string },
    isTag: boolean,
    cause: Cause,
  ): Promise<RecordedEvent[]> {
    const name = change.ref.replace(/^refs\/(heads|tags)\//, "");
    const refType = isTag ? "tag" : "branch";
    const events: RecordedEvent[] = [];
    if (change.after === ZERO) {
      const { event } = await record({
        name: "delete",
        ref: name,
        sha: null,
        cause,
        payload: { ref: name, ref_type: refType, pusher_type: "user" },
        trigger: { name: "delete" },
      });
      return [event];
    }
    const commit = (await git.revParse(`${change.after}^{commit}`)) ?? change.after;
    if (change.before === ZERO) {
      const { event } = await record({
        name: "create",
        ref: name,
        sha: commit,
        cause,
        payload: {
          ref: name,
          ref_type: refType,
          master_branch: site.defaultBranch,
          pusher_type: "user",
        },
        workflowSha: commit,
        trigger: { name: "create" },
      });
      events.push(event);
    }
    // A new branch is compared with where it left the default branch (GitHub: the deepest
    // commit's parent); a branch with no common history counts every file as changed.
    let from: string | null = change.before === ZERO ? null : change.before;
    if (!from && !isTag) {
      const base = await git.revParse(`refs/heads/${site.defaultBranch}`);
      from = base && base !== commit ? await git.mergeBase(base, commit) : null;
    }
    const paths = isTag ? [] : await git.changedPaths(from, commit);
    const { event } = await record({
      name: "push",
      ref: change.ref,
      sha: commit,
      ...(isTag ? {} : { paths }),
      cause,
      payload: await pushPayload(change.ref, change.before, change.after, paths, cause),
      workflowSha: commit,
      trigger: isTag ? { name: "push", tag: name } : { name: "push", branch: name, paths },
    });
    events.push(event);
    if (!isTag && change.before !== ZERO) {
      for (const pull of state.pulls.filter((p) => p.state === "open" && p.head === name)) {
        events.push(await pullRequestEvent(pull, "synchronize", cause));
      }
    }
    return events;
  }

  /** Records pull request activity (opened, synchronize, closed, reopened). */
  async function pullRequestEvent(
    pull: StandInPull,
    action: string,
    cause: Cause,
  ): Promise<RecordedEvent> {
    const head = (await git.revParse(`refs/heads/${pull.head}`)) ?? pull.merge_commit_sha ?? "";
    const baseSha = (await git.revParse(`refs/heads/${pull.base}`)) ?? "";
    const from = baseSha && head ? await git.mergeBase(baseSha, head) : null;
    const paths = head ? await git.changedPaths(from, head) : [];
    const { event } = await record({
      name: "pull_request",
      action,
      ref: `refs/pull/${pull.number}/merge`,
      sha: head,
      paths,
      cause,
      payload: {
        action,
        number: pull.number,
        pull_request: await pullJson(site, git, state, pull),
      },
      // GitHub reads the workflows of the PR's merge commit (refs/pull/N/merge): its tree here.
      workflowSha: (baseSha && head ? await git.mergeTree(baseSha, head) : null) ?? (head || null),
      trigger: { name: "pull_request", action, branch: pull.base, paths },
    });
    return event;
  }

  /** POST …/actions/workflows/{id}/dispatches: validates like GitHub and records the event. */
  async function workflowDispatch(
    file: string,
    ref: string,
    inputs: Record<string, unknown>,
    cause: Cause,
  ) {
    const branch = ref.replace(/^refs\/heads\//, "");
    const sha =
      (await git.revParse(`refs/heads/${branch}^{commit}`)) ??
      (await git.revParse(`refs/tags/${ref.replace(/^refs\/tags\//, "")}^{commit}`));
    if (!sha) throw undeclaredError(422, `No ref found for: ${ref}`);
    const path = file.includes("/") ? file : `.github/workflows/${file}`;
    const text = await git.readFileAt(sha, path);
    if (text === null) throw new HttpError(404, "Not Found");
    const workflow = await loadWorkflow(hub as Hub, sha, path);
    const trigger = workflow.on.workflow_dispatch;
    if (!trigger) throw undeclaredError(422, "Workflow does not have 'workflow_dispatch' trigger");
    const declared = (trigger.inputs ?? {}) as Record<
      string,
      { required?: boolean; default?: unknown }
    >;
    const unexpected = Object.keys(inputs).filter((key) => !(key in declared));
    if (unexpected.length)
      throw undeclaredError(422, `Unexpected inputs provided: ${JSON.stringify(unexpected)}`);
    for (const [key, spec] of Object.entries(declared)) {
      if (spec?.required && spec.default === undefined && inputs[key] === undefined) {
        throw undeclaredError(422, `Required input '${key}' not provided`);
      }
    }
    const fullRef = ref.startsWith("refs/") ? ref : `refs/heads/${branch}`;
    return record({
      name: "workflow_dispatch",
      ref: fullRef,
      sha,
      cause,
      payload: { inputs, ref: fullRef, workflow: path },
      workflowSha: sha,
      trigger: { name: "workflow_dispatch", workflowFile: path },
    });
  }

  /** POST …/dispatches (repository_dispatch) on the default branch. */
  async function repositoryDispatch(eventType: string, clientPayload: unknown, cause: Cause) {
    const sha = await git.revParse(`refs/heads/${site.defaultBranch}`);
    return record({
      name: "repository_dispatch",
      action: eventType,
      ref: `refs/heads/${site.defaultBranch}`,
      sha,
      cause,
      payload: {
        action: eventType,
        branch: site.defaultBranch,
        client_payload: clientPayload ?? {},
      },
      workflowSha: sha,
      trigger: { name: "repository_dispatch", action: eventType },
    });
  }

  /** Reports a run started or finished; a finished run reports its jobs as check runs. */
  async function updateRun(
    id: number,
    update: { status: "in_progress" | "completed"; conclusion?: string; jobs?: JobResult[] },
  ): Promise<WorkflowRun> {
    const run = state.runs.find((item) => item.id === id);
    if (!run) throw new HttpError(404, `no run ${id}`);
    if (run.status === "completed") throw new HttpError(409, `run ${id} has already completed`);
    if (update.status !== "in_progress" && update.status !== "completed") {
      throw new HttpError(422, `status "${update.status}": expected in_progress or completed`);
    }
    const conclusions = [
      "success",
      "failure",
      "cancelled",
      "skipped",
      "timed_out",
      "neutral",
      "action_required",
    ];
    if (update.status === "completed" && !conclusions.includes(update.conclusion ?? "")) {
      throw new HttpError(
        422,
        `conclusion "${update.conclusion}": expected one of ${conclusions.join(", ")}`,
      );
    }
    const now = isoSeconds();
    run.status = update.status;
    run.updated_at = now;
    if (update.status === "completed") {
      run.conclusion = update.conclusion ?? null;
      run.jobs = update.jobs ?? [{ name: run.name, conclusion: run.conclusion ?? "success" }];
      for (const job of run.jobs) {
        state.checkRuns.push({
          id: hub.store.nextId(),
          name: job.name,
          head_sha: run.sha,
          runId: run.id,
          conclusion: job.conclusion,
          started_at: run.created_at,
          completed_at: now,
        });
      }
    }
    await runEvent(run, update.status);
    return run;
  }

  /** Check runs on a commit, as GET …/commits/{ref}/check-runs lists them. */
  function checkRunsFor(sha: string) {
    return state.checkRuns
      .filter((run) => run.head_sha === sha)
      .map((run) => checkRunJson(site, run));
  }

  return {
    record,
    syncRefs,
    pullRequestEvent,
    workflowDispatch,
    repositoryDispatch,
    updateRun,
    checkRunsFor,
  };
}

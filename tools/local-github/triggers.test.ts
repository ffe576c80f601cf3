// The trigger model: which runs GitHub would start, computed from the project's own workflow
// files at the pushed commit, with the token kind that caused each event.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { getOctokit } from "@actions/github";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { matchesList } from "./filter-pattern.ts";
import { type LocalGitHub, startLocalGitHub } from "./server.ts";
import { parseWorkflow, triggers } from "./workflows.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const workflowFiles = ["pipeline.yml", "deploy.yml", "ci.yml"];

/** A workflow that runs after pipeline runs complete, as issue 13's site workflow will. */
const SITE = `name: site
on:
  workflow_run:
    workflows: [pipeline]
    types: [completed]
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{ run: echo }]
`;

let hub: LocalGitHub;
let owner: string;
let repo: string;

const client = (token: string) => getOctokit(token, { baseUrl: hub.apiUrl });
const pending = async () =>
  (await hub.pendingRuns()).map((run) => `${run.workflow.split("/").pop()}:${run.event}`);
const eventsSince = (id: number) => hub.events.filter((event) => event.id > id);
const lastEventId = () => hub.events.at(-1)?.id ?? 0;

async function finishAll(conclusion = "success") {
  for (const run of await hub.pendingRuns())
    await hub.updateRun(run.id, { status: "completed", conclusion });
}

beforeEach(async () => {
  hub = await startLocalGitHub();
  ({ owner, repo } = hub);
  const files: Record<string, string> = {
    "README.md": "# repo\n",
    ".github/workflows/site.yml": SITE,
  };
  for (const file of workflowFiles) {
    files[`.github/workflows/${file}`] = await readFile(
      `${REPO}/.github/workflows/${file}`,
      "utf8",
    );
  }
  await hub.commitFiles("main", files, "the project's workflows");
  await finishAll();
});

afterEach(async () => {
  expect(hub.violations).toEqual([]);
  await hub.close();
});

describe("filter patterns", () => {
  it("reads GitHub's pattern syntax, not shell globs", () => {
    expect(matchesList(["stages/**"], "stages/3-train/train.ts")).toBe(true);
    expect(matchesList(["stages/*"], "stages/3-train/train.ts")).toBe(false);
    expect(matchesList(["**.js"], "a/b/c.js")).toBe(true);
    // `?`: zero or one of the preceding character; `+`: one or more.
    expect(matchesList(["v2?.0"], "v.0")).toBe(true);
    expect(matchesList(["v2?.0"], "v22.0")).toBe(false);
    expect(matchesList(["v1+"], "v111")).toBe(true);
    expect(matchesList(["release/*", "!release/old"], "release/old")).toBe(false);
    expect(matchesList(["house-price#production#*"], "house-price#production#12")).toBe(true);
  });

  it("applies branch, tag, path and type filters as GitHub does", () => {
    const workflow = parseWorkflow(
      ".github/workflows/x.yml",
      "on:\n  push:\n    branches: [main]\n    paths-ignore: ['docs/**']\n  pull_request:\n    types: [closed]\njobs: {}\n",
    );
    expect(triggers(workflow, { name: "push", branch: "main", paths: ["a.ts"] })).toBe(true);
    expect(triggers(workflow, { name: "push", branch: "main", paths: ["docs/x.md"] })).toBe(false);
    expect(triggers(workflow, { name: "push", branch: "dev", paths: ["a.ts"] })).toBe(false);
    // Only branch filters: tags never run it.
    expect(triggers(workflow, { name: "push", tag: "v1" })).toBe(false);
    expect(triggers(workflow, { name: "pull_request", action: "opened", branch: "main" })).toBe(
      false,
    );
    expect(triggers(workflow, { name: "pull_request", action: "closed", branch: "main" })).toBe(
      true,
    );
  });
});

describe("trigger model", () => {
  it("starts pipeline.yml for a push that changes its paths, and nothing for a README change", async () => {
    let mark = lastEventId();
    await hub.commitFiles("main", { "README.md": "# changed\n" });
    expect(await pending()).toEqual([]);
    const push = eventsSince(mark).find((event) => event.name === "push");
    expect(push).toMatchObject({
      ref: "refs/heads/main",
      paths: ["README.md"],
      cause: { kind: "user" },
      suppressed: null,
    });

    mark = lastEventId();
    const sha = await hub.commitFiles("main", { "stages/3-train/train.ts": "// x\n" });
    const runs = await hub.pendingRuns();
    expect(runs.map((run) => [run.workflow, run.event, run.sha])).toEqual([
      [".github/workflows/pipeline.yml", "push", sha],
    ]);
    // The payload is what act --eventpath needs.
    expect(runs[0].payload).toMatchObject({
      ref: "refs/heads/main",
      after: sha,
      head_commit: { id: sha },
      repository: { full_name: "octo-org/house-price", default_branch: "main" },
      sender: { login: "octo-org" },
    });
  });

  it("starts nothing for events a GITHUB_TOKEN causes, but does for the same events by an App", async () => {
    await hub.updateSettings({ actionsCanCreatePullRequests: true });
    const base = (await hub.git(["rev-parse", "main"])).trim();
    const openPromotion = async (token: string, branch: string) => {
      const octokit = client(token);
      await octokit.rest.git.createRef({ owner, repo, ref: `refs/heads/${branch}`, sha: base });
      await octokit.rest.repos.createOrUpdateFileContents({
        owner,
        repo,
        path: "deploy/production.json",
        branch,
        message: "Promote",
        content: Buffer.from('{"version":"v1.0.0"}\n').toString("base64"),
      });
      return (
        await octokit.rest.pulls.create({
          owner,
          repo,
          head: branch,
          base: "main",
          title: "Promote",
        })
      ).data;
    };
    const permissions = { contents: "write", "pull-requests": "write" } as const;

    const mark = lastEventId();
    const bot = await openPromotion(
      await hub.mintToken({ kind: "github_token", permissions }),
      "promote/bot",
    );
    expect(await pending()).toEqual([]);
    const opened = eventsSince(mark).find((event) => event.name === "pull_request");
    expect(opened).toMatchObject({
      action: "opened",
      cause: { kind: "github_token", actor: "app:github-actions" },
    });
    expect(opened?.suppressed).toMatch(/GITHUB_TOKEN/);
    expect(eventsSince(mark).every((event) => event.suppressed)).toBe(true);

    const app = await openPromotion(
      await hub.mintToken({ kind: "app", app: "promoter", permissions }),
      "promote/app",
    );
    const runs = await hub.pendingRuns();
    expect(runs.map((run) => `${run.workflow}:${run.event}`)).toEqual([
      ".github/workflows/ci.yml:pull_request",
    ]);
    expect(runs[0].sha).toBe(app.head.sha);
    expect(runs[0].payload).toMatchObject({
      action: "opened",
      pull_request: { number: app.number, head: { sha: app.head.sha } },
    });
    expect(bot.number).not.toBe(app.number);

    // CI reports back: a check run per job on the PR's head commit.
    await hub.updateRun(runs[0].id, {
      status: "completed",
      conclusion: "success",
      jobs: [{ name: "typecheck, lint and test", conclusion: "success" }],
    });
    const { data: checks } = await client(hub.token).rest.checks.listForRef({
      owner,
      repo,
      ref: app.head.sha,
    });
    expect(
      checks.check_runs.map((check) => [check.name, check.conclusion, check.head_sha]),
    ).toEqual([["typecheck, lint and test", "success", app.head.sha]]);
  });

  it("starts dispatched workflows even for a GITHUB_TOKEN, which needs actions: write", async () => {
    const dispatch = (token: string, workflow: string, inputs: Record<string, string> = {}) =>
      client(token)
        .rest.actions.createWorkflowDispatch({
          owner,
          repo,
          workflow_id: workflow,
          ref: "main",
          inputs,
        })
        .then(
          (response) => ({ status: response.status, message: "" }),
          (error: { status: number; message: string }) => error,
        );
    const reader = await hub.mintToken({ kind: "github_token", permissions: { contents: "read" } });
    expect((await dispatch(reader, "pipeline.yml")).status).toBe(403);
    const actions = await hub.mintToken({
      kind: "github_token",
      permissions: { actions: "write" },
    });
    expect(await dispatch(actions, "pipeline.yml", { trees: "20" })).toMatchObject({ status: 204 });
    expect(await dispatch(actions, "ci.yml")).toMatchObject({
      status: 422,
      message: expect.stringContaining("Workflow does not have 'workflow_dispatch' trigger"),
    });
    expect(await dispatch(actions, "pipeline.yml", { nope: "1" })).toMatchObject({ status: 422 });
    const runs = await hub.pendingRuns();
    expect(runs.map((run) => [run.workflow, run.event])).toEqual([
      [".github/workflows/pipeline.yml", "workflow_dispatch"],
    ]);
    expect(runs[0].payload).toMatchObject({ inputs: { trees: "20" }, ref: "refs/heads/main" });
  });

  it("starts deploy.yml when a user merges the promotion PR, and the site after pipeline completes", async () => {
    await hub.git(["update-ref", "refs/heads/promote/x", "main"]);
    await hub.commitFiles(
      "promote/x",
      { "deploy/production.json": '{"version":"v1.0.0"}\n' },
      "Promote",
    );
    await finishAll();
    const person = client(await hub.mintToken({ kind: "user", login: "octo-dev" }));
    const { data: pull } = await person.rest.pulls.create({
      owner,
      repo,
      head: "promote/x",
      base: "main",
      title: "Promote",
    });
    expect(await pending()).toEqual(["ci.yml:pull_request"]);
    await finishAll();
    const mark = lastEventId();
    const { data: merged } = await person.rest.pulls.merge({
      owner,
      repo,
      pull_number: pull.number,
    });
    const events = eventsSince(mark);
    expect(events.find((event) => event.name === "push")).toMatchObject({
      ref: "refs/heads/main",
      sha: merged.sha,
      paths: ["deploy/production.json"],
      cause: { kind: "user", login: "octo-dev" },
    });
    expect(events.find((event) => event.name === "pull_request")).toMatchObject({
      action: "closed",
    });
    const runs = await hub.pendingRuns();
    expect(runs.map((run) => [run.workflow, run.event, run.sha])).toEqual([
      [".github/workflows/deploy.yml", "push", merged.sha],
    ]);

    // workflow_run: pipeline completing starts the site workflow.
    await finishAll();
    await hub.commitFiles("main", { "params.json": "{}\n" });
    const [pipeline] = await hub.pendingRuns();
    expect(pipeline.workflow).toBe(".github/workflows/pipeline.yml");
    await hub.updateRun(pipeline.id, { status: "in_progress" });
    expect(await pending()).toEqual([]);
    await hub.updateRun(pipeline.id, { status: "completed", conclusion: "failure" });
    const [site] = await hub.pendingRuns();
    expect(site).toMatchObject({ workflow: ".github/workflows/site.yml", event: "workflow_run" });
    expect(site.payload).toMatchObject({
      action: "completed",
      workflow_run: { name: "pipeline", conclusion: "failure" },
    });
  });

  it("records synchronize when an open PR's head moves, and starts ci.yml again for a person's push", async () => {
    await hub.git(["update-ref", "refs/heads/feature", "main"]);
    await hub.commitFiles("feature", { "stages/x.ts": "// 1\n" });
    const person = client(await hub.mintToken({ kind: "user", login: "octo-dev" }));
    await person.rest.pulls.create({
      owner,
      repo,
      head: "feature",
      base: "main",
      title: "Feature",
    });
    await finishAll();
    const head = await hub.commitFiles("feature", { "stages/x.ts": "// 2\n" });
    const runs = await hub.pendingRuns();
    expect(runs.map((run) => [run.workflow, run.event, run.sha])).toEqual([
      [".github/workflows/ci.yml", "pull_request", head],
    ]);
    expect(runs[0].payload).toMatchObject({ action: "synchronize" });
  });

  it("starts repository_dispatch workflows of the matching type, even for a GITHUB_TOKEN", async () => {
    await hub.commitFiles("main", {
      ".github/workflows/refresh.yml":
        "on:\n  repository_dispatch:\n    types: [refresh]\njobs:\n  go:\n    runs-on: ubuntu-latest\n    steps: [{ run: echo }]\n",
    });
    await finishAll();
    const bot = client(
      await hub.mintToken({ kind: "github_token", permissions: { contents: "write" } }),
    );
    await bot.rest.repos.createDispatchEvent({ owner, repo, event_type: "other" });
    expect(await pending()).toEqual([]);
    await bot.rest.repos.createDispatchEvent({
      owner,
      repo,
      event_type: "refresh",
      client_payload: { why: "test" },
    });
    const [run] = await hub.pendingRuns();
    expect(run).toMatchObject({
      workflow: ".github/workflows/refresh.yml",
      event: "repository_dispatch",
    });
    expect(run.payload).toMatchObject({ action: "refresh", client_payload: { why: "test" } });
  });

  it("creates no events for more than three tags pushed at once, as GitHub", async () => {
    const head = (await hub.git(["rev-parse", "main"])).trim();
    const mark = lastEventId();
    await hub.git(["update-ref", "refs/tags/a", head]);
    await hub.syncRefs();
    expect(eventsSince(mark).map((event) => [event.name, event.ref])).toEqual([
      ["create", "a"],
      ["push", "refs/tags/a"],
    ]);
    const next = lastEventId();
    for (const tag of ["b", "c", "d", "e"]) await hub.git(["update-ref", `refs/tags/${tag}`, head]);
    await hub.syncRefs();
    expect(eventsSince(next).map((event) => event.suppressed)).toEqual([
      "more than three tags were pushed at once: GitHub creates no events for them",
    ]);
  });
});

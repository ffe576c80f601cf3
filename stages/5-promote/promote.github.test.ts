// The promotion on a repository as GitHub sets one up: the local GitHub enforces the token kinds,
// the "Allow GitHub Actions to create and approve pull requests" setting (off by default),
// immutable releases, and the rule that GITHUB_TOKEN's events start no workflow runs.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createPromotionTarget } from "../../lib/registry/create-registry.ts";
import type { PromotionTarget } from "../../lib/registry/proposal.ts";
import { writeModelBundle } from "../../test/support/model-bundle.ts";
import { type LocalGitHub, startLocalGitHub } from "../../tools/local-github/server.ts";
import { preparePromotion } from "./promote.ts";

const CI_WORKFLOW = `name: ci
on:
  pull_request:
  workflow_dispatch:
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - run: echo checks
`;

let hub: LocalGitHub;
let work: string;

afterEach(async () => {
  await hub?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A repository with ci.yml and one registered version, promoted with a token of `kind`. */
async function setup(
  settings: NonNullable<Parameters<typeof startLocalGitHub>[0]>["settings"] = {},
) {
  hub = await startLocalGitHub({ settings });
  work = await mkdtemp(join(tmpdir(), "promote-github-"));
  const commit = await hub.commitFiles(
    "main",
    { "README.md": "# house prices\n", ".github/workflows/ci.yml": CI_WORKFLOW },
    "initial commit",
  );
  const owner = await target(hub.token);
  const bundle = await writeModelBundle(join(work, "bundle"), { commit });
  const version = (await owner.registry.register(bundle.dir)).version;
  await hub.pendingRuns(); // the owner's setup pushes are not what the tests look at
  return { version };
}

async function target(token: string): Promise<PromotionTarget> {
  return createPromotionTarget({
    env: { GITHUB_TOKEN: token, GITHUB_REPOSITORY: hub.repository, GITHUB_API_URL: hub.apiUrl },
    github: { retry: { unitMs: 1, writeIntervalMs: 0, notifyIntervalMs: 0 } },
  });
}

/** The promote job's GITHUB_TOKEN: the permissions pipeline.yml gives that job. */
function jobToken() {
  return hub.mintToken({
    kind: "github_token",
    permissions: { contents: "write", "pull-requests": "write", actions: "write" },
  });
}

async function branches(): Promise<string[]> {
  const refs = await (
    await fetch(`${hub.apiUrl}/repos/${hub.repository}/git/matching-refs/heads/promote`, {
      headers: { authorization: `token ${hub.token}` },
    })
  ).json();
  return (refs as { ref: string }[]).map((ref) => ref.ref);
}

describe("promotion on a default repository", () => {
  it("with the setting off, GITHUB_TOKEN is refused: the error names the setting and the App, no branch is left", async () => {
    const { version } = await setup();
    const promote = preparePromotion(await target(await jobToken()), {
      version,
      report: "## report\n",
      checksWorkflow: "ci.yml",
    });
    await expect(promote).rejects.toThrow(
      /does not let GitHub Actions open pull requests[\s\S]*Settings → Actions → General → Workflow permissions[\s\S]*HOUSE_PRICE_APP_ID/,
    );
    expect(await branches()).toEqual([]);
    expect(hub.pulls).toEqual([]);
  });

  it("with the setting on, GITHUB_TOKEN opens the PR and dispatches ci.yml, whose run GitHub starts on the PR head", async () => {
    const { version } = await setup({ actionsCanCreatePullRequests: true });
    const proposal = await preparePromotion(await target(await jobToken()), {
      version,
      report: "## report\n",
      checksWorkflow: "ci.yml",
    });
    expect(proposal.pullRequest?.created).toBe(true);
    expect(proposal.dispatched).toBe("ci.yml");
    const runs = await hub.pendingRuns();
    // The PR opened by GITHUB_TOKEN starts nothing; the dispatch does, on the promotion branch.
    expect(runs.map((run) => [run.workflow, run.event, run.head_branch])).toEqual([
      [".github/workflows/ci.yml", "workflow_dispatch", proposal.branch],
    ]);
    expect(runs[0].sha).toBe(proposal.commit);
  });

  it("with an App token the PR itself starts ci.yml, as a person's would", async () => {
    const { version } = await setup();
    const appToken = await hub.mintToken({
      kind: "app",
      permissions: { contents: "write", "pull-requests": "write" },
    });
    const proposal = await preparePromotion(await target(appToken), {
      version,
      report: "## report\n",
    });
    expect(proposal.dispatched).toBeNull();
    const runs = await hub.pendingRuns();
    expect(runs.map((run) => [run.workflow, run.event])).toEqual([
      [".github/workflows/ci.yml", "pull_request"],
    ]);
  });

  it("resets a reused promotion branch to the base, so it does not conflict with what merged since", async () => {
    const { version } = await setup({ actionsCanCreatePullRequests: true });
    const owner = await target(hub.token);
    const first = await preparePromotion(owner, { version, report: "first\n" });
    // Meanwhile main moves on (another promotion merged), then the promotion runs again.
    const moved = await hub.commitFiles("main", { "NOTES.md": "later\n" }, "moved on");
    const again = await preparePromotion(owner, { version, report: "again\n" });
    expect(again.pullRequest?.number).toBe(first.pullRequest?.number);
    expect(again.changed).toBe(true);
    const commit = await (
      await fetch(`${hub.apiUrl}/repos/${hub.repository}/git/commits/${again.commit}`, {
        headers: { authorization: `token ${hub.token}` },
      })
    ).json();
    expect((commit as { parents: { sha: string }[] }).parents.map((parent) => parent.sha)).toEqual([
      moved,
    ]);
    // Run again with nothing new: the branch is kept as it is.
    const third = await preparePromotion(owner, { version, report: "again\n" });
    expect(third).toMatchObject({ changed: false, commit: again.commit });
  });
});

// Token kinds, permissions, repository settings, immutable releases, tag rulesets, rate limits
// and conditional requests, over real HTTP against the local GitHub and its bare repository.
import { getOctokit } from "@actions/github";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalGitHub, startLocalGitHub } from "./server.ts";

let hub: LocalGitHub;
let owner: string;
let repo: string;
let commit: string;

const client = (token: string, userAgent?: string) =>
  getOctokit(token, { baseUrl: hub.apiUrl, ...(userAgent ? { userAgent } : {}) });

/** The status and body of a call that may fail. */
async function outcome(promise: Promise<{ status: number; data?: unknown }>) {
  return promise.then(
    (response) => ({ status: response.status, body: response.data as Record<string, unknown> }),
    (error: {
      status: number;
      response?: { data: Record<string, unknown>; headers: Record<string, string> };
    }) => ({
      status: error.status,
      body: error.response?.data ?? {},
      headers: error.response?.headers ?? {},
    }),
  );
}

const workflow = `name: pipeline
on:
  workflow_dispatch:
permissions:
  contents: read
jobs:
  ingest:
    runs-on: ubuntu-latest
    steps: [{ run: echo }]
  promote:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      pull-requests: write
    steps: [{ run: echo }]
`;

beforeEach(async () => {
  hub = await startLocalGitHub();
  ({ owner, repo } = hub);
  commit = await hub.commitFiles("main", {
    "README.md": "# repo\n",
    ".github/workflows/pipeline.yml": workflow,
  });
});

afterEach(async () => {
  expect(hub.violations).toEqual([]);
  await hub.close();
});

describe("tokens and permissions", () => {
  it("answers a token without the permission with GitHub's 403, per kind", async () => {
    const reader = client(
      await hub.mintToken({ kind: "github_token", permissions: { contents: "read" } }),
    );
    const refused = await outcome(
      reader.rest.git.createRef({ owner, repo, ref: "refs/heads/x", sha: commit }),
    );
    expect(refused).toMatchObject({
      status: 403,
      body: {
        message: "Resource not accessible by integration",
        documentation_url: "https://docs.github.com/rest/git/refs#create-a-reference",
      },
      headers: { "x-accepted-github-permissions": "contents=write" },
    });
    expect((await reader.rest.git.getRef({ owner, repo, ref: "heads/main" })).data.object.sha).toBe(
      commit,
    );

    const app = client(
      await hub.mintToken({ kind: "app", app: "deployer", permissions: { contents: "write" } }),
    );
    expect(
      (await outcome(app.rest.git.createRef({ owner, repo, ref: "refs/heads/x", sha: commit })))
        .status,
    ).toBe(201);
    expect((await outcome(app.rest.pulls.list({ owner, repo }))).body).toMatchObject({
      message: "Resource not accessible by integration",
    });

    const person = client(await hub.mintToken({ kind: "user", login: "octo-dev" }));
    expect((await outcome(person.rest.pulls.list({ owner, repo }))).status).toBe(200);
    expect((await outcome(person.rest.git.deleteRef({ owner, repo, ref: "heads/x" }))).status).toBe(
      204,
    );

    const none = await fetch(`${hub.apiUrl}/repos/${owner}/${repo}`, {
      headers: { authorization: "token ghs_unknown" },
    });
    expect([none.status, ((await none.json()) as { message: string }).message]).toEqual([
      401,
      "Bad credentials",
    ]);
  });

  it("gives a run's GITHUB_TOKEN the permissions of the job named in the User-Agent", async () => {
    const token = await hub.mintToken({
      kind: "github_token",
      workflow: "pipeline.yml",
      ref: "main",
    });
    const create = (userAgent?: string, name = "x") =>
      outcome(
        client(token, userAgent).rest.git.createRef({
          owner,
          repo,
          ref: `refs/heads/${name}`,
          sha: commit,
        }),
      );
    expect((await create("house-price job/pipeline.yml/ingest")).status).toBe(403);
    expect((await create("house-price job/pipeline.yml/promote", "a")).status).toBe(201);
    expect((await create("house-price job/promote", "b")).status).toBe(201);
    // A request that names no job gets what every job holds: contents read only.
    expect((await create(undefined, "c")).status).toBe(403);
    expect((await create("job/deploy.yml/promote", "d")).body.message).toBe(
      "local GitHub: this GITHUB_TOKEN belongs to a run of pipeline.yml, not deploy.yml",
    );
    expect((await create("job/pipeline.yml/nope", "e")).body.message).toMatch(/has no job "nope"/);
  });

  it("gives a workflow without permissions: the repository default, read until set to write", async () => {
    await hub.commitFiles("main", {
      ".github/workflows/pipeline.yml":
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps: [{ run: echo }]\n",
    });
    const token = await hub.mintToken({ kind: "github_token", workflow: "pipeline.yml" });
    const create = (name: string) =>
      outcome(
        client(token, `job/build`).rest.git.createRef({
          owner,
          repo,
          ref: `refs/heads/${name}`,
          sha: commit,
        }),
      );
    expect((await create("a")).status).toBe(403);
    const admin = client(hub.token);
    await admin.request("PUT /repos/{owner}/{repo}/actions/permissions/workflow", {
      owner,
      repo,
      default_workflow_permissions: "write",
    });
    expect((await create("b")).status).toBe(201);
  });

  it("refuses tokens that cannot exist and keeps /_local/ for people", async () => {
    await expect(
      hub.mintToken({ kind: "github_token", permissions: { administration: "write" } }),
    ).rejects.toThrow(/no GITHUB_TOKEN permission administration/);
    const automation = await hub.mintToken({ kind: "app", permissions: { contents: "write" } });
    const response = await fetch(`${hub.apiUrl}/_local/settings`, {
      headers: { authorization: `token ${automation}` },
    });
    expect(response.status).toBe(403);
    const bad = await fetch(`${hub.apiUrl}/_local/tokens`, {
      method: "POST",
      headers: { authorization: `token ${hub.token}` },
      body: JSON.stringify({ kind: "github_token", permissions: { contents: "all" } }),
    });
    expect([bad.status, ((await bad.json()) as { message: string }).message]).toEqual([
      422,
      expect.stringContaining("permissions.contents"),
    ]);
  });
});

describe("repository settings", () => {
  it("refuses a pull request by GITHUB_TOKEN until Actions may create pull requests; Apps and people may", async () => {
    await hub.commitFiles("promote/x", { "deploy/production.json": "{}\n" });
    const bot = client(
      await hub.mintToken({ kind: "github_token", permissions: { "pull-requests": "write" } }),
    );
    const open = (octokit: ReturnType<typeof client>) =>
      outcome(
        octokit.rest.pulls.create({
          owner,
          repo,
          head: "promote/x",
          base: "main",
          title: "Promote",
        }),
      );
    expect(await open(bot)).toMatchObject({
      status: 403,
      body: {
        message: "GitHub Actions is not permitted to create or approve pull requests.",
        documentation_url: "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
      },
    });
    // The setting is GitHub's own endpoint, which needs administration: no GITHUB_TOKEN has it.
    const setting = (octokit: ReturnType<typeof client>, value: boolean) =>
      outcome(
        octokit.request("PUT /repos/{owner}/{repo}/actions/permissions/workflow", {
          owner,
          repo,
          can_approve_pull_request_reviews: value,
        }),
      );
    expect((await setting(bot, true)).status).toBe(403);
    const app = client(
      await hub.mintToken({ kind: "app", permissions: { "pull-requests": "write" } }),
    );
    const byApp = await open(app);
    expect(byApp.status).toBe(201);
    await client(hub.token).rest.pulls.update({
      owner,
      repo,
      pull_number: Number(byApp.body.number),
      state: "closed",
    });
    expect((await setting(client(hub.token), true)).status).toBe(204);
    expect((await open(bot)).status).toBe(201);
    const { data } = await client(hub.token).request(
      "GET /repos/{owner}/{repo}/actions/permissions/workflow",
      { owner, repo },
    );
    expect(data).toEqual({
      default_workflow_permissions: "read",
      can_approve_pull_request_reviews: true,
    });
  });

  it("makes published releases immutable: no asset added or deleted, no tag moved, the tag never reused", async () => {
    const admin = client(hub.token);
    expect(
      (
        await outcome(
          admin.request("GET /repos/{owner}/{repo}/immutable-releases", { owner, repo }),
        )
      ).status,
    ).toBe(404);
    await admin.request("PUT /repos/{owner}/{repo}/immutable-releases", { owner, repo });
    const writer = client(
      await hub.mintToken({ kind: "github_token", permissions: { contents: "write" } }),
    );
    const { data: draft } = await writer.rest.repos.createRelease({
      owner,
      repo,
      tag_name: "v1",
      target_commitish: commit,
      draft: true,
    });
    const upload = (name: string) =>
      outcome(
        writer.request(`POST ${draft.upload_url}`, {
          name,
          data: Buffer.from(name),
          headers: { "content-type": "application/octet-stream" },
        }),
      );
    const first = await upload("model.bin");
    expect(first.status).toBe(201);
    const { data: published } = await writer.rest.repos.updateRelease({
      owner,
      repo,
      release_id: draft.id,
      draft: false,
    });
    expect(published.immutable).toBe(true);

    expect(await upload("report.md")).toMatchObject({
      status: 422,
      body: { message: "Cannot upload assets to an immutable release." },
    });
    expect(
      await outcome(
        writer.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: Number(first.body.id) }),
      ),
    ).toMatchObject({
      status: 422,
      body: {
        errors: [
          {
            resource: "ReleaseAsset",
            code: "custom",
            message: "Cannot delete asset from an immutable release",
          },
        ],
      },
    });
    expect(
      (
        await outcome(
          writer.rest.repos.updateRelease({ owner, repo, release_id: draft.id, draft: true }),
        )
      ).body,
    ).toMatchObject({
      errors: [{ field: "draft", message: "state cannot be changed when release is immutable" }],
    });
    // Title and notes stay editable.
    expect(
      (await writer.rest.repos.updateRelease({ owner, repo, release_id: draft.id, body: "notes" }))
        .data.body,
    ).toBe("notes");
    const other = await hub.commitFiles("main", { "x.txt": "x\n" });
    expect(
      (
        await outcome(
          writer.rest.git.updateRef({ owner, repo, ref: "tags/v1", sha: other, force: true }),
        )
      ).status,
    ).toBe(422);

    // Turning the setting off does not unfreeze a published release; deleting it frees nothing.
    await admin.request("DELETE /repos/{owner}/{repo}/immutable-releases", { owner, repo });
    expect((await upload("late.txt")).status).toBe(422);
    await writer.rest.repos.deleteRelease({ owner, repo, release_id: draft.id });
    expect(
      (
        await outcome(
          writer.rest.repos.createRelease({
            owner,
            repo,
            tag_name: "v1",
            target_commitish: commit,
          }),
        )
      ).body,
    ).toMatchObject({
      errors: [{ field: "tag_name", message: "tag_name was used by an immutable release" }],
    });
  });

  it("lets only named actors create tags a ruleset protects", async () => {
    await hub.updateSettings({
      tagRulesets: [
        {
          name: "production",
          pattern: "house-price#production#*",
          allowedActors: ["app:house-price-deployer"],
        },
      ],
    });
    const tag = (octokit: ReturnType<typeof client>, name: string) =>
      outcome(octokit.rest.git.createRef({ owner, repo, ref: `refs/tags/${name}`, sha: commit }));
    const bot = client(
      await hub.mintToken({ kind: "github_token", permissions: { contents: "write" } }),
    );
    expect(await tag(bot, "house-price#production#1")).toMatchObject({
      status: 422,
      body: {
        message:
          "Repository rule violations found\n\nCannot create ref due to creations being restricted.\n\n",
      },
    });
    expect((await tag(client(hub.token), "house-price#production#1")).status).toBe(422);
    expect((await tag(bot, "house-price#staging#1")).status).toBe(201);
    const deployer = client(
      await hub.mintToken({
        kind: "app",
        app: "house-price-deployer",
        permissions: { contents: "write" },
      }),
    );
    expect((await tag(deployer, "house-price#production#1")).status).toBe(201);
    // Publishing a release would create the tag: refused the same way.
    const published = await outcome(
      bot.rest.repos.createRelease({
        owner,
        repo,
        tag_name: "house-price#production#2",
        target_commitish: commit,
      }),
    );
    expect(published.body).toMatchObject({ errors: [{ field: "pre_receive" }] });
  });
});

describe("rate limits and conditional requests", () => {
  it("spends one GITHUB_TOKEN budget per repository, answers 403 when it is spent, and never charges a 304", async () => {
    await hub.updateSettings({ rateLimits: { github_token: 3 } });
    const tokens = [
      await hub.mintToken({ kind: "github_token", permissions: { contents: "read" } }),
      await hub.mintToken({ kind: "github_token", permissions: { contents: "read" } }),
    ];
    const get = (token: string, etag?: string) =>
      fetch(`${hub.apiUrl}/repos/${owner}/${repo}/releases`, {
        headers: { authorization: `token ${token}`, ...(etag ? { "if-none-match": etag } : {}) },
      });
    const first = await get(tokens[0]);
    const etag = first.headers.get("etag") ?? "";
    expect(etag).toMatch(/^W\/"[0-9a-f]{64}"$/);
    expect(first.headers.get("x-ratelimit-remaining")).toBe("2");
    const cached = await get(tokens[1], etag);
    expect([cached.status, cached.headers.get("x-ratelimit-remaining")]).toEqual([304, "2"]);
    expect((await get(tokens[1])).headers.get("x-ratelimit-remaining")).toBe("1");
    expect((await get(tokens[0])).headers.get("x-ratelimit-remaining")).toBe("0");
    const spent = await get(tokens[1]);
    expect(spent.status).toBe(403);
    expect(spent.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(spent.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
    expect(await spent.json()).toEqual({
      message: expect.stringMatching(/^API rate limit exceeded for installation ID \d+\.$/),
      documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    });
    // Conditional requests still get their 304; people have their own budget.
    expect((await get(tokens[0], etag)).status).toBe(304);
    const person = await get(hub.token);
    expect([person.status, person.headers.get("x-ratelimit-limit")]).toEqual([200, "5000"]);
    expect(hub.requests.filter((request) => request.status === 304)).toHaveLength(2);
  });

  it("answers GitHub's secondary rate limit on demand", async () => {
    const response = await fetch(`${hub.apiUrl}/_local/faults`, {
      method: "POST",
      headers: { authorization: `token ${hub.token}` },
      body: JSON.stringify({
        method: "GET",
        pathPattern: "/releases$",
        secondaryRateLimit: { retryAfter: 7 },
      }),
    });
    expect(response.status).toBe(201);
    const limited = await outcome(client(hub.token).rest.repos.listReleases({ owner, repo }));
    expect(limited).toMatchObject({ status: 403, headers: { "retry-after": "7" } });
    expect(limited.body.message).toMatch(
      /^You have exceeded a secondary rate limit\. Please wait a few minutes/,
    );
    expect((await outcome(client(hub.token).rest.repos.listReleases({ owner, repo }))).status).toBe(
      200,
    );
  });
});

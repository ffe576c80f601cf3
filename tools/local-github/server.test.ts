import { getOctokit } from "@actions/github";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkResponse, findOperation } from "./openapi-check.ts";
import { type GitHubStandIn, startGitHubStandIn } from "./server.ts";

let server: GitHubStandIn;
let octokit: ReturnType<typeof getOctokit>;
let owner: string;
let repo: string;
let commit: string;

beforeEach(async () => {
  server = await startGitHubStandIn({ maxPerPage: 2 });
  octokit = getOctokit(server.token, { baseUrl: server.apiUrl });
  ({ owner, repo } = server);
  commit = await server.commitFiles("main", { "README.md": "# repo\n" }, "initial commit");
});

afterEach(async () => {
  expect(server.violations).toEqual([]);
  await server.close();
});

async function status(promise: Promise<unknown>): Promise<number> {
  return promise.then(
    () => 200,
    (error: { status: number }) => error.status,
  );
}

describe("OpenAPI check", () => {
  it("flags missing required properties, wrong types, undeclared statuses and unknown routes", () => {
    const problems = checkResponse("GET", "/repos/o/r/releases/1", 200, "application/json", {
      id: "7",
      draft: "no",
    });
    expect(problems).toContain(
      "GET /repos/o/r/releases/1 -> 200 (repos/get-release): $.upload_url: required but missing",
    );
    expect(problems).toContain(
      "GET /repos/o/r/releases/1 -> 200 (repos/get-release): $.id: is string but the schema says integer",
    );
    expect(checkResponse("GET", "/repos/o/r/releases/1", 418, "application/json", {})).toEqual([
      "GET /repos/o/r/releases/1 -> 418: repos/get-release does not declare status 418 (declares 200, 401)",
    ]);
    expect(
      checkResponse("GET", "/repos/o/r/no-such-thing", 200, "application/json", {})[0],
    ).toMatch(/no such operation/);
  });

  it("routes slashes in refs and paths to the right operation", () => {
    expect(
      findOperation("GET", "/repos/o/r/git/ref/heads/promote/house-price-v1.0.0")?.template,
    ).toBe("/repos/{owner}/{repo}/git/ref/{ref}");
    expect(findOperation("GET", "/repos/o/r/git/matching-refs/tags%2Fhouse-price")?.template).toBe(
      "/repos/{owner}/{repo}/git/matching-refs/{ref}",
    );
    expect(findOperation("GET", "/repos/o/r/releases/tags/x")?.template).toBe(
      "/repos/{owner}/{repo}/releases/tags/{tag}",
    );
  });
});

describe("GitHub stand-in", () => {
  it("makes annotated tags and refs with git, and refuses a second ref of the same name", async () => {
    const { data: tag } = await octokit.rest.git.createTag({
      owner,
      repo,
      tag: "house-price@v1.0.0",
      message: "Registering artifact house-price version v1.0.0\n",
      object: commit,
      type: "commit",
      tagger: { name: "bot", email: "bot@example.invalid", date: "2024-01-02T03:04:05Z" },
    });
    await octokit.rest.git.createRef({
      owner,
      repo,
      ref: "refs/tags/house-price@v1.0.0",
      sha: tag.sha,
    });
    expect(await server.git(["cat-file", "-t", "house-price@v1.0.0"])).toBe("tag\n");
    expect(
      await server.git([
        "for-each-ref",
        "--format=%(taggerdate:iso-strict)",
        "refs/tags/house-price@v1.0.0",
      ]),
    ).toBe("2024-01-02T03:04:05+00:00\n");
    const { data: read } = await octokit.rest.git.getTag({ owner, repo, tag_sha: tag.sha });
    expect(read).toMatchObject({
      tag: "house-price@v1.0.0",
      object: { sha: commit, type: "commit" },
      tagger: { date: "2024-01-02T03:04:05Z" },
    });
    expect(
      await status(
        octokit.rest.git.createRef({
          owner,
          repo,
          ref: "refs/tags/house-price@v1.0.0",
          sha: tag.sha,
        }),
      ),
    ).toBe(422);
    expect(
      await status(
        octokit.rest.git.createTag({
          owner,
          repo,
          tag: "x",
          message: "m",
          object: "0".repeat(40),
          type: "commit",
        }),
      ),
    ).toBe(422);
    const { data: refs } = await octokit.rest.git.listMatchingRefs({
      owner,
      repo,
      ref: "tags/house-price",
    });
    expect(refs.map((ref) => [ref.ref, ref.object.type])).toEqual([
      ["refs/tags/house-price@v1.0.0", "tag"],
    ]);
    expect(await status(octokit.rest.git.getRef({ owner, repo, ref: "heads/nope" }))).toBe(404);
  });

  it("keeps releases with drafts, uploads on upload_url, paginates, and redirects downloads", async () => {
    const { data: draft } = await octokit.rest.repos.createRelease({
      owner,
      repo,
      tag_name: "v0.1.0",
      target_commitish: commit,
      draft: true,
    });
    expect(draft.upload_url.startsWith(`${server.uploadUrl}/`)).toBe(true);
    const bytes = Buffer.from("model bytes");
    const { data: asset } = await octokit.request(`POST ${draft.upload_url}`, {
      name: "model.bin",
      data: bytes,
      headers: { "content-type": "application/octet-stream" },
    });
    expect(asset).toMatchObject({ name: "model.bin", size: bytes.length, state: "uploaded" });
    expect(
      await status(
        octokit.request(`POST ${draft.upload_url}`, {
          name: "model.bin",
          data: bytes,
          headers: { "content-type": "application/octet-stream" },
        }),
      ),
    ).toBe(422);
    expect(await status(octokit.rest.repos.getReleaseByTag({ owner, repo, tag: "v0.1.0" }))).toBe(
      404,
    );
    await octokit.rest.repos.updateRelease({ owner, repo, release_id: draft.id, draft: false });
    // Publishing without a tag makes a lightweight one at the target, as GitHub does.
    expect(await server.git(["cat-file", "-t", "v0.1.0"])).toBe("commit\n");
    const download = await octokit.request("GET /repos/{owner}/{repo}/releases/assets/{asset_id}", {
      owner,
      repo,
      asset_id: (asset as { id: number }).id,
      headers: { accept: "application/octet-stream" },
    });
    expect(Buffer.from(download.data as unknown as ArrayBuffer).toString()).toBe("model bytes");

    for (const tag of ["v0.2.0", "v0.3.0", "v0.4.0", "v0.5.0"]) {
      await octokit.rest.repos.createRelease({
        owner,
        repo,
        tag_name: tag,
        target_commitish: commit,
      });
    }
    const firstPage = await octokit.rest.repos.listReleases({ owner, repo, per_page: 100 });
    expect(firstPage.data).toHaveLength(2);
    expect(firstPage.headers.link).toContain('rel="next"');
    const all = await octokit.paginate(octokit.rest.repos.listReleases, {
      owner,
      repo,
      per_page: 100,
    });
    expect(all.map((release) => release.tag_name)).toEqual([
      "v0.5.0",
      "v0.4.0",
      "v0.3.0",
      "v0.2.0",
      "v0.1.0",
    ]);
    expect(
      await status(
        octokit.rest.repos.createRelease({
          owner,
          repo,
          tag_name: "v0.5.0",
          target_commitish: commit,
        }),
      ),
    ).toBe(422);
  });

  it("commits through the contents API, opens and merges pull requests with real merge commits", async () => {
    await octokit.rest.git.createRef({ owner, repo, ref: "refs/heads/promote/x", sha: commit });
    expect(
      await status(
        octokit.rest.pulls.create({ owner, repo, head: "promote/x", base: "main", title: "empty" }),
      ),
    ).toBe(422);
    const { data: put } = await octokit.rest.repos.createOrUpdateFileContents({
      owner,
      repo,
      path: "deploy/production.json",
      branch: "promote/x",
      message: "Promote",
      content: Buffer.from('{"version":"v1.0.0"}\n').toString("base64"),
    });
    expect(put.commit.parents?.map((parent) => parent.sha)).toEqual([commit]);
    expect(
      await status(
        octokit.rest.repos.createOrUpdateFileContents({
          owner,
          repo,
          path: "deploy/production.json",
          branch: "promote/x",
          message: "m",
          content: "e30=",
          sha: "0".repeat(40),
        }),
      ),
    ).toBe(409);
    const { data: file } = await octokit.rest.repos.getContent({
      owner,
      repo,
      path: "deploy/production.json",
      ref: "promote/x",
    });
    expect(
      !Array.isArray(file) &&
        file.type === "file" &&
        Buffer.from(file.content, "base64").toString(),
    ).toBe('{"version":"v1.0.0"}\n');

    const { data: pull } = await octokit.rest.pulls.create({
      owner,
      repo,
      head: "promote/x",
      base: "main",
      title: "Promote",
      body: "report",
    });
    expect(
      await status(
        octokit.rest.pulls.create({ owner, repo, head: "promote/x", base: "main", title: "again" }),
      ),
    ).toBe(422);
    const { data: listed } = await octokit.rest.pulls.list({
      owner,
      repo,
      head: `${owner}:promote/x`,
      state: "open",
    });
    expect(listed.map((item) => item.number)).toEqual([pull.number]);
    const { data: comment } = await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: pull.number,
      body: "<!-- m --> hi",
    });
    await octokit.rest.issues.updateComment({
      owner,
      repo,
      comment_id: comment.id,
      body: "<!-- m --> updated",
    });
    const comments = await octokit.paginate(octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: pull.number,
    });
    expect(comments.map((item) => item.body)).toEqual(["<!-- m --> updated"]);

    const { data: merged } = await octokit.rest.pulls.merge({
      owner,
      repo,
      pull_number: pull.number,
    });
    expect(merged.merged).toBe(true);
    expect(
      (await server.git(["rev-list", "--parents", "-n", "1", "main"])).trim().split(" "),
    ).toEqual([merged.sha, commit, put.commit.sha]);
    expect(await server.git(["show", "main:deploy/production.json"])).toBe(
      '{"version":"v1.0.0"}\n',
    );
    expect(await status(octokit.rest.pulls.merge({ owner, repo, pull_number: pull.number }))).toBe(
      405,
    );
    expect(
      (await octokit.rest.pulls.get({ owner, repo, pull_number: pull.number })).data,
    ).toMatchObject({ state: "closed", merged: true });
  });

  it("injects faults: 5xx then success, 429 with retry-after, cut uploads, bad credentials", async () => {
    const url = `${server.apiUrl}/repos/${owner}/${repo}/releases`;
    const headers = { authorization: `token ${server.token}` };
    server.addFault({
      method: "GET",
      path: `/repos/${owner}/${repo}/releases`,
      respond: { status: 502 },
    });
    server.addFault({
      method: "GET",
      path: `/repos/${owner}/${repo}/releases`,
      respond: { status: 429, headers: { "retry-after": "2" } },
    });
    expect((await fetch(url, { headers })).status).toBe(502);
    const limited = await fetch(url, { headers });
    expect([limited.status, limited.headers.get("retry-after")]).toEqual([429, "2"]);
    expect((await fetch(url, { headers })).status).toBe(200);
    expect((await fetch(url, { headers: { authorization: "token wrong" } })).status).toBe(401);

    const { data: release } = await octokit.rest.repos.createRelease({
      owner,
      repo,
      tag_name: "v1",
      target_commitish: commit,
      draft: true,
    });
    server.addFault({ method: "POST", path: /\/assets$/, interruptUpload: { afterBytes: 10 } });
    const cut = await octokit
      .request(`POST ${release.upload_url}`, {
        name: "big.bin",
        data: Buffer.alloc(4096, 7),
        headers: { "content-type": "application/octet-stream" },
      })
      .then(
        () => null,
        (error: Error) => error,
      );
    expect(cut).toBeInstanceOf(Error);
    const { data: after } = await octokit.rest.repos.getRelease({
      owner,
      repo,
      release_id: release.id,
    });
    expect(after.assets.map((asset) => [asset.name, asset.state, asset.size])).toEqual([
      ["big.bin", "open", 10],
    ]);
  });
});

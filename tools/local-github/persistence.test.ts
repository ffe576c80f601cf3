// The state folder: what one local GitHub made is there after a restart, and the CLI runs it.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { getOctokit } from "@actions/github";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startLocalGitHub } from "./server.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "local-github-state-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("state folder", () => {
  it("keeps the repository, releases with assets, pull requests, comments, settings, tokens and events across restarts", async () => {
    const stateDir = join(dir, ".local-github");
    const first = await startLocalGitHub({ stateDir });
    const commit = await first.commitFiles("main", { "README.md": "# repo\n" });
    await first.commitFiles("promote/x", { "deploy/production.json": "{}\n" });
    await first.updateSettings({ immutableReleases: true, rateLimits: { github_token: 10 } });
    const appToken = await first.mintToken({
      kind: "app",
      app: "promoter",
      permissions: { contents: "write", "pull-requests": "write" },
    });
    const octokit = getOctokit(appToken, { baseUrl: first.apiUrl });
    const { owner, repo } = first;
    const { data: release } = await octokit.rest.repos.createRelease({
      owner,
      repo,
      tag_name: "v1",
      target_commitish: commit,
      draft: true,
    });
    await octokit.request(`POST ${release.upload_url}`, {
      name: "model.bin",
      data: Buffer.from("model bytes"),
      headers: { "content-type": "application/octet-stream" },
    });
    await octokit.rest.repos.updateRelease({ owner, repo, release_id: release.id, draft: false });
    const { data: pull } = await octokit.rest.pulls.create({
      owner,
      repo,
      head: "promote/x",
      base: "main",
      title: "Promote",
    });
    await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: pull.number,
      body: "report",
    });
    const eventCount = first.events.length;
    const ownerToken = first.token;
    await first.close();
    // Written whole, then renamed: no temp file stays behind.
    expect((await readdir(stateDir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect((await stat(join(stateDir, "state.json"))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(stateDir, "owner-token"), "utf8")).trim()).toBe(ownerToken);

    const second = await startLocalGitHub({ stateDir });
    try {
      expect(second.token).toBe(ownerToken);
      expect(second.settings).toMatchObject({
        immutableReleases: true,
        rateLimits: { github_token: 10 },
      });
      expect(second.events).toHaveLength(eventCount);
      const again = getOctokit(appToken, { baseUrl: second.apiUrl });
      const { data: kept } = await again.rest.repos.getReleaseByTag({ owner, repo, tag: "v1" });
      expect(kept).toMatchObject({
        immutable: true,
        assets: [{ name: "model.bin", state: "uploaded" }],
      });
      const download = await again.request("GET /repos/{owner}/{repo}/releases/assets/{asset_id}", {
        owner,
        repo,
        asset_id: kept.assets[0].id,
        headers: { accept: "application/octet-stream" },
      });
      expect(Buffer.from(download.data as unknown as ArrayBuffer).toString()).toBe("model bytes");
      const { data: pulls } = await again.rest.pulls.list({ owner, repo });
      expect(pulls.map((item) => [item.number, item.user?.login])).toEqual([
        [pull.number, "promoter[bot]"],
      ]);
      const { data: comments } = await again.rest.issues.listComments({
        owner,
        repo,
        issue_number: pull.number,
      });
      expect(comments.map((comment) => comment.body)).toEqual(["report"]);
      expect((await second.git(["rev-parse", "main"])).trim()).toBe(commit);
      expect(second.violations).toEqual([]);
    } finally {
      await second.close();
    }
    expect((await stat(stateDir)).isDirectory()).toBe(true);
  });

  it("records pushes made while it was down when it starts again", async () => {
    const stateDir = join(dir, "state");
    const first = await startLocalGitHub({ stateDir });
    const commit = await first.commitFiles("main", { "README.md": "# repo\n" });
    await first.close();
    // A push straight to the bare repository while no server runs.
    await first.git(["update-ref", "refs/heads/feature", commit]);
    const second = await startLocalGitHub({ stateDir });
    try {
      expect(
        second.events.filter((event) => event.ref === "feature").map((event) => event.name),
      ).toEqual(["create"]);
    } finally {
      await second.close();
    }
  });
});

describe("node tools/local-github/main.ts", () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill("SIGKILL");
  });

  it("prints where it answers, serves the owner's token from a file, and stops on SIGTERM", async () => {
    const stateDir = join(dir, ".local-github");
    child = spawn(process.execPath, [MAIN, "--state-dir", stateDir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [line] = await createInterface({ input: child.stdout as NodeJS.ReadableStream })
      [Symbol.asyncIterator]()
      .next()
      .then((result) => [result.value as string]);
    const info = JSON.parse(line) as Record<string, string>;
    expect(info).toMatchObject({
      repository: "octo-org/house-price",
      stateDir,
      gitDir: join(stateDir, "house-price.git"),
    });
    expect(line).not.toContain("ghp_");
    const token = (await readFile(info.tokenFile, "utf8")).trim();
    const response = await fetch(`${info.apiUrl}/repos/octo-org/house-price`, {
      headers: { authorization: `token ${token}` },
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(await readFile(join(stateDir, "server.json"), "utf8")).apiUrl).toBe(
      info.apiUrl,
    );
    const exited = new Promise<number | null>((resolve) => child?.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    await expect(stat(join(stateDir, "server.json"))).rejects.toThrow();
  });

  it("explains a bad option and exits 2", async () => {
    child = spawn(process.execPath, [MAIN, "--port", "x"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child?.once("exit", resolve));
    expect([code, stderr.trim()]).toEqual([
      2,
      '--port "x": expected a port number from 0 to 65535',
    ]);
  });
});

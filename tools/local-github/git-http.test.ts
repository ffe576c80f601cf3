// Git over HTTP with GitHub's token rules: a real git client clones and pushes through
// `git http-backend`, and each push is recorded with the kind of token that made it.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalGitHub, startLocalGitHub } from "./server.ts";

let hub: LocalGitHub;
let work: string;

const IDENTITY = {
  GIT_AUTHOR_NAME: "dev",
  GIT_AUTHOR_EMAIL: "dev@example.invalid",
  GIT_COMMITTER_NAME: "dev",
  GIT_COMMITTER_EMAIL: "dev@example.invalid",
};

/** Runs git with the token as the password of the clone URL, as actions/checkout sends it. */
function git(
  cwd: string,
  token: string | null,
  args: string[],
): Promise<{ exitCode: number; stderr: string }> {
  const header = token
    ? [
        "-c",
        `http.extraHeader=Authorization: basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`,
      ]
    : [];
  return new Promise((resolve) => {
    execFile(
      "git",
      [...header, ...args],
      { cwd, env: { ...process.env, ...IDENTITY, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" } },
      (error, _stdout, stderr) =>
        resolve({ exitCode: error ? Number(error.code ?? 1) : 0, stderr }),
    );
  });
}

beforeEach(async () => {
  hub = await startLocalGitHub();
  await hub.commitFiles("main", {
    "README.md": "# repo\n",
    ".github/workflows/build.yml":
      "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps: [{ run: echo }]\n",
  });
  for (const run of await hub.pendingRuns())
    await hub.updateRun(run.id, { status: "completed", conclusion: "success" });
  work = await mkdtemp(join(tmpdir(), "git-http-"));
});

afterEach(async () => {
  await hub.close();
  await rm(work, { recursive: true, force: true });
});

describe("git over HTTP", () => {
  it("clones and pushes with a token; a person's push starts runs, a GITHUB_TOKEN's starts none", async () => {
    const clone = join(work, "clone");
    expect((await git(work, hub.token, ["clone", "-q", hub.cloneUrl, clone])).exitCode).toBe(0);
    await writeFile(join(clone, "a.txt"), "a\n");
    await git(clone, null, ["add", "a.txt"]);
    await git(clone, null, ["commit", "-qm", "a"]);
    expect((await git(clone, hub.token, ["push", "-q", "origin", "HEAD:main"])).exitCode).toBe(0);
    const pushed = (await hub.git(["rev-parse", "main"])).trim();
    expect(
      hub.events.find((event) => event.name === "push" && event.sha === pushed)?.cause.kind,
    ).toBe("user");
    const [run] = await hub.pendingRuns();
    expect(run).toMatchObject({ workflow: ".github/workflows/build.yml", sha: pushed });
    await hub.updateRun(run.id, { status: "completed", conclusion: "success" });

    const bot = await hub.mintToken({ kind: "github_token", permissions: { contents: "write" } });
    await writeFile(join(clone, "b.txt"), "b\n");
    await git(clone, null, ["add", "b.txt"]);
    await git(clone, null, ["commit", "-qm", "b"]);
    expect((await git(clone, bot, ["push", "-q", "origin", "HEAD:main"])).exitCode).toBe(0);
    const botSha = (await hub.git(["rev-parse", "main"])).trim();
    const botPush = hub.events.find((event) => event.name === "push" && event.sha === botSha);
    expect(botPush?.cause.kind).toBe("github_token");
    expect(botPush?.suppressed).toMatch(/GITHUB_TOKEN/);
    expect(await hub.pendingRuns()).toEqual([]);
  });

  it("refuses a token without contents: write, no token at all, and a tag a ruleset restricts", async () => {
    const clone = join(work, "clone");
    const reader = await hub.mintToken({ kind: "github_token", permissions: { contents: "read" } });
    const anonymous = await git(work, null, [
      "-c",
      "credential.helper=",
      "clone",
      "-q",
      hub.cloneUrl,
      join(work, "x"),
    ]);
    expect(anonymous.exitCode).not.toBe(0);
    expect((await git(work, reader, ["clone", "-q", hub.cloneUrl, clone])).exitCode).toBe(0);
    const denied = await git(clone, reader, ["push", "origin", "HEAD:refs/heads/x"]);
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toContain("403");

    await hub.updateSettings({
      tagRulesets: [
        {
          name: "production",
          pattern: "house-price#production#*",
          allowedActors: ["app:deployer"],
        },
      ],
    });
    const writer = await hub.mintToken({
      kind: "github_token",
      permissions: { contents: "write" },
    });
    await git(clone, null, ["tag", "house-price#production#1"]);
    const refused = await git(clone, writer, [
      "push",
      "origin",
      "refs/tags/house-price#production#1",
    ]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("GH013: Repository rule violations found");
    expect(refused.stderr).toContain("Cannot create ref due to creations being restricted.");
    expect(await hub.git(["tag", "-l"])).toBe("");
    const deployer = await hub.mintToken({
      kind: "app",
      app: "deployer",
      permissions: { contents: "write" },
    });
    expect(
      (await git(clone, deployer, ["push", "-q", "origin", "refs/tags/house-price#production#1"]))
        .exitCode,
    ).toBe(0);
    expect((await hub.git(["tag", "-l"])).trim()).toBe("house-price#production#1");
  });
});

// Pushing a checkout's commit to a real local GitHub as main: the first push, a fast-forward,
// main ahead after a merge, a commit of yours made since (merged there), and a conflict.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGit } from "../../lib/registry/git.ts";
import { createTempRepo, type TempRepo } from "../../test/support/git-repo.ts";
import { type LocalGitHub, startLocalGitHub } from "../local-github/server.ts";
import type { RunningHub } from "./hub.ts";
import { pushHead } from "./push.ts";

describe("pushHead", () => {
  let github: LocalGitHub;
  let hub: RunningHub;
  let checkout: TempRepo;

  beforeAll(async () => {
    github = await startLocalGitHub();
    hub = {
      apiUrl: github.apiUrl,
      repository: github.repository,
      gitDir: github.gitDir,
      ownerToken: github.token,
      pid: process.pid,
      htmlUrl: `${github.apiUrl}/html/${github.repository}`,
    };
    checkout = await createTempRepo("session-push-");
  });

  afterAll(async () => {
    await github?.close();
    await checkout?.cleanup();
  });

  const mainThere = async () => (await runGit(github.gitDir, ["rev-parse", "main"])).trim();

  it("pushes the first commit as main, then only what is new, as the owner's pushes", async () => {
    const first = await pushHead(hub, checkout.dir);
    expect(first).toMatchObject({
      outcome: "created",
      head: checkout.commit,
      main: checkout.commit,
    });
    expect(await mainThere()).toBe(checkout.commit);
    expect((await pushHead(hub, checkout.dir)).outcome).toBe("unchanged");

    const next = await checkout.commitFiles({ "params.json": "{}\n" });
    expect((await pushHead(hub, checkout.dir)).outcome).toBe("fast-forward");
    expect(await mainThere()).toBe(next);
    const pushes = github.events.filter(
      (event) => event.name === "push" && event.ref === "refs/heads/main",
    );
    expect(pushes.map((event) => [event.sha, event.cause.kind])).toEqual([
      [checkout.commit, "user"],
      [next, "user"],
    ]);
    // The objects went over on a ref of the session's own, which is gone again.
    expect(await runGit(github.gitDir, ["for-each-ref", "refs/local-session"])).toBe("");
  });

  it("leaves main alone when it is ahead (a merged pull request), and says uncommitted changes stay behind", async () => {
    const merged = await github.commitFiles("main", {
      "deploy/production.json": '{"version":"v1.0.0"}\n',
    });
    await writeFile(join(checkout.dir, "params.json"), '{"changed":true}\n');
    const pushed = await pushHead(hub, checkout.dir);
    expect(pushed).toMatchObject({ outcome: "behind", main: merged, uncommitted: ["params.json"] });
    await checkout.git(["checkout", "--", "params.json"]);
  });

  it("merges a commit of yours made since with main there", async () => {
    const before = await mainThere();
    const mine = await checkout.commitFiles({ "stages/README.md": "mine\n" });
    const pushed = await pushHead(hub, checkout.dir);
    expect(pushed.outcome).toBe("merged");
    expect(await mainThere()).toBe(pushed.main);
    const parents = (await runGit(github.gitDir, ["rev-list", "--parents", "-n", "1", pushed.main]))
      .trim()
      .split(" ")
      .slice(1);
    expect(parents).toEqual([before, mine]);
    const files = await runGit(github.gitDir, ["ls-tree", "-r", "--name-only", pushed.main]);
    expect(files.split("\n")).toEqual(
      expect.arrayContaining(["deploy/production.json", "stages/README.md"]),
    );
  });

  it("refuses to merge when your commit and main change the same lines, naming the file", async () => {
    const before = await mainThere();
    await checkout.git(["reset", "-q", "--hard", checkout.commit]);
    await checkout.commitFiles({ "deploy/production.json": '{"version":"v9.9.9"}\n' });
    await expect(pushHead(hub, checkout.dir)).rejects.toThrow(
      /both change deploy\/production\.json: merge its main into your branch/,
    );
    expect(await mainThere()).toBe(before);
  });
});

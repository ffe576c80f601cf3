// Pushing the checkout's commit to the local GitHub as main, as its owner. After a merge the
// local GitHub's main has commits the checkout lacks (the merged pull requests); a commit of yours
// made since is then merged with them there, as `git pull` and `git push` would do.

import { UsageError } from "../../lib/cli/program.ts";
import type { RunningHub } from "./hub.ts";
import { hubRequest } from "./runner.ts";
import { sh } from "./shell.ts";

/** How main on the local GitHub came to be the commit that runs. */
export type PushOutcome =
  | "created" // the first push: main is your commit
  | "fast-forward" // main moved on to your commit
  | "unchanged" // main already is your commit
  | "behind" // main holds your commit and merged pull requests after it
  | "merged"; // your commit and main's merged pull requests, merged

export interface Pushed {
  outcome: PushOutcome;
  /** Your commit. */
  head: string;
  /** main on the local GitHub now. */
  main: string;
  /** Tracked files with changes that are not committed (and so not pushed). */
  uncommitted: string[];
}

const INCOMING = "refs/local-session/incoming";
const IDENTITY = {
  GIT_AUTHOR_NAME: "local session",
  GIT_AUTHOR_EMAIL: "local-session@example.invalid",
  GIT_COMMITTER_NAME: "local session",
  GIT_COMMITTER_EMAIL: "local-session@example.invalid",
};

/** Pushes `repoDir`'s HEAD to the local GitHub's main and records the push (as the owner's). */
export async function pushHead(hub: RunningHub, repoDir: string): Promise<Pushed> {
  const here = sh({ cwd: repoDir });
  const there = sh({ cwd: hub.gitDir });
  const isRepo = await here({ nothrow: true })`git rev-parse --verify -q HEAD`;
  if (isRepo.exitCode !== 0) {
    throw new UsageError(
      `${repoDir} is not a git checkout with a commit: the local GitHub runs commits. Clone the repository (git clone), or commit your files first.`,
    );
  }
  const head = isRepo.stdout.trim();
  const uncommitted = (await here`git status --porcelain --untracked-files=no`).stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => line.slice(3));
  // The commit's objects go over first, so every question below is asked in one repository.
  await here`git push -q ${hub.gitDir} +${head}:${INCOMING}`;
  const before = (
    await there({ nothrow: true })`git rev-parse --verify -q refs/heads/main`
  ).stdout.trim();
  const isAncestor = async (a: string, b: string) =>
    (await there({ nothrow: true })`git merge-base --is-ancestor ${a} ${b}`).exitCode === 0;
  let outcome: PushOutcome;
  let main = head;
  try {
    if (!before) outcome = "created";
    else if (before === head) outcome = "unchanged";
    else if (await isAncestor(before, head)) outcome = "fast-forward";
    else if (await isAncestor(head, before)) {
      outcome = "behind";
      main = before;
    } else {
      outcome = "merged";
      main = await mergeOnMain(hub.gitDir, before, head);
    }
    if (outcome === "created" || outcome === "fast-forward") {
      await here`git push -q ${hub.gitDir} ${head}:refs/heads/main`;
    }
  } finally {
    await there`git update-ref -d ${INCOMING}`;
  }
  // Pushes straight to the bare repository are recorded (as the owner's) by the next /_local/ call.
  await hubRequest(hub, "POST", "/_local/sync");
  return { outcome, head, main, uncommitted };
}

/** Merges `head` into main (at `before`) in the bare repository; refuses on conflicts. */
async function mergeOnMain(gitDir: string, before: string, head: string): Promise<string> {
  const there = sh({ cwd: gitDir, env: { ...process.env, ...IDENTITY } });
  const merged = await there({
    nothrow: true,
  })`git merge-tree --write-tree --name-only ${before} ${head}`;
  // The tree, then (on conflicts, exit 1) the conflicting files, a blank line and git's messages.
  const [tree, ...conflicts] = merged.stdout.split("\n\n")[0].trim().split("\n");
  if (merged.exitCode !== 0) {
    throw new UsageError(
      `your commit and the local GitHub's main (its merged pull requests) both change ${conflicts.join(", ") || "the same files"}: merge its main into your branch (git pull ${gitDir} main), resolve, commit, and run again`,
    );
  }
  const message = `Merge ${head.slice(0, 12)} into main\n\nYour commit, merged with the pull requests merged on main since.\n`;
  const commit = (
    await there`git commit-tree ${tree} -p ${before} -p ${head} -m ${message}`
  ).stdout.trim();
  await there`git update-ref refs/heads/main ${commit} ${before}`;
  return commit;
}

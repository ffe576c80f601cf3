import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { identityEnv, resolveRev, runGit, runGitWithCode } from "./git.ts";
import type { ChangeProposer, ProposalResult, ProposedChange } from "./proposal.ts";

// Proposals in a local repository: the branch and its commit are built with git plumbing in a
// temporary index, so the user's working tree, index and checked-out branch are never touched.

/** A ChangeProposer on the git repository containing `dir`. */
export async function createLocalProposer(dir: string): Promise<ChangeProposer> {
  const root = (await runGit(dir, ["rev-parse", "--show-toplevel"])).trim();

  async function readAt(ref: string, path: string): Promise<string | null> {
    const { stdout, exitCode } = await runGitWithCode(
      root,
      ["cat-file", "blob", `${ref}:${path}`],
      {
        okExitCodes: [128],
      },
    );
    return exitCode === 0 ? stdout : null;
  }

  async function baseName(base: string | undefined): Promise<string> {
    if (base) return base;
    const { stdout, exitCode } = await runGitWithCode(
      root,
      ["symbolic-ref", "-q", "--short", "HEAD"],
      {
        okExitCodes: [1],
      },
    );
    return exitCode === 0 ? stdout.trim() : "HEAD";
  }

  async function commitFile(parent: string, change: ProposedChange): Promise<string> {
    const scratch = await mkdtemp(join(tmpdir(), "registry-index-"));
    const env = { ...(await identityEnv(root)), GIT_INDEX_FILE: join(scratch, "index") };
    try {
      await runGit(root, ["read-tree", parent], { env });
      const blob = (
        await runGit(root, ["hash-object", "-w", "--stdin"], { input: change.content })
      ).trim();
      await runGit(
        root,
        ["update-index", "--add", "--cacheinfo", `100644,${blob},${change.path}`],
        { env },
      );
      const tree = (await runGit(root, ["write-tree"], { env })).trim();
      const message = `${change.commitMessage}\n\n${change.body.trim()}\n`;
      return (
        await runGit(root, ["commit-tree", tree, "-p", parent, "-F", "-"], { env, input: message })
      ).trim();
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  return {
    kind: "local",

    async readFile(path, ref) {
      return readAt(ref ?? "HEAD", path);
    },

    async propose(change): Promise<ProposalResult> {
      await runGit(root, ["check-ref-format", "--branch", change.branch]);
      const base = await baseName(change.base);
      const baseCommit = await resolveRev(root, `${change.base ?? "HEAD"}^{commit}`);
      if (!baseCommit) throw new Error(`base "${base}" is not a branch or commit of ${root}`);
      const branchRef = `refs/heads/${change.branch}`;
      const { stdout: head } = await runGitWithCode(root, ["symbolic-ref", "-q", "HEAD"], {
        okExitCodes: [1],
      });
      if (head.trim() === branchRef) {
        throw new Error(
          `${change.branch} is checked out in ${root}; switch to another branch and run again`,
        );
      }
      const existing = await resolveRev(root, branchRef);
      const instructions = (commit: string) =>
        [
          `Branch ${change.branch} (${commit.slice(0, 12)}) sets ${change.path} for: ${change.title}.`,
          `To apply it: git switch ${base} && git merge ${change.branch}`,
          `To review it as a pull request: git push -u origin ${change.branch} --tags`,
        ].join("\n");
      // A branch left from an earlier proposal is kept only when it is this change on top of the
      // base as it is now; otherwise it starts again from the base, so it never conflicts.
      const upToDate =
        existing !== null &&
        (await resolveRev(root, `${existing}^`)) === baseCommit &&
        (await readAt(existing, change.path)) === change.content;
      const unchangedFrom = upToDate
        ? existing
        : !existing && (await readAt(baseCommit, change.path)) === change.content
          ? baseCommit
          : null;
      if (unchangedFrom) {
        return {
          branch: change.branch,
          base,
          commit: unchangedFrom,
          changed: false,
          pullRequest: null,
          comment: null,
          dispatched: null,
          instructions: existing
            ? instructions(unchangedFrom)
            : `${change.path} on ${base} already has this content; nothing to merge.`,
        };
      }
      const parent = baseCommit;
      const commit = await commitFile(parent, change);
      // The expected old value makes this a compare-and-swap: a concurrent run fails instead of being overwritten.
      await runGit(root, [
        "update-ref",
        "-m",
        change.commitMessage,
        branchRef,
        commit,
        existing ?? "",
      ]);
      return {
        branch: change.branch,
        base,
        commit,
        changed: true,
        pullRequest: null,
        comment: null,
        dispatched: null,
        instructions: instructions(commit),
      };
    },
  };
}

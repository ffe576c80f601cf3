import type { GitHubRepo } from "./github-backend.ts";
import { type GitHubClient, statusOf } from "./github-client.ts";
import type { ChangeProposer, ProposalResult, ProposedChange } from "./proposal.ts";

// Proposals on GitHub: a branch from the base, one commit through the contents API, a pull
// request whose body is the report, and one comment found again by its hidden marker, so a rerun
// updates the same pull request and comment instead of opening new ones. A branch left from an
// earlier proposal is reset to the base first, so it never conflicts with what merged since.

/** GitHub's answer when "Allow GitHub Actions to create and approve pull requests" is off. */
const ACTIONS_MAY_NOT_CREATE_PRS = /not permitted to create or approve pull requests/i;

/** A ChangeProposer that opens pull requests on `target`. */
export function createGitHubProposer(client: GitHubClient, target: GitHubRepo): ChangeProposer {
  const { owner, repo } = target;
  let defaultBranch: string | undefined;

  async function baseBranch(base: string | undefined): Promise<string> {
    if (base) return base;
    defaultBranch ??= (await client.rest.repos.get({ owner, repo })).data.default_branch;
    return defaultBranch;
  }

  async function branchHead(branch: string): Promise<string | null> {
    try {
      return (await client.rest.git.getRef({ owner, repo, ref: `heads/${branch}` })).data.object
        .sha;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async function readFile(
    path: string,
    ref: string,
  ): Promise<{ content: string; sha: string } | null> {
    try {
      const { data } = await client.rest.repos.getContent({ owner, repo, path, ref });
      if (Array.isArray(data) || data.type !== "file" || !("content" in data)) return null;
      return { content: Buffer.from(data.content, "base64").toString("utf8"), sha: data.sha };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  const proposer: ChangeProposer = {
    kind: "github",

    async readFile(path, ref) {
      return (await readFile(path, ref ?? (await baseBranch(undefined))))?.content ?? null;
    },

    async propose(change): Promise<ProposalResult> {
      const base = await baseBranch(change.base);
      const baseSha = await branchHead(base);
      if (!baseSha) throw new Error(`base branch ${base} does not exist in ${owner}/${repo}`);
      const createdBranch = await startBranch(change.branch, baseSha, change);
      const current = await readFile(change.path, change.branch);
      let head = (await branchHead(change.branch)) ?? baseSha;
      const changed = current?.content !== change.content;
      if (changed) {
        const { data } = await client.rest.repos.createOrUpdateFileContents({
          owner,
          repo,
          path: change.path,
          branch: change.branch,
          message: change.commitMessage,
          content: Buffer.from(change.content).toString("base64"),
          ...(current ? { sha: current.sha } : {}),
        });
        head = data.commit.sha ?? head;
      }
      try {
        return await openPullRequest(change, base, baseSha, head, changed);
      } catch (error) {
        if (statusOf(error) === 403 && ACTIONS_MAY_NOT_CREATE_PRS.test((error as Error).message)) {
          // Leave no orphan branch behind: the next run starts clean once the setting is on.
          if (createdBranch)
            await client.rest.git.deleteRef({ owner, repo, ref: `heads/${change.branch}` });
          throw new Error(
            `${owner}/${repo} does not let GitHub Actions open pull requests, so the promotion of ${change.branch} stopped (the branch was ${createdBranch ? "removed" : "left as it was"}). ` +
              "Turn on Settings → Actions → General → Workflow permissions → “Allow GitHub Actions to create and approve pull requests”, " +
              "or give the workflow a GitHub App token (repository variable HOUSE_PRICE_APP_ID and secret HOUSE_PRICE_APP_PRIVATE_KEY; see the README's “Set up on GitHub”).",
          );
        }
        throw error;
      }
    },
  };

  /** Makes `branch` start at `baseSha`, keeping it only when it holds just `change` on top of the
   * base already. Returns whether it had to be created. */
  async function startBranch(
    branch: string,
    baseSha: string,
    change: { path: string; content: string },
  ): Promise<boolean> {
    const head = await branchHead(branch);
    if (!head) {
      try {
        await client.rest.git.createRef({ owner, repo, ref: `refs/heads/${branch}`, sha: baseSha });
        return true;
      } catch (error) {
        // A concurrent run created it: carry on with theirs.
        if (statusOf(error) !== 422) throw error;
        return false;
      }
    }
    if (head === baseSha) return false;
    const { data: commit } = await client.rest.git.getCommit({ owner, repo, commit_sha: head });
    const upToDate =
      commit.parents.length === 1 &&
      commit.parents[0].sha === baseSha &&
      (await readFile(change.path, branch))?.content === change.content;
    if (!upToDate) {
      await client.rest.git.updateRef({
        owner,
        repo,
        ref: `heads/${branch}`,
        sha: baseSha,
        force: true,
      });
    }
    return false;
  }

  async function openPullRequest(
    change: ProposedChange,
    base: string,
    baseSha: string,
    head: string,
    changed: boolean,
  ): Promise<ProposalResult> {
    const result: ProposalResult = {
      branch: change.branch,
      base,
      commit: head,
      changed,
      pullRequest: null,
      comment: null,
      instructions: null,
      dispatched: null,
    };
    if (head === baseSha) {
      // Nothing differs from the base: GitHub would refuse a pull request with no commits.
      return {
        ...result,
        instructions: `${change.path} on ${base} already has this content; nothing to merge.`,
      };
    }
    const open = await client.rest.pulls.list({
      owner,
      repo,
      head: `${owner}:${change.branch}`,
      base,
      state: "open",
    });
    const found = open.data[0];
    const pull = found
      ? (
          await client.rest.pulls.update({
            owner,
            repo,
            pull_number: found.number,
            title: change.title,
            body: change.body,
          })
        ).data
      : (
          await client.rest.pulls.create({
            owner,
            repo,
            head: change.branch,
            base,
            title: change.title,
            body: change.body,
          })
        ).data;
    const createdPull = !found;
    const comments = await client.paginate(client.rest.issues.listComments, {
      owner,
      repo,
      issue_number: pull.number,
      per_page: 100,
    });
    const existing = comments.find((comment) => comment.body?.includes(change.marker));
    const comment = existing
      ? (
          await client.rest.issues.updateComment({
            owner,
            repo,
            comment_id: existing.id,
            body: change.comment,
          })
        ).data
      : (
          await client.rest.issues.createComment({
            owner,
            repo,
            issue_number: pull.number,
            body: change.comment,
          })
        ).data;
    if (change.checksWorkflow) {
      await client.rest.actions.createWorkflowDispatch({
        owner,
        repo,
        workflow_id: change.checksWorkflow,
        ref: change.branch,
      });
    }
    return {
      ...result,
      pullRequest: { number: pull.number, url: pull.html_url, created: createdPull },
      comment: { id: String(comment.id), url: comment.html_url, created: !existing },
      dispatched: change.checksWorkflow ?? null,
    };
  }

  return proposer;
}

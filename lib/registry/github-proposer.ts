import type { GitHubRepo } from "./github-backend.ts";
import { type GitHubClient, statusOf } from "./github-client.ts";
import type { ChangeProposer, ProposalResult } from "./proposal.ts";

// Proposals on GitHub: a branch from the base, one commit through the contents API, a pull
// request whose body is the report, and one comment found again by its hidden marker, so a rerun
// updates the same pull request and comment instead of opening new ones.

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

  return {
    kind: "github",

    async readFile(path, ref) {
      return (await readFile(path, ref ?? (await baseBranch(undefined))))?.content ?? null;
    },

    async propose(change): Promise<ProposalResult> {
      const base = await baseBranch(change.base);
      const baseSha = await branchHead(base);
      if (!baseSha) throw new Error(`base branch ${base} does not exist in ${owner}/${repo}`);
      if (!(await branchHead(change.branch))) {
        try {
          await client.rest.git.createRef({
            owner,
            repo,
            ref: `refs/heads/${change.branch}`,
            sha: baseSha,
          });
        } catch (error) {
          // A concurrent run created it: carry on with theirs.
          if (statusOf(error) !== 422) throw error;
        }
      }
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
      const result: ProposalResult = {
        branch: change.branch,
        base,
        commit: head,
        changed,
        pullRequest: null,
        comment: null,
        instructions: null,
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
      return {
        ...result,
        pullRequest: { number: pull.number, url: pull.html_url, created: createdPull },
        comment: { id: String(comment.id), url: comment.html_url, created: !existing },
      };
    },
  };
}

import { HttpError } from "../git-repo.ts";
import { causeOf, type Hub, paginate, type Route, str } from "../hub.ts";
import { assertMayCreatePullRequest } from "../rules.ts";
import { commentJson, pullJson } from "../shapes.ts";
import { isoSeconds, type StandInComment, type StandInPull } from "../store.ts";

// Pull requests (with real merge commits) and their conversation comments.

export function pullRoutes(hub: Hub): Route[] {
  const { site, git, state } = hub;
  const json = (pull: StandInPull) => pullJson(site, git, state, pull);

  function findPull(number: string): StandInPull {
    const pull = state.pulls.find((candidate) => candidate.number === Number(number));
    if (!pull) throw new HttpError(404, "Not Found");
    return pull;
  }

  async function branchSha(branch: string): Promise<string> {
    const sha = await git.revParse(`refs/heads/${branch}`);
    if (!sha) throw new HttpError(404, `Branch not found: ${branch}`);
    return sha;
  }

  return [
    {
      method: "GET",
      path: "/pulls",
      permission: "pull-requests:read",
      async handler({ url }) {
        const wanted = url.searchParams.get("state") ?? "open";
        const head = url.searchParams.get("head");
        const base = url.searchParams.get("base");
        const matching = state.pulls.filter(
          (pull) =>
            (wanted === "all" || pull.state === wanted) &&
            (!head || `${site.owner}:${pull.head}` === head) &&
            (!base || pull.base === base),
        );
        const page = paginate(hub, [...matching].reverse(), url);
        return { ...page, body: await Promise.all((page.body as StandInPull[]).map(json)) };
      },
    },
    {
      method: "POST",
      path: "/pulls",
      permission: "pull-requests:write",
      async handler({ body, principal }) {
        assertMayCreatePullRequest(hub, principal);
        const head = str(body, "head")?.replace(`${site.owner}:`, "");
        const base = str(body, "base");
        const title = str(body, "title");
        if (!head || !base || !title) {
          throw new HttpError(422, "Validation Failed", [
            { resource: "PullRequest", code: "missing_field", field: "head" },
          ]);
        }
        const headSha = await git.revParse(`refs/heads/${head}`);
        const baseSha = await git.revParse(`refs/heads/${base}`);
        if (!headSha || !baseSha) {
          throw new HttpError(422, "Validation Failed", [
            { resource: "PullRequest", code: "invalid", field: headSha ? "base" : "head" },
          ]);
        }
        if (
          state.pulls.some(
            (pull) => pull.state === "open" && pull.head === head && pull.base === base,
          )
        ) {
          throw new HttpError(422, `A pull request already exists for ${site.owner}:${head}.`, [
            { resource: "PullRequest", code: "custom", field: "head" },
          ]);
        }
        if (await git.isAncestor(headSha, baseSha)) {
          throw new HttpError(422, `No commits between ${base} and ${head}`, [
            { resource: "PullRequest", code: "custom", field: "head" },
          ]);
        }
        const now = isoSeconds();
        const pull: StandInPull = {
          number: state.pulls.length + 1,
          head,
          base,
          title,
          body: str(body, "body") ?? null,
          state: "open",
          merged: false,
          merge_commit_sha: null,
          user: principal.login,
          created_at: now,
          updated_at: now,
          closed_at: null,
          merged_at: null,
        };
        state.pulls.push(pull);
        await hub.triggers.pullRequestEvent(pull, "opened", causeOf(principal));
        return {
          status: 201,
          body: await json(pull),
          headers: { location: `${site.repoApi}/pulls/${pull.number}` },
        };
      },
    },
    {
      method: "GET",
      path: "/pulls/:number",
      permission: "pull-requests:read",
      handler: async ({ params }) => ({ status: 200, body: await json(findPull(params.number)) }),
    },
    {
      method: "PATCH",
      path: "/pulls/:number",
      permission: "pull-requests:write",
      async handler({ params, body, principal }) {
        const pull = findPull(params.number);
        if (typeof body.title === "string") pull.title = body.title;
        if (typeof body.body === "string") pull.body = body.body;
        let action: string | null = null;
        if (
          (body.state === "closed" || body.state === "open") &&
          body.state !== pull.state &&
          !pull.merged
        ) {
          pull.state = body.state;
          pull.closed_at = body.state === "closed" ? isoSeconds() : null;
          action = body.state === "closed" ? "closed" : "reopened";
        }
        pull.updated_at = isoSeconds();
        if (action) await hub.triggers.pullRequestEvent(pull, action, causeOf(principal));
        return { status: 200, body: await json(pull) };
      },
    },
    {
      method: "PUT",
      path: "/pulls/:number/merge",
      permission: "contents:write",
      async handler({ params, body, principal }) {
        const pull = findPull(params.number);
        if (pull.state !== "open") throw new HttpError(405, "Pull Request is not mergeable");
        const headSha = await branchSha(pull.head);
        const baseSha = await branchSha(pull.base);
        if (str(body, "sha") && str(body, "sha") !== headSha) {
          throw new HttpError(409, "Head branch was modified. Review and try the merge again.");
        }
        const message = `${str(body, "commit_title") ?? `Merge pull request #${pull.number} from ${site.owner}/${pull.head}`}\n\n${str(body, "commit_message") ?? pull.title}\n`;
        const commit = await git.mergeCommit(baseSha, headSha, message);
        if (!commit) throw new HttpError(405, "Pull Request is not mergeable");
        if (!(await git.updateRef(`refs/heads/${pull.base}`, commit, baseSha))) {
          throw new HttpError(409, "Base branch was modified. Review and try the merge again.");
        }
        const now = isoSeconds();
        Object.assign(pull, {
          state: "closed",
          merged: true,
          merge_commit_sha: commit,
          merged_at: now,
          closed_at: now,
          updated_at: now,
        });
        // The merge is a push to the base by whoever merged, then the PR's `closed` activity.
        const cause = causeOf(principal);
        await hub.triggers.syncRefs(cause);
        await hub.triggers.pullRequestEvent(pull, "closed", cause);
        return {
          status: 200,
          body: { sha: commit, merged: true, message: "Pull Request successfully merged" },
        };
      },
    },
    {
      method: "GET",
      path: "/issues/:number/comments",
      permission: "issues:read|pull-requests:read",
      async handler({ params, url }) {
        findPull(params.number);
        const items = state.comments.filter((comment) => comment.issue === Number(params.number));
        return paginate(
          hub,
          items.map((comment) => commentJson(site, comment)),
          url,
        );
      },
    },
    {
      method: "POST",
      path: "/issues/:number/comments",
      permission: "issues:write|pull-requests:write",
      async handler({ params, body, principal }) {
        findPull(params.number);
        const text = str(body, "body");
        if (!text) {
          throw new HttpError(422, "Validation Failed", [
            { resource: "IssueComment", code: "missing_field", field: "body" },
          ]);
        }
        const now = isoSeconds();
        const comment: StandInComment = {
          id: hub.store.nextId(),
          issue: Number(params.number),
          body: text,
          user: principal.login,
          created_at: now,
          updated_at: now,
        };
        state.comments.push(comment);
        return {
          status: 201,
          body: commentJson(site, comment),
          headers: { location: `${site.repoApi}/issues/comments/${comment.id}` },
        };
      },
    },
    {
      method: "PATCH",
      path: "/issues/comments/:id",
      permission: "issues:write|pull-requests:write",
      async handler({ params, body }) {
        const comment = state.comments.find((candidate) => candidate.id === Number(params.id));
        if (!comment) throw new HttpError(404, "Not Found");
        const text = str(body, "body");
        if (!text) {
          throw new HttpError(422, "Validation Failed", [
            { resource: "IssueComment", code: "missing_field", field: "body" },
          ]);
        }
        comment.body = text;
        comment.updated_at = isoSeconds();
        return { status: 200, body: commentJson(site, comment) };
      },
    },
  ];
}

import { BOT_IDENTITY, HttpError } from "../git-repo.ts";
import { type Hub, type Route, str } from "../hub.ts";
import { contentJson } from "../shapes.ts";
import { isoSeconds } from "../store.ts";

// Files through the contents API: read at a ref, or commit one file on a branch.

export function contentRoutes(hub: Hub): Route[] {
  const { site, git } = hub;
  return [
    {
      method: "GET",
      path: "/contents/*path",
      permission: "contents:read",
      async handler({ params, url }) {
        const ref = url.searchParams.get("ref") ?? site.defaultBranch;
        const blob = await git.revParse(`${ref}:${params.path}`);
        if (!blob || (await git.objectType(blob)) !== "blob") throw new HttpError(404, "Not Found");
        return { status: 200, body: await contentJson(site, git, params.path, ref, blob) };
      },
    },
    {
      method: "PUT",
      path: "/contents/*path",
      permission: "contents:write",
      async handler({ params, body }) {
        const branch = str(body, "branch") ?? site.defaultBranch;
        const message = str(body, "message");
        const content = str(body, "content");
        if (!message || content === undefined) {
          throw new HttpError(422, "Invalid request: message and content are required");
        }
        const head = await git.revParse(`refs/heads/${branch}`);
        const existing = head ? await git.revParse(`${head}:${params.path}`) : null;
        if (existing && !str(body, "sha")) {
          throw new HttpError(422, `Invalid request.\n\n"sha" wasn't supplied.`);
        }
        if (existing && str(body, "sha") !== existing) {
          throw new HttpError(409, `${params.path} does not match ${str(body, "sha")}`);
        }
        const commit = await git.commitOnBranch(
          branch,
          [{ path: params.path, content: Buffer.from(content, "base64") }],
          message,
        );
        const blob = (await git.revParse(`${commit}:${params.path}`)) as string;
        const parents = (await git.git(["rev-list", "--parents", "-n", "1", commit]))
          .trim()
          .split(" ")
          .slice(1);
        const tree = (await git.git(["rev-parse", `${commit}^{tree}`])).trim();
        const identity = { ...BOT_IDENTITY, date: isoSeconds() };
        return {
          status: existing ? 200 : 201,
          body: {
            content: await contentJson(site, git, params.path, branch, blob),
            commit: {
              sha: commit,
              node_id: `C_${commit.slice(0, 12)}`,
              url: `${site.repoApi}/git/commits/${commit}`,
              html_url: `${site.htmlUrl}/commit/${commit}`,
              author: identity,
              committer: identity,
              message,
              tree: { url: `${site.repoApi}/git/trees/${tree}`, sha: tree },
              parents: parents.map((sha) => ({
                url: `${site.repoApi}/git/commits/${sha}`,
                html_url: `${site.htmlUrl}/commit/${sha}`,
                sha,
              })),
              verification: {
                verified: false,
                reason: "unsigned",
                signature: null,
                payload: null,
                verified_at: null,
              },
            },
          },
        };
      },
    },
  ];
}

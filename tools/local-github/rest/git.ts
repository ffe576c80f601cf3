import { runGitWithCode } from "../../../lib/registry/git.ts";
import { HttpError } from "../git-repo.ts";
import { type Hub, type Route, str } from "../hub.ts";
import { assertMayCreateTag, assertTagMovable } from "../rules.ts";
import { commitJson, refJson, repositoryJson, tagJson } from "../shapes.ts";

// The repository itself and its git database: refs and annotated tags.

export function gitRoutes(hub: Hub): Route[] {
  const { site, git } = hub;
  return [
    {
      method: "GET",
      path: "",
      permission: "metadata:read",
      handler: async () => ({ status: 200, body: repositoryJson(site, hub.state) }),
    },
    {
      method: "GET",
      path: "/git/matching-refs/*ref",
      permission: "contents:read",
      async handler({ params }) {
        // GitHub answers every matching ref at once: this endpoint has no paging.
        const refs = await git.matchingRefs(`refs/${params.ref}`);
        return {
          status: 200,
          body: await Promise.all(
            refs.map(({ ref, sha, type }) => refJson(site, git, ref, sha, type)),
          ),
        };
      },
    },
    {
      method: "GET",
      path: "/git/commits/:sha",
      permission: "contents:read",
      async handler({ params }) {
        if ((await git.objectType(params.sha)) !== "commit") throw new HttpError(404, "Not Found");
        return { status: 200, body: await commitJson(site, git, params.sha) };
      },
    },
    {
      method: "GET",
      path: "/git/ref/*ref",
      permission: "contents:read",
      async handler({ params }) {
        const ref = `refs/${params.ref}`;
        const sha = (await git.listRefs())[ref];
        if (!sha) throw new HttpError(404, "Not Found");
        return { status: 200, body: await refJson(site, git, ref, sha) };
      },
    },
    {
      method: "POST",
      path: "/git/refs",
      permission: "contents:write",
      async handler({ body, principal }) {
        const ref = str(body, "ref");
        const sha = str(body, "sha");
        if (!ref || !sha || !ref.startsWith("refs/") || ref.split("/").length < 3) {
          throw new HttpError(422, "Reference name is invalid");
        }
        const { exitCode } = await runGitWithCode(git.gitDir, ["check-ref-format", ref], {
          okExitCodes: [1],
        });
        if (exitCode !== 0) throw new HttpError(422, `${ref} is not a valid ref name`);
        if (!(await git.objectType(sha))) throw new HttpError(422, "Object does not exist");
        if (ref.startsWith("refs/tags/")) assertMayCreateTag(hub, principal, ref.slice(10));
        if (!(await git.updateRef(ref, sha, "")))
          throw new HttpError(422, "Reference already exists");
        return {
          status: 201,
          body: await refJson(site, git, ref, sha),
          headers: { location: `${site.repoApi}/git/${ref}` },
        };
      },
    },
    {
      method: "PATCH",
      path: "/git/refs/*ref",
      permission: "contents:write",
      async handler({ params, body }) {
        const ref = `refs/${params.ref}`;
        const sha = str(body, "sha");
        const current = await git.revParse(ref);
        if (!current) throw new HttpError(422, "Reference does not exist");
        if (!sha || !(await git.objectType(sha))) throw new HttpError(422, "Object does not exist");
        assertTagMovable(hub, ref);
        if (body.force !== true && !(await git.isAncestor(current, sha))) {
          throw new HttpError(422, "Update is not a fast forward");
        }
        await git.git(["update-ref", ref, sha, current]);
        return { status: 200, body: await refJson(site, git, ref, sha) };
      },
    },
    {
      method: "DELETE",
      path: "/git/refs/*ref",
      permission: "contents:write",
      async handler({ params }) {
        const ref = `refs/${params.ref}`;
        if (!(await git.revParse(ref))) throw new HttpError(422, "Reference does not exist");
        assertTagMovable(hub, ref);
        await git.git(["update-ref", "-d", ref]);
        return { status: 204 };
      },
    },
    {
      method: "POST",
      path: "/git/tags",
      permission: "contents:write",
      async handler({ body }) {
        const tag = str(body, "tag");
        const message = str(body, "message") ?? "";
        const object = str(body, "object");
        const type = str(body, "type") ?? "commit";
        if (!tag || !object) {
          throw new HttpError(422, "Invalid request: tag and object are required");
        }
        if ((await git.objectType(object)) !== type)
          throw new HttpError(422, "Object does not exist");
        const tagger = (body.tagger ?? {}) as Record<string, unknown>;
        const date = str(tagger, "date") ? new Date(str(tagger, "date") as string) : new Date();
        const name = str(tagger, "name") ?? "octo-bot";
        const email = str(tagger, "email") ?? "octo-bot@example.invalid";
        const text = `object ${object}\ntype ${type}\ntag ${tag}\ntagger ${name} <${email}> ${Math.floor(date.getTime() / 1000)} +0000\n\n${message}${message.endsWith("\n") ? "" : "\n"}`;
        const sha = (await git.git(["mktag"], text)).trim();
        return {
          status: 201,
          body: await tagJson(site, git, sha),
          headers: { location: `${site.repoApi}/git/tags/${sha}` },
        };
      },
    },
    {
      method: "GET",
      path: "/git/tags/:sha",
      permission: "contents:read",
      async handler({ params }) {
        if ((await git.objectType(params.sha)) !== "tag") throw new HttpError(404, "Not Found");
        return { status: 200, body: await tagJson(site, git, params.sha) };
      },
    },
  ];
}

import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { HttpError } from "../git-repo.ts";
import { type Hub, paginate, type Route, str } from "../hub.ts";
import {
  assertCanDeleteAsset,
  assertCanEdit,
  assertCanUpload,
  assertMayPublishTag,
  assertTagReusable,
} from "../rules.ts";
import { assetJson, releaseJson } from "../shapes.ts";
import { isoSeconds, type StandInAsset, type StandInRelease } from "../store.ts";

// Releases and their assets. Asset bytes are files in the state folder; uploads arrive on the
// upload origin named by each release's `upload_url`, downloads redirect there, as on GitHub.

export function assetFile(hub: Hub, asset: StandInAsset): string {
  return join(hub.store.assetDir, String(asset.id));
}

export function releaseRoutes(hub: Hub): Route[] {
  const { site, git, state } = hub;

  function findRelease(id: string): StandInRelease {
    const release = state.releases.find((candidate) => candidate.id === Number(id));
    if (!release) throw new HttpError(404, "Not Found");
    return release;
  }

  async function publish(
    release: StandInRelease,
    principal: Parameters<typeof assertMayPublishTag>[1],
  ) {
    if (
      state.releases.some(
        (other) => other !== release && !other.draft && other.tag_name === release.tag_name,
      )
    ) {
      throw new HttpError(422, "Validation Failed", [
        { resource: "Release", code: "already_exists", field: "tag_name" },
      ]);
    }
    // Publishing a release whose tag does not exist yet creates a lightweight tag, as GitHub does.
    if (!(await git.revParse(`refs/tags/${release.tag_name}`))) {
      assertMayPublishTag(hub, principal, release.tag_name);
      const target =
        (await git.revParse(`refs/heads/${release.target_commitish}^{commit}`)) ??
        (await git.revParse(`${release.target_commitish}^{commit}`));
      if (!target) {
        throw new HttpError(422, "Validation Failed", [
          { resource: "Release", code: "invalid", field: "target_commitish" },
        ]);
      }
      await git.git(["update-ref", `refs/tags/${release.tag_name}`, target, ""]);
    }
    release.draft = false;
    release.published_at = isoSeconds();
    // Immutability is stamped at publication; turning the setting off later does not undo it.
    if (state.settings.immutableReleases) {
      release.immutable = true;
      if (!state.usedImmutableTags.includes(release.tag_name))
        state.usedImmutableTags.push(release.tag_name);
    }
  }

  return [
    {
      method: "GET",
      path: "/releases",
      permission: "contents:read",
      handler: async ({ url }) =>
        paginate(
          hub,
          [...state.releases]
            .sort((a, b) => b.id - a.id)
            .map((release) => releaseJson(site, release)),
          url,
        ),
    },
    {
      method: "POST",
      path: "/releases",
      permission: "contents:write",
      async handler({ body, principal }) {
        const tag = str(body, "tag_name");
        if (!tag) {
          throw new HttpError(422, "Validation Failed", [
            { resource: "Release", code: "missing_field", field: "tag_name" },
          ]);
        }
        assertTagReusable(hub, tag);
        const release: StandInRelease = {
          id: hub.store.nextId(),
          tag_name: tag,
          target_commitish: str(body, "target_commitish") ?? site.defaultBranch,
          name: str(body, "name") ?? null,
          body: str(body, "body") ?? null,
          draft: true,
          prerelease: body.prerelease === true,
          immutable: false,
          created_at: isoSeconds(),
          published_at: null,
          assets: [],
        };
        if (body.draft !== true) await publish(release, principal);
        state.releases.push(release);
        return {
          status: 201,
          body: releaseJson(site, release),
          headers: { location: `${site.repoApi}/releases/${release.id}` },
        };
      },
    },
    {
      method: "GET",
      path: "/releases/tags/*tag",
      permission: "contents:read",
      async handler({ params }) {
        const release = state.releases.find((item) => !item.draft && item.tag_name === params.tag);
        if (!release) throw new HttpError(404, "Not Found");
        return { status: 200, body: releaseJson(site, release) };
      },
    },
    {
      method: "GET",
      path: "/releases/assets/:id",
      permission: "contents:read",
      async handler({ params, headers }) {
        for (const release of state.releases) {
          const asset = release.assets.find((candidate) => candidate.id === Number(params.id));
          if (!asset) continue;
          if ((headers.accept ?? "").includes("application/octet-stream")) {
            // GitHub answers with a redirect to short-lived storage on another origin.
            return {
              status: 302,
              headers: { location: `${site.uploadUrl}/storage/assets/${asset.id}` },
            };
          }
          return { status: 200, body: assetJson(site, asset, release) };
        }
        throw new HttpError(404, "Not Found");
      },
    },
    {
      method: "DELETE",
      path: "/releases/assets/:id",
      permission: "contents:write",
      async handler({ params }) {
        for (const release of state.releases) {
          const index = release.assets.findIndex((candidate) => candidate.id === Number(params.id));
          if (index < 0) continue;
          assertCanDeleteAsset(release);
          const [asset] = release.assets.splice(index, 1);
          await rm(assetFile(hub, asset), { force: true });
          return { status: 204 };
        }
        throw new HttpError(404, "Not Found");
      },
    },
    {
      method: "GET",
      path: "/releases/:id",
      permission: "contents:read",
      handler: async ({ params }) => ({
        status: 200,
        body: releaseJson(site, findRelease(params.id)),
      }),
    },
    {
      method: "PATCH",
      path: "/releases/:id",
      permission: "contents:write",
      async handler({ params, body, principal }) {
        const release = findRelease(params.id);
        assertCanEdit(release, body);
        if (str(body, "tag_name")) release.tag_name = str(body, "tag_name") as string;
        if (str(body, "target_commitish"))
          release.target_commitish = str(body, "target_commitish") as string;
        if (typeof body.name === "string") release.name = body.name;
        if (typeof body.body === "string") release.body = body.body;
        if (typeof body.prerelease === "boolean") release.prerelease = body.prerelease;
        if (body.draft === false && release.draft) await publish(release, principal);
        return { status: 200, body: releaseJson(site, release) };
      },
    },
    {
      method: "DELETE",
      path: "/releases/:id",
      permission: "contents:write",
      async handler({ params }) {
        const release = findRelease(params.id);
        state.releases.splice(state.releases.indexOf(release), 1);
        for (const asset of release.assets) await rm(assetFile(hub, asset), { force: true });
        return { status: 204 };
      },
    },
    {
      method: "GET",
      path: "/releases/:id/assets",
      permission: "contents:read",
      async handler({ params, url }) {
        const release = findRelease(params.id);
        return paginate(
          hub,
          release.assets.map((asset) => assetJson(site, asset, release)),
          url,
        );
      },
    },
  ];
}

/** POST <upload_url>: streams the body into an asset file (served on the upload origin). */
export function uploadRoute(hub: Hub): Route {
  const { site, state } = hub;
  return {
    method: "POST",
    path: "/releases/:id/assets",
    permission: "contents:write",
    streamsBody: true,
    async handler({ params, url, raw, fault }) {
      const release = state.releases.find((candidate) => candidate.id === Number(params.id));
      const name = url.searchParams.get("name");
      if (!release) throw new HttpError(404, "Not Found");
      if (!name) {
        throw new HttpError(422, "Validation Failed", [
          { resource: "ReleaseAsset", code: "missing_field", field: "name" },
        ]);
      }
      assertCanUpload(release);
      if (release.assets.some((asset) => asset.name === name)) {
        throw new HttpError(422, "Validation Failed", [
          { resource: "ReleaseAsset", code: "already_exists", field: "name" },
        ]);
      }
      const now = isoSeconds();
      const asset: StandInAsset = {
        id: hub.store.nextId(),
        name,
        label: url.searchParams.get("label"),
        content_type: raw?.headers["content-type"] ?? "application/octet-stream",
        size: 0,
        state: "open",
        digest: null,
        created_at: now,
        updated_at: now,
      };
      release.assets.push(asset);
      const hash = createHash("sha256");
      const out = createWriteStream(assetFile(hub, asset));
      const cutAfter = fault?.interruptUpload?.afterBytes;
      let received = 0;
      for await (const chunk of (raw ?? []) as AsyncIterable<Buffer>) {
        const piece =
          cutAfter !== undefined ? chunk.subarray(0, Math.max(0, cutAfter - received)) : chunk;
        out.write(piece);
        hash.update(piece);
        received += piece.length;
        asset.size = received;
        if (cutAfter !== undefined && received >= cutAfter) {
          // Leave the asset `open`, as GitHub does when an upload dies midway.
          await new Promise<void>((resolve) => out.end(resolve));
          raw?.socket.destroy();
          return { status: 0 };
        }
      }
      await new Promise<void>((resolve) => out.end(resolve));
      asset.state = "uploaded";
      asset.digest = `sha256:${hash.digest("hex")}`;
      return { status: 201, body: assetJson(site, asset, release) };
    },
  };
}

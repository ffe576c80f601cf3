import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { FALLBACK_IDENTITY } from "./git.ts";
import { type GitHubClient, statusOf } from "./github-client.ts";
import type { AssetRecord, RegistryBackend, ReleaseRecord, TagRecord } from "./types.ts";

// The registry on GitHub: annotated tags through the git database API (tag object, then ref),
// files as release assets uploaded to each release's own upload_url.

export interface GitHubRepo {
  owner: string;
  repo: string;
}

export interface GitHubBackendOptions {
  /** Who signs the annotated tags. */
  tagger?: { name: string; email: string };
}

/** Tag objects read by one GraphQL request (GitHub's node limit is far above this). */
const TAG_OBJECTS_PER_QUERY = 100;

interface TagObject {
  message?: string;
  tagger?: { date: string } | null;
  target?: { __typename: string; oid: string } | null;
}

const CONTENT_TYPES: Record<string, string> = {
  ".json": "application/json",
  ".md": "text/markdown",
  ".html": "text/html",
  ".csv": "text/csv",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".txt": "text/plain",
};

/** Parses `owner/repo` (GITHUB_REPOSITORY). */
export function parseRepository(value: string): GitHubRepo {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(value);
  if (!match) throw new Error(`repository "${value}" is not of the form owner/repo`);
  return { owner: match[1], repo: match[2] };
}

interface GitHubAsset {
  id: number;
  name: string;
  size: number;
  state: string;
  digest?: string | null;
}

interface GitHubRelease {
  id: number;
  tag_name: string;
  draft: boolean;
  name: string | null;
  body?: string | null;
  html_url: string;
  upload_url: string;
  assets: GitHubAsset[];
}

function toAsset(asset: GitHubAsset): AssetRecord {
  return {
    id: String(asset.id),
    name: asset.name,
    size: asset.size,
    complete: asset.state === "uploaded",
    sha256: asset.digest?.startsWith("sha256:") ? asset.digest.slice("sha256:".length) : null,
  };
}

/** A registry backend on GitHub repository `target` through `client`. */
export function createGitHubBackend(
  client: GitHubClient,
  target: GitHubRepo,
  options: GitHubBackendOptions = {},
): RegistryBackend {
  const { owner, repo } = target;
  const tagger = options.tagger ?? FALLBACK_IDENTITY;
  // Tag objects never change, so one read per sha is enough for the backend's lifetime.
  const tagObjects = new Map<
    string,
    { commit: string | null; taggedAt: string; message: string }
  >();
  const uploadUrls = new Map<string, string>();

  function toRelease(release: GitHubRelease): ReleaseRecord {
    uploadUrls.set(String(release.id), release.upload_url);
    return {
      id: String(release.id),
      tag: release.tag_name,
      draft: release.draft,
      title: release.name ?? "",
      body: release.body ?? "",
      assets: release.assets.map(toAsset),
      url: release.html_url,
    };
  }

  /** Reads the tag objects `shas` into tagObjects, a hundred per GraphQL request. */
  async function readTagObjects(shas: string[]): Promise<void> {
    for (let start = 0; start < shas.length; start += TAG_OBJECTS_PER_QUERY) {
      const batch = shas.slice(start, start + TAG_OBJECTS_PER_QUERY);
      const fields = batch
        .map((sha, i) => `t${i}: object(oid: "${sha}") { ...TagFields }`)
        .join("\n    ");
      const query = `query RegistryTagObjects($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    ${fields}
  }
}
fragment TagFields on GitObject {
  ... on Tag { message tagger { date } target { __typename oid } }
}`;
      const data: { repository: Record<string, TagObject | null> } = await client.graphql(query, {
        owner,
        name: repo,
      });
      batch.forEach((sha, i) => {
        const tag = data.repository[`t${i}`];
        tagObjects.set(sha, {
          commit: tag?.target?.__typename === "Commit" ? tag.target.oid : null,
          taggedAt: tag?.tagger?.date ?? "",
          message: tag?.message ?? "",
        });
      });
    }
  }

  async function getRelease(id: string): Promise<ReleaseRecord | null> {
    try {
      const { data } = await client.rest.repos.getRelease({ owner, repo, release_id: Number(id) });
      return toRelease(data);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  return {
    kind: "github",
    location: `${owner}/${repo}`,

    async listTags(prefix) {
      // One listing of every matching ref (names and object ids; conditional, so free when
      // nothing changed), then the messages of the tag objects not seen yet, a hundred per
      // GraphQL request. Tag objects never change: each is read once per backend.
      const refs = await client.paginate(client.rest.git.listMatchingRefs, {
        owner,
        repo,
        ref: `tags/${prefix}`,
        per_page: 100,
      });
      // Lightweight tags point straight at commits; GTO ignores them and so do we.
      const annotated = refs.filter((ref) => ref.object.type === "tag");
      await readTagObjects(
        annotated.map((ref) => ref.object.sha).filter((sha) => !tagObjects.has(sha)),
      );
      const tags: TagRecord[] = [];
      for (const ref of annotated) {
        const tag = tagObjects.get(ref.object.sha);
        if (!tag?.commit) continue;
        tags.push({
          name: ref.ref.slice("refs/tags/".length),
          commit: tag.commit,
          taggedAt: tag.taggedAt,
          message: tag.message,
        });
      }
      return tags;
    },

    async tagsFingerprint(prefix) {
      // Repeated, this GET is conditional (the client sends the ETag it got): a 304 costs no rate
      // limit, which makes polling for a new production version free while nothing changes.
      const refs = await client.paginate(client.rest.git.listMatchingRefs, {
        owner,
        repo,
        ref: `tags/${prefix}`,
        per_page: 100,
      });
      return refs.map((ref) => `${ref.ref} ${ref.object.sha}`).join("\n");
    },

    async createTag({ name, commit, message, date }) {
      const { data: tagObject } = await client.rest.git.createTag({
        owner,
        repo,
        tag: name,
        message,
        object: commit,
        type: "commit",
        tagger: { ...tagger, date: date.toISOString() },
      });
      try {
        await client.rest.git.createRef({
          owner,
          repo,
          ref: `refs/tags/${name}`,
          sha: tagObject.sha,
        });
        return true;
      } catch (error) {
        // The ref is the lock: when another run created it first, the name is taken.
        if (statusOf(error) === 422 && /already exists/i.test((error as Error).message))
          return false;
        throw error;
      }
    },

    async listReleases() {
      const releases = await client.paginate(client.rest.repos.listReleases, {
        owner,
        repo,
        per_page: 100,
      });
      return releases.map(toRelease);
    },

    async releaseByTag(tag) {
      try {
        const { data } = await client.rest.repos.getReleaseByTag({ owner, repo, tag });
        return toRelease(data);
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    },

    async getRelease(release) {
      return getRelease(release.id);
    },

    async createRelease(release) {
      const { data } = await client.rest.repos.createRelease({
        owner,
        repo,
        tag_name: release.tag,
        target_commitish: release.commit,
        name: release.title,
        body: release.body,
        draft: release.draft,
      });
      return toRelease(data);
    },

    async updateRelease(release, patch) {
      const { data } = await client.rest.repos.updateRelease({
        owner,
        repo,
        release_id: Number(release.id),
        ...(patch.tag !== undefined ? { tag_name: patch.tag } : {}),
        ...(patch.title !== undefined ? { name: patch.title } : {}),
        ...(patch.body !== undefined ? { body: patch.body } : {}),
        ...(patch.draft !== undefined ? { draft: patch.draft } : {}),
      });
      return toRelease(data);
    },

    async deleteRelease(release) {
      await client.rest.repos.deleteRelease({ owner, repo, release_id: Number(release.id) });
    },

    async uploadAsset(release, name, path) {
      if (!uploadUrls.has(release.id)) await getRelease(release.id);
      const uploadUrl = uploadUrls.get(release.id);
      if (!uploadUrl) throw new Error(`release ${release.tag} (${release.id}) has no upload_url`);
      // A Buffer (not a stream) so that a retried request can send the bytes again.
      const data = await readFile(path);
      const { data: asset } = await client.request(`POST ${uploadUrl}`, {
        name,
        data,
        headers: {
          "content-type": CONTENT_TYPES[extname(name).toLowerCase()] ?? "application/octet-stream",
        },
      });
      return toAsset(asset as GitHubAsset);
    },

    async deleteAsset(_release, asset) {
      await client.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: Number(asset.id) });
    },

    async downloadAsset(_release, asset, destPath) {
      const response = await client.request(
        "GET /repos/{owner}/{repo}/releases/assets/{asset_id}",
        {
          owner,
          repo,
          asset_id: Number(asset.id),
          headers: { accept: "application/octet-stream" },
          request: { parseSuccessResponseBody: false },
        },
      );
      const body = response.data as unknown as ReadableStream<Uint8Array>;
      await pipeline(Readable.fromWeb(body), createWriteStream(destPath));
    },
  };
}

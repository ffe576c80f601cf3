import { randomBytes } from "node:crypto";
import { appendFile, copyFile, mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { tempPathFor, writeJsonAtomic } from "../io/files.ts";
import { GitError, gitDate, identityEnv, resolveRev, runGit, runGitWithCode } from "./git.ts";
import type {
  AssetRecord,
  NewRelease,
  RegistryBackend,
  ReleaseRecord,
  TagRecord,
} from "./types.ts";

// Tags live in the local repository (push them with `git push --tags`); release files live in
// `.registry/<tag>/` beside it, drafts in `.registry/.drafts/<id>/`, never committed.

const RELEASE_FILE = ".release.json";

interface StoredRelease {
  id: string;
  tag: string;
  commit: string;
  title: string;
  body: string;
  createdAt: string;
}

/** A registry backend on the git repository that contains `dir`. */
export async function createLocalBackend(dir: string): Promise<RegistryBackend> {
  const root = (await runGit(dir, ["rev-parse", "--show-toplevel"])).trim();
  const registryDir = join(root, ".registry");
  const draftsDir = join(registryDir, ".drafts");
  let ignoreChecked = false;

  async function ensureIgnored(): Promise<void> {
    if (ignoreChecked) return;
    ignoreChecked = true;
    const { exitCode } = await runGitWithCode(root, ["check-ignore", "-q", ".registry/.probe"], {
      okExitCodes: [1],
    });
    // Keep release files out of commits without touching the user's .gitignore.
    if (exitCode === 1) {
      const exclude = (await runGit(root, ["rev-parse", "--git-path", "info/exclude"])).trim();
      const path = exclude.startsWith("/") ? exclude : join(root, exclude);
      await mkdir(join(path, ".."), { recursive: true });
      await appendFile(path, "\n/.registry/\n");
    }
  }

  /** A release's folder: always one plain name below .registry/ (or its drafts), never outside. */
  function releaseDir(release: Pick<ReleaseRecord, "id" | "tag" | "draft">): string {
    const name = release.draft ? release.id : release.tag;
    if (!name || name !== basename(name) || name === "." || name === ".." || name.startsWith(".")) {
      throw new Error(
        `release ${release.draft ? "id" : "tag"} "${name}" cannot name a folder inside ${registryDir}`,
      );
    }
    return join(release.draft ? draftsDir : registryDir, name);
  }

  function assertAssetName(name: string): void {
    if (!name || name !== basename(name) || name.startsWith(".")) {
      throw new Error(`asset name "${name}" must be a plain file name not starting with "."`);
    }
  }

  async function readRelease(path: string, draft: boolean): Promise<ReleaseRecord | null> {
    let stored: StoredRelease;
    try {
      stored = JSON.parse(await readFile(join(path, RELEASE_FILE), "utf8")) as StoredRelease;
    } catch {
      return null;
    }
    const assets: AssetRecord[] = [];
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.startsWith(".")) continue;
      const size = (await stat(join(path, entry.name))).size;
      // Assets are written to a temp name and renamed, so a visible file is always complete.
      assets.push({ id: entry.name, name: entry.name, size, complete: true, sha256: null });
    }
    assets.sort((a, b) => (a.name < b.name ? -1 : 1));
    return {
      id: stored.id,
      tag: stored.tag,
      draft,
      title: stored.title,
      body: stored.body,
      assets,
      url: path,
    };
  }

  async function storedRelease(release: ReleaseRecord): Promise<StoredRelease> {
    return JSON.parse(
      await readFile(join(releaseDir(release), RELEASE_FILE), "utf8"),
    ) as StoredRelease;
  }

  async function listDirs(path: string): Promise<string[]> {
    try {
      return (await readdir(path, { withFileTypes: true }))
        .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
        .map((entry) => join(path, entry.name));
    } catch {
      return [];
    }
  }

  return {
    kind: "local",
    location: root,

    async listTags(prefix) {
      const format = [
        "%(refname:strip=2)",
        "%(objecttype)",
        "%(*objectname)",
        "%(*objecttype)",
        "%(taggerdate:unix)",
        "%(contents)",
      ].join("%00");
      const out = await runGit(root, ["for-each-ref", `--format=${format}%00`, "refs/tags/"]);
      const tags: TagRecord[] = [];
      for (const record of out.split("\0\n")) {
        const [name, type, target, targetType, date, message] = record.split("\0");
        // GTO ignores lightweight tags, and so do we.
        if (!name?.startsWith(prefix) || type !== "tag" || targetType !== "commit") continue;
        tags.push({
          name,
          commit: target,
          taggedAt: new Date(Number(date) * 1000).toISOString(),
          message,
        });
      }
      return tags;
    },

    async tagsFingerprint(prefix) {
      return runGit(root, [
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        `refs/tags/${prefix}*`,
      ]);
    },

    async createTag({ name, commit, message, date }) {
      const env = { ...(await identityEnv(root)), GIT_COMMITTER_DATE: gitDate(date) };
      try {
        await runGit(root, ["tag", "-a", "--cleanup=verbatim", "-F", "-", name, commit], {
          env,
          input: message,
        });
        return true;
      } catch (error) {
        // Another process holding the ref lock or having created the tag means the name is taken.
        if ((await resolveRev(root, `refs/tags/${name}`)) !== null) return false;
        if (error instanceof GitError && /already exists|cannot lock ref/.test(error.stderr)) {
          return false;
        }
        throw error;
      }
    },

    async listReleases() {
      const releases: ReleaseRecord[] = [];
      for (const path of await listDirs(registryDir)) {
        const release = await readRelease(path, false);
        if (release) releases.push(release);
      }
      for (const path of await listDirs(draftsDir)) {
        const release = await readRelease(path, true);
        if (release) releases.push(release);
      }
      return releases;
    },

    async releaseByTag(tag) {
      return readRelease(join(registryDir, tag), false);
    },

    async getRelease(release) {
      return (
        (await readRelease(releaseDir(release), release.draft)) ??
        (await readRelease(releaseDir({ ...release, draft: !release.draft }), !release.draft))
      );
    },

    async createRelease(release: NewRelease) {
      await ensureIgnored();
      const id = randomBytes(8).toString("hex");
      const path = releaseDir({ id, tag: release.tag, draft: release.draft });
      await mkdir(join(path, ".."), { recursive: true });
      try {
        await mkdir(path);
      } catch {
        throw new Error(`${path}: a release for ${release.tag} already exists`);
      }
      const stored: StoredRelease = {
        id,
        tag: release.tag,
        commit: release.commit,
        title: release.title,
        body: release.body,
        createdAt: new Date().toISOString(),
      };
      await writeJsonAtomic(join(path, RELEASE_FILE), stored);
      return {
        id,
        tag: release.tag,
        draft: release.draft,
        title: release.title,
        body: release.body,
        assets: [],
        url: path,
      };
    },

    async updateRelease(release, patch) {
      const stored = await storedRelease(release);
      const next: StoredRelease = {
        ...stored,
        tag: patch.tag ?? stored.tag,
        title: patch.title ?? stored.title,
        body: patch.body ?? stored.body,
      };
      await writeJsonAtomic(join(releaseDir(release), RELEASE_FILE), next);
      const draft = patch.draft ?? release.draft;
      if (release.draft && !draft) {
        // Publishing is one rename: the release appears at .registry/<tag>/ complete or not at all.
        const target = join(registryDir, next.tag);
        try {
          await rename(releaseDir(release), target);
        } catch (error) {
          throw new Error(
            `${target}: cannot publish the draft release ${release.id} there: ${(error as Error).message}`,
          );
        }
      } else if (!release.draft && draft) {
        throw new Error(`${releaseDir(release)}: a published release cannot go back to draft`);
      }
      const updated = await readRelease(releaseDir({ ...release, tag: next.tag, draft }), draft);
      if (!updated)
        throw new Error(`${releaseDir(release)}: release disappeared while updating it`);
      return updated;
    },

    async deleteRelease(release) {
      await rm(releaseDir(release), { recursive: true, force: true });
    },

    async uploadAsset(release, name, path) {
      assertAssetName(name);
      const target = join(releaseDir(release), name);
      const temp = tempPathFor(target);
      try {
        await copyFile(path, temp);
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      return { id: name, name, size: (await stat(target)).size, complete: true, sha256: null };
    },

    async deleteAsset(release, asset) {
      await rm(join(releaseDir(release), asset.name), { force: true });
    },

    async downloadAsset(release, asset, destPath) {
      await copyFile(join(releaseDir(release), asset.name), destPath);
    },
  };
}

import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { runGit, runGitWithCode } from "../../lib/registry/git.ts";

// The repository's git state, held in a real bare repository and changed only by git itself:
// refs, commits, annotated tags, merges. Everything else the local GitHub keeps is in the store.

export const BOT_IDENTITY = { name: "octo-bot", email: "octo-bot@example.invalid" };

const IDENTITY_ENV = {
  GIT_AUTHOR_NAME: BOT_IDENTITY.name,
  GIT_AUTHOR_EMAIL: BOT_IDENTITY.email,
  GIT_COMMITTER_NAME: BOT_IDENTITY.name,
  GIT_COMMITTER_EMAIL: BOT_IDENTITY.email,
};

/** An error the API answers with: status, message, and GitHub's `errors` list when it has one. */
export class HttpError extends Error {
  status: number;
  errors: Record<string, string>[] | undefined;
  /**
   * GitHub gives this answer although the endpoint's OpenAPI description does not declare its
   * status (e.g. 422 for immutable releases): it is checked against GitHub's generic error shape.
   */
  undeclared = false;
  constructor(status: number, message: string, errors?: Record<string, string>[]) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

/** An HttpError for an answer GitHub gives outside the endpoint's description. */
export function undeclaredError(
  status: number,
  message: string,
  errors?: Record<string, string>[],
): HttpError {
  const error = new HttpError(status, message, errors);
  error.undeclared = true;
  return error;
}

/** One tag as `git for-each-ref` describes it, for the GraphQL `refs` connection. */
export interface TagRef {
  name: string;
  /** The tag object for an annotated tag, else the commit. */
  oid: string;
  type: string;
  /** The commit an annotated tag points at (null for a lightweight tag). */
  targetOid: string | null;
  targetType: string | null;
  message: string;
  taggerDate: string | null;
  /** Unix seconds of the commit the tag names: GitHub's TAG_COMMIT_DATE order. */
  commitDate: number;
}

export type GitRepo = ReturnType<typeof openGitRepo>;

/** Operations on the bare repository at `gitDir`; `scratchDir` holds temporary index files. */
export function openGitRepo(gitDir: string, scratchDir: string) {
  const git = (args: string[], input?: string) =>
    runGit(gitDir, args, { env: IDENTITY_ENV, input });

  async function revParse(rev: string): Promise<string | null> {
    const { stdout, exitCode } = await runGitWithCode(
      gitDir,
      ["rev-parse", "-q", "--verify", rev],
      { okExitCodes: [1, 128] },
    );
    return exitCode === 0 ? stdout.trim() : null;
  }

  async function objectType(sha: string): Promise<string | null> {
    const { stdout, exitCode } = await runGitWithCode(gitDir, ["cat-file", "-t", sha], {
      okExitCodes: [128],
    });
    return exitCode === 0 ? stdout.trim() : null;
  }

  async function isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const { exitCode } = await runGitWithCode(
      gitDir,
      ["merge-base", "--is-ancestor", ancestor, descendant],
      { okExitCodes: [1] },
    );
    return exitCode === 0;
  }

  /** Moves `ref` from `expected` (empty: must not exist) to `sha`; false when it moved meanwhile. */
  async function updateRef(ref: string, sha: string, expected: string): Promise<boolean> {
    const { exitCode } = await runGitWithCode(gitDir, ["update-ref", ref, sha, expected], {
      okExitCodes: [1, 128],
    });
    return exitCode === 0;
  }

  /** Every ref and the object it names. */
  async function listRefs(): Promise<Record<string, string>> {
    const out = await git(["for-each-ref", "--format=%(objectname) %(refname)"]);
    const refs: Record<string, string> = {};
    for (const line of out.split("\n")) {
      if (!line) continue;
      const space = line.indexOf(" ");
      refs[line.slice(space + 1)] = line.slice(0, space);
    }
    return refs;
  }

  /** Refs starting with `prefix`, sorted, with the object each names and its type, in one git call. */
  async function matchingRefs(
    prefix: string,
  ): Promise<{ ref: string; sha: string; type: string }[]> {
    const out = await git(["for-each-ref", "--format=%(objectname) %(objecttype) %(refname)"]);
    return out
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [sha, type, ...ref] = line.split(" ");
        return { ref: ref.join(" "), sha, type };
      })
      .filter((item) => item.ref.startsWith(prefix));
  }

  /** The files that differ between two commits (`from` null: every file of `to`). */
  async function changedPaths(from: string | null, to: string): Promise<string[]> {
    const args = from
      ? ["diff", "--name-only", "--no-renames", from, to]
      : ["ls-tree", "-r", "--name-only", to];
    return (await git(args)).split("\n").filter(Boolean);
  }

  async function mergeBase(a: string, b: string): Promise<string | null> {
    const { stdout, exitCode } = await runGitWithCode(gitDir, ["merge-base", a, b], {
      okExitCodes: [1],
    });
    return exitCode === 0 ? stdout.trim() : null;
  }

  /** A file's content at a commit, or null when absent. */
  async function readFileAt(sha: string, path: string): Promise<string | null> {
    const blob = await revParse(`${sha}:${path}`);
    if (!blob || (await objectType(blob)) !== "blob") return null;
    return git(["cat-file", "blob", blob]);
  }

  /** The files under `dir` at a commit (not recursive). */
  async function listFilesAt(sha: string, dir: string): Promise<string[]> {
    const { stdout, exitCode } = await runGitWithCode(
      gitDir,
      ["ls-tree", "--name-only", `${sha}:${dir}`],
      { okExitCodes: [128] },
    );
    return exitCode === 0 ? stdout.split("\n").filter(Boolean) : [];
  }

  /** Commits `files` on `branch` (created when missing) with git plumbing; returns the commit. */
  async function commitOnBranch(
    branch: string,
    files: { path: string; content: Buffer }[],
    message: string,
  ): Promise<string> {
    const parent = await revParse(`refs/heads/${branch}`);
    const scratch = await mkdtemp(join(scratchDir, "index-"));
    const env = { ...IDENTITY_ENV, GIT_INDEX_FILE: join(scratch, "index") };
    try {
      if (parent) await runGit(gitDir, ["read-tree", parent], { env });
      for (const { path, content } of files) {
        const blob = (
          await runGit(gitDir, ["hash-object", "-w", "--stdin"], { input: content })
        ).trim();
        await runGit(gitDir, ["update-index", "--add", "--cacheinfo", `100644,${blob},${path}`], {
          env,
        });
      }
      const tree = (await runGit(gitDir, ["write-tree"], { env })).trim();
      const commit = (
        await runGit(gitDir, ["commit-tree", tree, ...(parent ? ["-p", parent] : []), "-F", "-"], {
          env,
          input: message,
        })
      ).trim();
      if (!(await updateRef(`refs/heads/${branch}`, commit, parent ?? ""))) {
        throw new HttpError(409, `${branch} was updated concurrently`);
      }
      return commit;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** The tree of merging `head` into `base`, or null when they conflict. */
  async function mergeTree(base: string, head: string): Promise<string | null> {
    const merged = await runGitWithCode(gitDir, ["merge-tree", "--write-tree", base, head], {
      okExitCodes: [1, 128],
    });
    return merged.exitCode === 0 ? merged.stdout.split("\n")[0].trim() : null;
  }

  /** A merge commit of `head` into `base`, or null when they conflict. */
  async function mergeCommit(base: string, head: string, message: string): Promise<string | null> {
    const merged = await runGitWithCode(gitDir, ["merge-tree", "--write-tree", base, head], {
      okExitCodes: [1],
    });
    if (merged.exitCode !== 0) return null;
    const tree = merged.stdout.split("\n")[0].trim();
    return (await git(["commit-tree", tree, "-p", base, "-p", head, "-F", "-"], message)).trim();
  }

  /** Every tag with its message, tagger date, target and commit date, in one git call. */
  async function listTags(): Promise<TagRef[]> {
    const fields = [
      "%(refname:strip=2)",
      "%(objectname)",
      "%(objecttype)",
      "%(*objectname)",
      "%(*objecttype)",
      "%(taggerdate:iso-strict)",
      "%(*committerdate:unix)",
      "%(committerdate:unix)",
      "%(contents)",
    ];
    const out = await git(["for-each-ref", `--format=${fields.join("%00")}%00`, "refs/tags/"]);
    const parts = out.split("\0");
    const tags: TagRef[] = [];
    for (let i = 0; i + fields.length <= parts.length; i += fields.length) {
      const [name, oid, type, target, targetType, taggerDate, peeledDate, ownDate, message] =
        parts.slice(i, i + fields.length);
      tags.push({
        name: name.replace(/^\n/, ""),
        oid,
        type,
        targetOid: target || null,
        targetType: targetType || null,
        message,
        taggerDate: taggerDate || null,
        commitDate: Number(peeledDate || ownDate || 0),
      });
    }
    return tags;
  }

  /** Objects by id in one `git cat-file --batch` call: type and raw content (null when absent). */
  async function readObjects(
    oids: string[],
  ): Promise<Map<string, { type: string; content: Buffer } | null>> {
    const found = new Map<string, { type: string; content: Buffer } | null>();
    const out = await new Promise<Buffer>((resolve, reject) => {
      const child = execFile(
        "git",
        ["cat-file", "--batch"],
        { cwd: gitDir, encoding: "buffer", maxBuffer: 256 * 1024 * 1024 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      );
      child.stdin?.end(`${oids.join("\n")}\n`);
    });
    let at = 0;
    for (const oid of oids) {
      const end = out.indexOf(10, at);
      const header = out.subarray(at, end).toString();
      at = end + 1;
      const [, type, size] = header.split(" ");
      if (header.endsWith(" missing") || !size) {
        found.set(oid, null);
        continue;
      }
      found.set(oid, { type, content: out.subarray(at, at + Number(size)) });
      at += Number(size) + 1;
    }
    return found;
  }

  return {
    gitDir,
    readObjects,
    git,
    revParse,
    objectType,
    isAncestor,
    updateRef,
    listRefs,
    matchingRefs,
    changedPaths,
    mergeBase,
    readFileAt,
    listFilesAt,
    commitOnBranch,
    mergeTree,
    mergeCommit,
    listTags,
  };
}

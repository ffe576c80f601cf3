import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runGit, runGitWithCode } from "../../lib/registry/git.ts";
import { checkResponse } from "./openapi-check.ts";

// A stand-in for the GitHub REST API on 127.0.0.1, for the registry's tests and end-to-end runs.
// Git state (commits, branches, annotated tags, merges) lives in a real bare repository and is
// made by git itself; releases, assets, pull requests and comments are kept in memory (asset
// bytes on disk). Uploads go to a second server, named by each release's `upload_url`, as on
// GitHub. Every response is checked against GitHub's OpenAPI description (`violations`), and
// faults can be injected: 5xx, 429 with retry-after, cut uploads, races.

export interface FaultRule {
  method?: string;
  /** Matched against the request path (without the query). */
  path: string | RegExp;
  /** How many matching requests it affects (default 1). */
  times?: number;
  /** Answer with this instead of handling the request. */
  respond?: { status: number; headers?: Record<string, string>; body?: unknown };
  /** Upload only: store this many bytes as an `open` asset, then cut the connection. */
  interruptUpload?: { afterBytes: number };
  /** Runs before the request is handled normally, e.g. a competing run taking the same tag. */
  before?: () => Promise<void> | void;
  /** Answer 500 with a message that repeats the request's Authorization header, as a leaky proxy would. */
  echoAuthorization?: boolean;
}

export interface StandInRelease {
  id: number;
  tag_name: string;
  target_commitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  created_at: string;
  published_at: string | null;
  assets: StandInAsset[];
}

export interface StandInAsset {
  id: number;
  name: string;
  label: string | null;
  content_type: string;
  size: number;
  state: "uploaded" | "open";
  digest: string | null;
  created_at: string;
  updated_at: string;
  file: string;
}

export interface StandInPull {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string | null;
  state: "open" | "closed";
  merged: boolean;
  merge_commit_sha: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  merged_at: string | null;
}

export interface StandInComment {
  id: number;
  issue: number;
  body: string;
  created_at: string;
  updated_at: string;
}

export interface GitHubStandIn {
  /** Base URL for Octokit (`GITHUB_API_URL`). */
  apiUrl: string;
  /** Origin of `upload_url` and of asset downloads. */
  uploadUrl: string;
  owner: string;
  repo: string;
  /** `owner/repo` (`GITHUB_REPOSITORY`). */
  repository: string;
  token: string;
  /** The bare repository holding the git state. */
  gitDir: string;
  /** Responses that do not match GitHub's OpenAPI description. */
  violations: string[];
  requests: { method: string; path: string; status: number }[];
  releases: StandInRelease[];
  pulls: StandInPull[];
  comments: StandInComment[];
  addFault(rule: FaultRule): void;
  git(args: string[], input?: string): Promise<string>;
  /** Commits `files` (path -> content) on `branch`, creating the branch if needed; returns the commit. */
  commitFiles(branch: string, files: Record<string, string>, message?: string): Promise<string>;
  /** Flips bytes of a stored asset, as storage corruption would. */
  corruptAsset(tag: string, name: string): Promise<void>;
  close(): Promise<void>;
}

export interface StandInOptions {
  owner?: string;
  repo?: string;
  token?: string;
  defaultBranch?: string;
  /** Check every response against the OpenAPI description (default true). */
  validate?: boolean;
  /** Page size cap, lowered in tests to exercise pagination with few items (GitHub's is 100). */
  maxPerPage?: number;
  host?: string;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Context {
  params: Record<string, string>;
  url: URL;
  body: Record<string, unknown>;
  headers: IncomingMessage["headers"];
}

class HttpError extends Error {
  status: number;
  errors: { resource: string; code: string; field: string }[] | undefined;
  constructor(
    status: number,
    message: string,
    errors?: { resource: string; code: string; field: string }[],
  ) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

const IDENTITY_ENV = {
  GIT_AUTHOR_NAME: "octo-bot",
  GIT_AUTHOR_EMAIL: "octo-bot@example.invalid",
  GIT_COMMITTER_NAME: "octo-bot",
  GIT_COMMITTER_EMAIL: "octo-bot@example.invalid",
};

function isoSeconds(date = new Date()): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function str(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  return typeof value === "string" ? value : undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port)),
  );
}

/** Starts the stand-in with an empty bare repository (default branch without commits). */
export async function startGitHubStandIn(options: StandInOptions = {}): Promise<GitHubStandIn> {
  const owner = options.owner ?? "octo-org";
  const repo = options.repo ?? "house-price";
  const token =
    options.token ??
    `ghs_${createHash("sha256").update(String(Math.random())).digest("hex").slice(0, 36)}`;
  const defaultBranch = options.defaultBranch ?? "main";
  const validate = options.validate ?? true;
  const maxPerPage = options.maxPerPage ?? 100;
  const host = options.host ?? "127.0.0.1";
  const root = await mkdtemp(join(tmpdir(), "github-stand-in-"));
  const gitDir = join(root, `${repo}.git`);
  const assetDir = join(root, "assets");
  await mkdir(assetDir);
  await runGit(root, ["init", "-q", "--bare", "-b", defaultBranch, gitDir]);

  const apiServer = createServer();
  const uploadServer = createServer();
  const apiPort = await listen(apiServer, host);
  const uploadPort = await listen(uploadServer, host);
  const apiUrl = `http://${host}:${apiPort}`;
  const uploadUrl = `http://${host}:${uploadPort}`;
  const htmlUrl = `${apiUrl}/html/${owner}/${repo}`;
  const repoApi = `${apiUrl}/repos/${owner}/${repo}`;

  const faults: FaultRule[] = [];
  const violations: string[] = [];
  const requests: GitHubStandIn["requests"] = [];
  const releases: StandInRelease[] = [];
  const pulls: StandInPull[] = [];
  const comments: StandInComment[] = [];
  let nextId = 1000;
  const createdAt = isoSeconds();

  const git = (args: string[], input?: string) =>
    runGit(gitDir, args, { env: IDENTITY_ENV, input });

  async function revParse(rev: string): Promise<string | null> {
    const { stdout, exitCode } = await runGitWithCode(
      gitDir,
      ["rev-parse", "-q", "--verify", rev],
      {
        okExitCodes: [1, 128],
      },
    );
    return exitCode === 0 ? stdout.trim() : null;
  }

  async function objectType(sha: string): Promise<string | null> {
    const { stdout, exitCode } = await runGitWithCode(gitDir, ["cat-file", "-t", sha], {
      okExitCodes: [128],
    });
    return exitCode === 0 ? stdout.trim() : null;
  }

  function takeFault(method: string, path: string): FaultRule | undefined {
    const index = faults.findIndex(
      (rule) =>
        (!rule.method || rule.method === method) &&
        (typeof rule.path === "string" ? rule.path === path : rule.path.test(path)),
    );
    if (index < 0) return undefined;
    const rule = faults[index];
    rule.times = (rule.times ?? 1) - 1;
    if (rule.times <= 0) faults.splice(index, 1);
    return rule;
  }

  function authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? "";
    return header === `token ${token}` || header === `Bearer ${token}`;
  }

  // ---- objects as GitHub shapes them -------------------------------------------------------

  function user() {
    const login = "octo-bot";
    const base = `${apiUrl}/users/${login}`;
    return {
      login,
      id: 1,
      node_id: "U_kgDOAAAAAQ",
      avatar_url: `${apiUrl}/avatars/${login}`,
      gravatar_id: "",
      url: base,
      html_url: `${apiUrl}/html/${login}`,
      followers_url: `${base}/followers`,
      following_url: `${base}/following{/other_user}`,
      gists_url: `${base}/gists{/gist_id}`,
      starred_url: `${base}/starred{/owner}{/repo}`,
      subscriptions_url: `${base}/subscriptions`,
      organizations_url: `${base}/orgs`,
      repos_url: `${base}/repos`,
      events_url: `${base}/events{/privacy}`,
      received_events_url: `${base}/received_events`,
      type: "Bot",
      site_admin: false,
    };
  }

  function repository() {
    const urls = Object.fromEntries(
      (
        [
          ["archive_url", "/{archive_format}{/ref}"],
          ["assignees_url", "/assignees{/user}"],
          ["blobs_url", "/git/blobs{/sha}"],
          ["branches_url", "/branches{/branch}"],
          ["collaborators_url", "/collaborators{/collaborator}"],
          ["comments_url", "/comments{/number}"],
          ["commits_url", "/commits{/sha}"],
          ["compare_url", "/compare/{base}...{head}"],
          ["contents_url", "/contents/{+path}"],
          ["contributors_url", "/contributors"],
          ["deployments_url", "/deployments"],
          ["downloads_url", "/downloads"],
          ["events_url", "/events"],
          ["forks_url", "/forks"],
          ["git_commits_url", "/git/commits{/sha}"],
          ["git_refs_url", "/git/refs{/sha}"],
          ["git_tags_url", "/git/tags{/sha}"],
          ["hooks_url", "/hooks"],
          ["issue_comment_url", "/issues/comments{/number}"],
          ["issue_events_url", "/issues/events{/number}"],
          ["issues_url", "/issues{/number}"],
          ["keys_url", "/keys{/key_id}"],
          ["labels_url", "/labels{/name}"],
          ["languages_url", "/languages"],
          ["merges_url", "/merges"],
          ["milestones_url", "/milestones{/number}"],
          ["notifications_url", "/notifications{?since,all,participating}"],
          ["pulls_url", "/pulls{/number}"],
          ["releases_url", "/releases{/id}"],
          ["stargazers_url", "/stargazers"],
          ["statuses_url", "/statuses/{sha}"],
          ["subscribers_url", "/subscribers"],
          ["subscription_url", "/subscription"],
          ["tags_url", "/tags"],
          ["teams_url", "/teams"],
          ["trees_url", "/git/trees{/sha}"],
        ] as const
      ).map(([key, suffix]) => [key, `${repoApi}${suffix}`]),
    );
    return {
      id: 1296269,
      node_id: "R_kgDOABPHjQ",
      name: repo,
      full_name: `${owner}/${repo}`,
      owner: user(),
      private: true,
      html_url: htmlUrl,
      description: "house-price model pipeline",
      fork: false,
      url: repoApi,
      ...urls,
      clone_url: `${apiUrl}/git/${owner}/${repo}.git`,
      git_url: `${apiUrl}/git/${owner}/${repo}.git`,
      ssh_url: `${apiUrl}/git/${owner}/${repo}.git`,
      svn_url: htmlUrl,
      mirror_url: null,
      homepage: null,
      language: "TypeScript",
      forks: 0,
      forks_count: 0,
      stargazers_count: 0,
      watchers: 0,
      watchers_count: 0,
      size: 1,
      default_branch: defaultBranch,
      open_issues: pulls.filter((pull) => pull.state === "open").length,
      open_issues_count: pulls.filter((pull) => pull.state === "open").length,
      is_template: false,
      topics: [],
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_downloads: true,
      has_discussions: false,
      archived: false,
      disabled: false,
      visibility: "private",
      pushed_at: createdAt,
      created_at: createdAt,
      updated_at: createdAt,
      license: null,
      network_count: 0,
      subscribers_count: 0,
    };
  }

  function assetJson(asset: StandInAsset, release: StandInRelease) {
    return {
      url: `${repoApi}/releases/assets/${asset.id}`,
      browser_download_url: `${uploadUrl}/${owner}/${repo}/releases/download/${release.tag_name}/${asset.name}`,
      id: asset.id,
      node_id: `RA_${asset.id}`,
      name: asset.name,
      label: asset.label,
      state: asset.state,
      content_type: asset.content_type,
      size: asset.size,
      digest: asset.digest,
      download_count: 0,
      created_at: asset.created_at,
      updated_at: asset.updated_at,
      uploader: user(),
    };
  }

  function releaseJson(release: StandInRelease) {
    return {
      url: `${repoApi}/releases/${release.id}`,
      html_url: release.draft
        ? `${htmlUrl}/releases/tag/untagged-${release.id}`
        : `${htmlUrl}/releases/tag/${encodeURIComponent(release.tag_name)}`,
      assets_url: `${repoApi}/releases/${release.id}/assets`,
      upload_url: `${uploadUrl}/repos/${owner}/${repo}/releases/${release.id}/assets{?name,label}`,
      tarball_url: release.draft
        ? null
        : `${repoApi}/tarball/${encodeURIComponent(release.tag_name)}`,
      zipball_url: release.draft
        ? null
        : `${repoApi}/zipball/${encodeURIComponent(release.tag_name)}`,
      id: release.id,
      node_id: `RE_${release.id}`,
      tag_name: release.tag_name,
      target_commitish: release.target_commitish,
      name: release.name,
      body: release.body,
      draft: release.draft,
      prerelease: release.prerelease,
      immutable: false,
      created_at: release.created_at,
      published_at: release.published_at,
      author: user(),
      assets: release.assets.map((asset) => assetJson(asset, release)),
    };
  }

  async function refJson(ref: string, sha: string) {
    const type = (await objectType(sha)) ?? "commit";
    return {
      ref,
      node_id: `REF_${Buffer.from(ref).toString("base64url")}`,
      url: `${repoApi}/git/${ref}`,
      object: { type, sha, url: `${repoApi}/git/${type}s/${sha}` },
    };
  }

  async function tagJson(sha: string) {
    const text = await git(["cat-file", "tag", sha]);
    const split = text.indexOf("\n\n");
    const header = split < 0 ? text : text.slice(0, split);
    const message = split < 0 ? "" : text.slice(split + 2);
    const fields = new Map(
      header
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)]),
    );
    const tagger = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(fields.get("tagger") ?? "");
    const objectSha = fields.get("object") ?? "";
    const type = fields.get("type") ?? "commit";
    return {
      node_id: `TAG_${sha.slice(0, 12)}`,
      sha,
      url: `${repoApi}/git/tags/${sha}`,
      tag: fields.get("tag") ?? "",
      message,
      tagger: {
        name: tagger?.[1] ?? "",
        email: tagger?.[2] ?? "",
        date: isoSeconds(new Date(Number(tagger?.[3] ?? 0) * 1000)),
      },
      object: { sha: objectSha, type, url: `${repoApi}/git/${type}s/${objectSha}` },
      verification: {
        verified: false,
        reason: "unsigned",
        signature: null,
        payload: null,
        verified_at: null,
      },
    };
  }

  async function branchSha(branch: string): Promise<string> {
    const sha = await revParse(`refs/heads/${branch}`);
    if (!sha) throw new HttpError(404, `Branch not found: ${branch}`);
    return sha;
  }

  async function pullJson(pull: StandInPull) {
    const side = async (branch: string) => ({
      label: `${owner}:${branch}`,
      ref: branch,
      sha: (await revParse(`refs/heads/${branch}`)) ?? pull.merge_commit_sha ?? "",
      user: user(),
      repo: repository(),
    });
    const url = `${repoApi}/pulls/${pull.number}`;
    const issueUrl = `${repoApi}/issues/${pull.number}`;
    const html = `${htmlUrl}/pull/${pull.number}`;
    return {
      url,
      id: 5000 + pull.number,
      node_id: `PR_${pull.number}`,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: issueUrl,
      commits_url: `${url}/commits`,
      review_comments_url: `${url}/comments`,
      review_comment_url: `${repoApi}/pulls/comments{/number}`,
      comments_url: `${issueUrl}/comments`,
      statuses_url: `${repoApi}/statuses/${pull.head}`,
      number: pull.number,
      state: pull.state,
      locked: false,
      title: pull.title,
      user: user(),
      body: pull.body,
      labels: [],
      milestone: null,
      active_lock_reason: null,
      created_at: pull.created_at,
      updated_at: pull.updated_at,
      closed_at: pull.closed_at,
      merged_at: pull.merged_at,
      merge_commit_sha: pull.merge_commit_sha,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      head: await side(pull.head),
      base: await side(pull.base),
      _links: {
        self: { href: url },
        html: { href: html },
        issue: { href: issueUrl },
        comments: { href: `${issueUrl}/comments` },
        review_comments: { href: `${url}/comments` },
        review_comment: { href: `${repoApi}/pulls/comments{/number}` },
        commits: { href: `${url}/commits` },
        statuses: { href: `${repoApi}/statuses/${pull.head}` },
      },
      author_association: "OWNER",
      auto_merge: null,
      draft: false,
      merged: pull.merged,
      mergeable: pull.state === "open" ? true : null,
      rebaseable: pull.state === "open" ? true : null,
      mergeable_state: pull.state === "open" ? "clean" : "unknown",
      merged_by: pull.merged ? user() : null,
      comments: comments.filter((comment) => comment.issue === pull.number).length,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: 1,
      additions: 1,
      deletions: 1,
      changed_files: 1,
    };
  }

  function commentJson(comment: StandInComment) {
    return {
      id: comment.id,
      node_id: `IC_${comment.id}`,
      url: `${repoApi}/issues/comments/${comment.id}`,
      html_url: `${htmlUrl}/pull/${comment.issue}#issuecomment-${comment.id}`,
      body: comment.body,
      user: user(),
      created_at: comment.created_at,
      updated_at: comment.updated_at,
      issue_url: `${repoApi}/issues/${comment.issue}`,
      author_association: "OWNER",
      performed_via_github_app: null,
    };
  }

  async function contentJson(path: string, ref: string, blob: string) {
    const content = Buffer.from(await git(["cat-file", "blob", blob]), "utf8");
    const url = `${repoApi}/contents/${path}?ref=${encodeURIComponent(ref)}`;
    const html = `${htmlUrl}/blob/${ref}/${path}`;
    const gitUrl = `${repoApi}/git/blobs/${blob}`;
    return {
      type: "file",
      encoding: "base64",
      size: content.length,
      name: path.split("/").pop() ?? path,
      path,
      // GitHub wraps base64 at 60 columns; clients must cope.
      content: `${content.toString("base64").replace(/.{60}/g, "$&\n")}\n`,
      sha: blob,
      url,
      git_url: gitUrl,
      html_url: html,
      download_url: `${uploadUrl}/raw/${owner}/${repo}/${ref}/${path}`,
      _links: { self: url, git: gitUrl, html },
    };
  }

  function paginate<T>(items: T[], url: URL): Reply {
    const perPage = Math.min(
      Math.max(1, Number(url.searchParams.get("per_page") ?? 30) || 30),
      100,
      maxPerPage,
    );
    const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (target: number, rel: string) => {
      const next = new URL(url.toString(), apiUrl);
      next.searchParams.set("page", String(target));
      next.searchParams.set("per_page", String(perPage));
      return `<${apiUrl}${next.pathname}${next.search}>; rel="${rel}"`;
    };
    const links = [
      ...(page < last ? [link(page + 1, "next"), link(last, "last")] : []),
      ...(page > 1 ? [link(1, "first"), link(page - 1, "prev")] : []),
    ];
    return {
      status: 200,
      body: items.slice((page - 1) * perPage, page * perPage),
      headers: links.length ? { link: links.join(", ") } : {},
    };
  }

  function findRelease(id: string): StandInRelease {
    const release = releases.find((candidate) => candidate.id === Number(id));
    if (!release) throw new HttpError(404, "Not Found");
    return release;
  }

  async function publish(release: StandInRelease): Promise<void> {
    if (
      releases.some(
        (other) => other !== release && !other.draft && other.tag_name === release.tag_name,
      )
    ) {
      throw new HttpError(422, "Validation Failed", [
        { resource: "Release", code: "already_exists", field: "tag_name" },
      ]);
    }
    // Publishing a release whose tag does not exist yet creates a lightweight tag, as GitHub does.
    if (!(await revParse(`refs/tags/${release.tag_name}`))) {
      const target =
        (await revParse(`refs/heads/${release.target_commitish}^{commit}`)) ??
        (await revParse(`${release.target_commitish}^{commit}`));
      if (!target)
        throw new HttpError(422, "Validation Failed", [
          { resource: "Release", code: "invalid", field: "target_commitish" },
        ]);
      await git(["update-ref", `refs/tags/${release.tag_name}`, target, ""]);
    }
    release.draft = false;
    release.published_at = isoSeconds();
  }

  async function commitOnBranch(
    branch: string,
    files: { path: string; content: Buffer }[],
    message: string,
  ): Promise<string> {
    const parent = await revParse(`refs/heads/${branch}`);
    const scratch = await mkdtemp(join(root, "index-"));
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
      const { exitCode } = await runGitWithCode(
        gitDir,
        ["update-ref", `refs/heads/${branch}`, commit, parent ?? ""],
        {
          okExitCodes: [1, 128],
        },
      );
      if (exitCode !== 0) throw new HttpError(409, `${branch} was updated concurrently`);
      return commit;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  // ---- routes ---------------------------------------------------------------------------------

  type Handler = (context: Context) => Promise<Reply>;
  const routes: { method: string; pattern: RegExp; keys: string[]; handler: Handler }[] = [];
  function route(method: string, template: string, handler: Handler): void {
    const keys: string[] = [];
    const pattern = template
      .split("/")
      .map((segment) => {
        if (segment.startsWith(":")) {
          keys.push(segment.slice(1));
          return "([^/]+)";
        }
        if (segment.startsWith("*")) {
          keys.push(segment.slice(1));
          return "(.+)";
        }
        return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("/");
    routes.push({
      method,
      pattern: new RegExp(`^/repos/([^/]+)/([^/]+)${pattern}$`),
      keys,
      handler,
    });
  }

  route("GET", "", async () => ({ status: 200, body: repository() }));

  route("GET", "/git/matching-refs/*ref", async ({ params }) => {
    const prefix = `refs/${params.ref}`;
    const out = await git(["for-each-ref", "--format=%(refname) %(objectname)"]);
    const refs = out
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split(" "))
      .filter(([ref]) => ref.startsWith(prefix));
    return { status: 200, body: await Promise.all(refs.map(([ref, sha]) => refJson(ref, sha))) };
  });

  route("GET", "/git/ref/*ref", async ({ params }) => {
    const ref = `refs/${params.ref}`;
    const sha = await revParse(ref);
    if (!sha || !(await git(["for-each-ref", ref])).trim()) throw new HttpError(404, "Not Found");
    return { status: 200, body: await refJson(ref, sha) };
  });

  route("POST", "/git/refs", async ({ body }) => {
    const ref = str(body, "ref");
    const sha = str(body, "sha");
    if (!ref || !sha || !ref.startsWith("refs/") || ref.split("/").length < 3) {
      throw new HttpError(422, "Reference name is invalid");
    }
    const { exitCode } = await runGitWithCode(gitDir, ["check-ref-format", ref], {
      okExitCodes: [1],
    });
    if (exitCode !== 0) throw new HttpError(422, `${ref} is not a valid ref name`);
    if (!(await objectType(sha))) throw new HttpError(422, "Object does not exist");
    const created = await runGitWithCode(gitDir, ["update-ref", ref, sha, ""], {
      okExitCodes: [1, 128],
    });
    if (created.exitCode !== 0) throw new HttpError(422, "Reference already exists");
    return {
      status: 201,
      body: await refJson(ref, sha),
      headers: { location: `${repoApi}/git/${ref}` },
    };
  });

  route("PATCH", "/git/refs/*ref", async ({ params, body }) => {
    const ref = `refs/${params.ref}`;
    const sha = str(body, "sha");
    const current = await revParse(ref);
    if (!current) throw new HttpError(422, "Reference does not exist");
    if (!sha || !(await objectType(sha))) throw new HttpError(422, "Object does not exist");
    if (body.force !== true) {
      const { exitCode } = await runGitWithCode(
        gitDir,
        ["merge-base", "--is-ancestor", current, sha],
        { okExitCodes: [1] },
      );
      if (exitCode !== 0) throw new HttpError(422, "Update is not a fast forward");
    }
    await git(["update-ref", ref, sha, current]);
    return { status: 200, body: await refJson(ref, sha) };
  });

  route("DELETE", "/git/refs/*ref", async ({ params }) => {
    const ref = `refs/${params.ref}`;
    if (!(await revParse(ref))) throw new HttpError(422, "Reference does not exist");
    await git(["update-ref", "-d", ref]);
    return { status: 204 };
  });

  route("POST", "/git/tags", async ({ body }) => {
    const tag = str(body, "tag");
    const message = str(body, "message") ?? "";
    const object = str(body, "object");
    const type = str(body, "type") ?? "commit";
    if (!tag || !object) throw new HttpError(422, "Invalid request: tag and object are required");
    if ((await objectType(object)) !== type) throw new HttpError(422, "Object does not exist");
    const tagger = (body.tagger ?? {}) as Record<string, unknown>;
    const date = str(tagger, "date") ? new Date(str(tagger, "date") as string) : new Date();
    const name = str(tagger, "name") ?? "octo-bot";
    const email = str(tagger, "email") ?? "octo-bot@example.invalid";
    const text = `object ${object}\ntype ${type}\ntag ${tag}\ntagger ${name} <${email}> ${Math.floor(date.getTime() / 1000)} +0000\n\n${message}${message.endsWith("\n") ? "" : "\n"}`;
    const sha = (await git(["mktag"], text)).trim();
    return {
      status: 201,
      body: await tagJson(sha),
      headers: { location: `${repoApi}/git/tags/${sha}` },
    };
  });

  route("GET", "/git/tags/:sha", async ({ params }) => {
    if ((await objectType(params.sha)) !== "tag") throw new HttpError(404, "Not Found");
    return { status: 200, body: await tagJson(params.sha) };
  });

  route("GET", "/releases", async ({ url }) => {
    const newestFirst = [...releases].sort((a, b) => b.id - a.id).map(releaseJson);
    return paginate(newestFirst, url);
  });

  route("POST", "/releases", async ({ body }) => {
    const tag = str(body, "tag_name");
    if (!tag)
      throw new HttpError(422, "Validation Failed", [
        { resource: "Release", code: "missing_field", field: "tag_name" },
      ]);
    const release: StandInRelease = {
      id: nextId++,
      tag_name: tag,
      target_commitish: str(body, "target_commitish") ?? defaultBranch,
      name: str(body, "name") ?? null,
      body: str(body, "body") ?? null,
      draft: true,
      prerelease: body.prerelease === true,
      created_at: isoSeconds(),
      published_at: null,
      assets: [],
    };
    if (body.draft !== true) await publish(release);
    releases.push(release);
    return {
      status: 201,
      body: releaseJson(release),
      headers: { location: `${repoApi}/releases/${release.id}` },
    };
  });

  route("GET", "/releases/tags/*tag", async ({ params }) => {
    const release = releases.find(
      (candidate) => !candidate.draft && candidate.tag_name === params.tag,
    );
    if (!release) throw new HttpError(404, "Not Found");
    return { status: 200, body: releaseJson(release) };
  });

  route("GET", "/releases/assets/:id", async ({ params, headers }) => {
    for (const release of releases) {
      const asset = release.assets.find((candidate) => candidate.id === Number(params.id));
      if (!asset) continue;
      if ((headers.accept ?? "").includes("application/octet-stream")) {
        // GitHub answers with a redirect to short-lived storage on another origin.
        return { status: 302, headers: { location: `${uploadUrl}/storage/assets/${asset.id}` } };
      }
      return { status: 200, body: assetJson(asset, release) };
    }
    throw new HttpError(404, "Not Found");
  });

  route("DELETE", "/releases/assets/:id", async ({ params }) => {
    for (const release of releases) {
      const index = release.assets.findIndex((candidate) => candidate.id === Number(params.id));
      if (index < 0) continue;
      const [asset] = release.assets.splice(index, 1);
      await rm(asset.file, { force: true });
      return { status: 204 };
    }
    throw new HttpError(404, "Not Found");
  });

  route("GET", "/releases/:id", async ({ params }) => ({
    status: 200,
    body: releaseJson(findRelease(params.id)),
  }));

  route("PATCH", "/releases/:id", async ({ params, body }) => {
    const release = findRelease(params.id);
    if (str(body, "tag_name")) release.tag_name = str(body, "tag_name") as string;
    if (str(body, "target_commitish"))
      release.target_commitish = str(body, "target_commitish") as string;
    if (typeof body.name === "string") release.name = body.name;
    if (typeof body.body === "string") release.body = body.body;
    if (body.draft === false && release.draft) await publish(release);
    return { status: 200, body: releaseJson(release) };
  });

  route("DELETE", "/releases/:id", async ({ params }) => {
    const release = findRelease(params.id);
    releases.splice(releases.indexOf(release), 1);
    for (const asset of release.assets) await rm(asset.file, { force: true });
    return { status: 204 };
  });

  route("GET", "/releases/:id/assets", async ({ params, url }) => {
    const release = findRelease(params.id);
    return paginate(
      release.assets.map((asset) => assetJson(asset, release)),
      url,
    );
  });

  route("GET", "/contents/*path", async ({ params, url }) => {
    const ref = url.searchParams.get("ref") ?? defaultBranch;
    const blob = await revParse(`${ref}:${params.path}`);
    if (!blob || (await objectType(blob)) !== "blob") throw new HttpError(404, "Not Found");
    return { status: 200, body: await contentJson(params.path, ref, blob) };
  });

  route("PUT", "/contents/*path", async ({ params, body }) => {
    const branch = str(body, "branch") ?? defaultBranch;
    const message = str(body, "message");
    const content = str(body, "content");
    if (!message || content === undefined)
      throw new HttpError(422, "Invalid request: message and content are required");
    const head = await revParse(`refs/heads/${branch}`);
    const existing = head ? await revParse(`${head}:${params.path}`) : null;
    if (existing && !str(body, "sha"))
      throw new HttpError(422, `Invalid request.\n\n"sha" wasn't supplied.`);
    if (existing && str(body, "sha") !== existing)
      throw new HttpError(409, `${params.path} does not match ${str(body, "sha")}`);
    const commit = await commitOnBranch(
      branch,
      [{ path: params.path, content: Buffer.from(content, "base64") }],
      message,
    );
    const blob = (await revParse(`${commit}:${params.path}`)) as string;
    const parents = (await git(["rev-list", "--parents", "-n", "1", commit]))
      .trim()
      .split(" ")
      .slice(1);
    const tree = (await git(["rev-parse", `${commit}^{tree}`])).trim();
    const now = isoSeconds();
    const identity = { name: "octo-bot", email: "octo-bot@example.invalid", date: now };
    return {
      status: existing ? 200 : 201,
      body: {
        content: await contentJson(params.path, branch, blob),
        commit: {
          sha: commit,
          node_id: `C_${commit.slice(0, 12)}`,
          url: `${repoApi}/git/commits/${commit}`,
          html_url: `${htmlUrl}/commit/${commit}`,
          author: identity,
          committer: identity,
          message,
          tree: { url: `${repoApi}/git/trees/${tree}`, sha: tree },
          parents: parents.map((sha) => ({
            url: `${repoApi}/git/commits/${sha}`,
            html_url: `${htmlUrl}/commit/${sha}`,
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
  });

  route("GET", "/pulls", async ({ url }) => {
    const state = url.searchParams.get("state") ?? "open";
    const head = url.searchParams.get("head");
    const base = url.searchParams.get("base");
    const matching = pulls.filter(
      (pull) =>
        (state === "all" || pull.state === state) &&
        (!head || `${owner}:${pull.head}` === head) &&
        (!base || pull.base === base),
    );
    const page = paginate([...matching].reverse(), url);
    return { ...page, body: await Promise.all((page.body as StandInPull[]).map(pullJson)) };
  });

  route("POST", "/pulls", async ({ body }) => {
    const head = str(body, "head")?.replace(`${owner}:`, "");
    const base = str(body, "base");
    const title = str(body, "title");
    if (!head || !base || !title)
      throw new HttpError(422, "Validation Failed", [
        { resource: "PullRequest", code: "missing_field", field: "head" },
      ]);
    const headSha = await revParse(`refs/heads/${head}`);
    const baseSha = await revParse(`refs/heads/${base}`);
    if (!headSha || !baseSha)
      throw new HttpError(422, "Validation Failed", [
        { resource: "PullRequest", code: "invalid", field: headSha ? "base" : "head" },
      ]);
    if (pulls.some((pull) => pull.state === "open" && pull.head === head && pull.base === base)) {
      throw new HttpError(422, `A pull request already exists for ${owner}:${head}.`, [
        { resource: "PullRequest", code: "custom", field: "head" },
      ]);
    }
    const { exitCode } = await runGitWithCode(
      gitDir,
      ["merge-base", "--is-ancestor", headSha, baseSha],
      { okExitCodes: [1] },
    );
    if (exitCode === 0)
      throw new HttpError(422, `No commits between ${base} and ${head}`, [
        { resource: "PullRequest", code: "custom", field: "head" },
      ]);
    const now = isoSeconds();
    const pull: StandInPull = {
      number: pulls.length + 1,
      head,
      base,
      title,
      body: str(body, "body") ?? null,
      state: "open",
      merged: false,
      merge_commit_sha: null,
      created_at: now,
      updated_at: now,
      closed_at: null,
      merged_at: null,
    };
    pulls.push(pull);
    return {
      status: 201,
      body: await pullJson(pull),
      headers: { location: `${repoApi}/pulls/${pull.number}` },
    };
  });

  function findPull(number: string): StandInPull {
    const pull = pulls.find((candidate) => candidate.number === Number(number));
    if (!pull) throw new HttpError(404, "Not Found");
    return pull;
  }

  route("GET", "/pulls/:number", async ({ params }) => ({
    status: 200,
    body: await pullJson(findPull(params.number)),
  }));

  route("PATCH", "/pulls/:number", async ({ params, body }) => {
    const pull = findPull(params.number);
    if (typeof body.title === "string") pull.title = body.title;
    if (typeof body.body === "string") pull.body = body.body;
    if (body.state === "closed" || body.state === "open") {
      pull.state = body.state;
      pull.closed_at = body.state === "closed" ? isoSeconds() : null;
    }
    pull.updated_at = isoSeconds();
    return { status: 200, body: await pullJson(pull) };
  });

  route("PUT", "/pulls/:number/merge", async ({ params, body }) => {
    const pull = findPull(params.number);
    if (pull.state !== "open") throw new HttpError(405, "Pull Request is not mergeable");
    const headSha = await branchSha(pull.head);
    const baseSha = await branchSha(pull.base);
    if (str(body, "sha") && str(body, "sha") !== headSha)
      throw new HttpError(409, "Head branch was modified. Review and try the merge again.");
    const merged = await runGitWithCode(gitDir, ["merge-tree", "--write-tree", baseSha, headSha], {
      okExitCodes: [1],
    });
    if (merged.exitCode !== 0) throw new HttpError(405, "Pull Request is not mergeable");
    const tree = merged.stdout.split("\n")[0].trim();
    const message = `${str(body, "commit_title") ?? `Merge pull request #${pull.number} from ${owner}/${pull.head}`}\n\n${str(body, "commit_message") ?? pull.title}\n`;
    const commit = (
      await git(["commit-tree", tree, "-p", baseSha, "-p", headSha, "-F", "-"], message)
    ).trim();
    const updated = await runGitWithCode(
      gitDir,
      ["update-ref", `refs/heads/${pull.base}`, commit, baseSha],
      { okExitCodes: [1, 128] },
    );
    if (updated.exitCode !== 0)
      throw new HttpError(409, "Base branch was modified. Review and try the merge again.");
    const now = isoSeconds();
    Object.assign(pull, {
      state: "closed",
      merged: true,
      merge_commit_sha: commit,
      merged_at: now,
      closed_at: now,
      updated_at: now,
    });
    return {
      status: 200,
      body: { sha: commit, merged: true, message: "Pull Request successfully merged" },
    };
  });

  route("GET", "/issues/:number/comments", async ({ params, url }) => {
    findPull(params.number);
    return paginate(
      comments.filter((comment) => comment.issue === Number(params.number)).map(commentJson),
      url,
    );
  });

  route("POST", "/issues/:number/comments", async ({ params, body }) => {
    findPull(params.number);
    const text = str(body, "body");
    if (!text)
      throw new HttpError(422, "Validation Failed", [
        { resource: "IssueComment", code: "missing_field", field: "body" },
      ]);
    const now = isoSeconds();
    const comment: StandInComment = {
      id: nextId++,
      issue: Number(params.number),
      body: text,
      created_at: now,
      updated_at: now,
    };
    comments.push(comment);
    return {
      status: 201,
      body: commentJson(comment),
      headers: { location: `${repoApi}/issues/comments/${comment.id}` },
    };
  });

  route("PATCH", "/issues/comments/:id", async ({ params, body }) => {
    const comment = comments.find((candidate) => candidate.id === Number(params.id));
    if (!comment) throw new HttpError(404, "Not Found");
    const text = str(body, "body");
    if (!text)
      throw new HttpError(422, "Validation Failed", [
        { resource: "IssueComment", code: "missing_field", field: "body" },
      ]);
    comment.body = text;
    comment.updated_at = isoSeconds();
    return { status: 200, body: commentJson(comment) };
  });

  // ---- servers --------------------------------------------------------------------------------

  function send(res: ServerResponse, reply: Reply): void {
    const headers: Record<string, string> = {
      "x-github-api-version-selected": "2022-11-28",
      ...reply.headers,
    };
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    res
      .writeHead(reply.status, { "content-type": "application/json; charset=utf-8", ...headers })
      .end(JSON.stringify(reply.body));
  }

  function errorReply(error: unknown): Reply {
    if (error instanceof HttpError) {
      return {
        status: error.status,
        body: {
          message: error.message,
          documentation_url: "https://docs.invalid/rest",
          status: String(error.status),
          ...(error.errors ? { errors: error.errors } : {}),
        },
      };
    }
    return { status: 500, body: { message: `stand-in failure: ${(error as Error).message}` } };
  }

  /** Answers from a fault rule, if one matches; true when the request is dealt with. */
  async function applyFault(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
  ): Promise<FaultRule | undefined> {
    const fault = takeFault(req.method ?? "GET", path);
    if (!fault) return undefined;
    await fault.before?.();
    if (fault.respond) {
      send(res, {
        status: fault.respond.status,
        body: fault.respond.body ?? { message: "injected fault" },
        headers: fault.respond.headers,
      });
      requests.push({ method: req.method ?? "GET", path, status: fault.respond.status });
    } else if (fault.echoAuthorization) {
      send(res, {
        status: 500,
        body: { message: `upstream rejected credentials "${req.headers.authorization}"` },
      });
      requests.push({ method: req.method ?? "GET", path, status: 500 });
    }
    return fault;
  }

  apiServer.on("request", async (req, res) => {
    const url = new URL(req.url ?? "/", apiUrl);
    const method = req.method ?? "GET";
    const path = url.pathname;
    try {
      const fault = await applyFault(req, res, path);
      if (fault?.respond || fault?.echoAuthorization) return;
      if (!authorized(req)) {
        send(res, {
          status: 401,
          body: { message: "Bad credentials", documentation_url: "https://docs.invalid/rest" },
        });
        requests.push({ method, path, status: 401 });
        return;
      }
      const raw = await readBody(req);
      const body = raw.length ? (JSON.parse(raw.toString("utf8")) as Record<string, unknown>) : {};
      let reply: Reply = errorReply(new HttpError(404, "Not Found"));
      for (const candidate of routes) {
        if (candidate.method !== method) continue;
        const match = candidate.pattern.exec(path);
        if (!match) continue;
        const [, matchedOwner, matchedRepo, ...values] = match.map((value) =>
          value ? decodeURIComponent(value) : value,
        );
        if (matchedOwner !== owner || matchedRepo !== repo) break;
        const params = Object.fromEntries(candidate.keys.map((key, index) => [key, values[index]]));
        try {
          reply = await candidate.handler({ params, url, body, headers: req.headers });
        } catch (error) {
          reply = errorReply(error);
        }
        break;
      }
      if (validate) {
        violations.push(
          ...checkResponse(
            method,
            path,
            reply.status,
            reply.body === undefined ? undefined : "application/json",
            reply.body,
          ),
        );
      }
      requests.push({ method, path, status: reply.status });
      send(res, reply);
    } catch (error) {
      send(res, errorReply(error));
    }
  });

  async function handleUpload(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    releaseId: string,
  ): Promise<void> {
    const path = url.pathname;
    const method = req.method ?? "POST";
    const fault = await applyFault(req, res, path);
    if (fault?.respond || fault?.echoAuthorization) return;
    const respond = (reply: Reply) => {
      if (validate)
        violations.push(
          ...checkResponse(
            method,
            path,
            reply.status,
            reply.body === undefined ? undefined : "application/json",
            reply.body,
          ),
        );
      requests.push({ method, path, status: reply.status });
      send(res, reply);
    };
    if (!authorized(req)) return send(res, { status: 401, body: { message: "Bad credentials" } });
    const release = releases.find((candidate) => candidate.id === Number(releaseId));
    const name = url.searchParams.get("name");
    if (!release) return respond(errorReply(new HttpError(404, "Not Found")));
    if (!name)
      return respond(
        errorReply(
          new HttpError(422, "Validation Failed", [
            { resource: "ReleaseAsset", code: "missing_field", field: "name" },
          ]),
        ),
      );
    if (release.assets.some((asset) => asset.name === name)) {
      await readBody(req);
      return respond(
        errorReply(
          new HttpError(422, "Validation Failed", [
            { resource: "ReleaseAsset", code: "already_exists", field: "name" },
          ]),
        ),
      );
    }
    const now = isoSeconds();
    const id = nextId++;
    const asset: StandInAsset = {
      id,
      name,
      label: url.searchParams.get("label"),
      content_type: req.headers["content-type"] ?? "application/octet-stream",
      size: 0,
      state: "open",
      digest: null,
      created_at: now,
      updated_at: now,
      file: join(assetDir, String(id)),
    };
    release.assets.push(asset);
    const hash = createHash("sha256");
    const out = createWriteStream(asset.file);
    const cutAfter = fault?.interruptUpload?.afterBytes;
    let received = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      const piece =
        cutAfter !== undefined ? chunk.subarray(0, Math.max(0, cutAfter - received)) : chunk;
      out.write(piece);
      hash.update(piece);
      received += piece.length;
      asset.size = received;
      if (cutAfter !== undefined && received >= cutAfter) {
        // Leave the asset `open`, as GitHub does when an upload dies midway.
        out.end();
        requests.push({ method, path, status: 0 });
        req.socket.destroy();
        return;
      }
    }
    await new Promise<void>((resolve) => out.end(resolve));
    asset.state = "uploaded";
    asset.digest = `sha256:${hash.digest("hex")}`;
    respond({ status: 201, body: assetJson(asset, release) });
  }

  uploadServer.on("request", async (req, res) => {
    const url = new URL(req.url ?? "/", uploadUrl);
    try {
      const upload = new RegExp(`^/repos/${owner}/${repo}/releases/(\\d+)/assets$`).exec(
        url.pathname,
      );
      if (upload && req.method === "POST") return await handleUpload(req, res, url, upload[1]);
      const storage = /^\/storage\/assets\/(\d+)$/.exec(url.pathname);
      const download = new RegExp(`^/${owner}/${repo}/releases/download/([^/]+)/([^/]+)$`).exec(
        url.pathname,
      );
      const asset = releases
        .flatMap((release) => release.assets.map((item) => ({ release, item })))
        .find(({ release, item }) =>
          storage
            ? item.id === Number(storage[1])
            : download &&
              release.tag_name === decodeURIComponent(download[1]) &&
              item.name === decodeURIComponent(download[2]),
        );
      if (req.method === "GET" && asset) {
        res
          .writeHead(200, { "content-type": "application/octet-stream" })
          .end(await readFile(asset.item.file));
        return;
      }
      send(res, { status: 404, body: { message: "Not Found" } });
    } catch (error) {
      if (!res.headersSent) send(res, errorReply(error));
    }
  });

  return {
    apiUrl,
    uploadUrl,
    owner,
    repo,
    repository: `${owner}/${repo}`,
    token,
    gitDir,
    violations,
    requests,
    releases,
    pulls,
    comments,
    addFault(rule) {
      faults.push(rule);
    },
    git,
    async commitFiles(branch, files, message = "update") {
      const entries = Object.entries(files).map(([path, content]) => ({
        path,
        content: Buffer.from(content),
      }));
      return commitOnBranch(branch, entries, message);
    },
    async corruptAsset(tag, name) {
      const asset = releases
        .find((release) => release.tag_name === tag)
        ?.assets.find((item) => item.name === name);
      if (!asset) throw new Error(`stand-in: no asset ${name} on release ${tag}`);
      const bytes = await readFile(asset.file);
      bytes[0] ^= 0xff;
      await writeFile(asset.file, bytes);
    },
    async close() {
      await Promise.all(
        [apiServer, uploadServer].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
      await rm(root, { recursive: true, force: true });
    },
  };
}

// `node test/support/github-server.ts` runs the stand-in until SIGINT/SIGTERM, e.g. for workflow
// runs with act: STAND_IN_HOST (default 127.0.0.1) and STAND_IN_TOKEN choose where it listens
// and which token it accepts; it prints its URLs and repository as one JSON line.
if (import.meta.main) {
  const standIn = await startGitHubStandIn({
    host: process.env.STAND_IN_HOST,
    token: process.env.STAND_IN_TOKEN,
    owner: process.env.STAND_IN_OWNER,
    repo: process.env.STAND_IN_REPO,
  });
  const { apiUrl, uploadUrl, repository, gitDir } = standIn;
  console.log(JSON.stringify({ apiUrl, uploadUrl, repository, gitDir }));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void standIn.close().then(() => process.exit(0)));
  }
}

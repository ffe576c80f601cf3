import type { GitRepo } from "./git-repo.ts";
import type {
  CheckRun,
  StandInAsset,
  StandInComment,
  StandInPull,
  StandInRelease,
  StateData,
} from "./store.ts";
import { isoSeconds } from "./store.ts";

// Objects as GitHub's REST API shapes them (every response is checked against @octokit/openapi).

/** Where the local GitHub answers, and the repository it serves. */
export interface Site {
  apiUrl: string;
  uploadUrl: string;
  owner: string;
  repo: string;
  defaultBranch: string;
  htmlUrl: string;
  repoApi: string;
}

const KNOWN_IDS: Record<string, number> = { "github-actions[bot]": 41898282 };

/** A user or bot account; logins ending in `[bot]` are bots, as on GitHub. */
export function userJson(site: Site, login: string) {
  const base = `${site.apiUrl}/users/${encodeURIComponent(login)}`;
  return {
    login,
    id: KNOWN_IDS[login] ?? 1 + (Math.abs(hash(login)) % 1_000_000),
    node_id: `U_${Buffer.from(login).toString("base64url")}`,
    avatar_url: `${site.apiUrl}/avatars/${encodeURIComponent(login)}`,
    gravatar_id: "",
    url: base,
    html_url: `${site.apiUrl}/html/${encodeURIComponent(login)}`,
    followers_url: `${base}/followers`,
    following_url: `${base}/following{/other_user}`,
    gists_url: `${base}/gists{/gist_id}`,
    starred_url: `${base}/starred{/owner}{/repo}`,
    subscriptions_url: `${base}/subscriptions`,
    organizations_url: `${base}/orgs`,
    repos_url: `${base}/repos`,
    events_url: `${base}/events{/privacy}`,
    received_events_url: `${base}/received_events`,
    type: login.endsWith("[bot]") ? "Bot" : "User",
    site_admin: false,
  };
}

function hash(text: string): number {
  let value = 0;
  for (const char of text) value = (value * 31 + char.charCodeAt(0)) | 0;
  return value;
}

export function repositoryJson(site: Site, state: StateData) {
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
    ).map(([key, suffix]) => [key, `${site.repoApi}${suffix}`]),
  );
  const open = state.pulls.filter((pull) => pull.state === "open").length;
  const gitUrl = `${site.apiUrl}/git/${site.owner}/${site.repo}.git`;
  return {
    id: 1296269,
    node_id: "R_kgDOABPHjQ",
    name: site.repo,
    full_name: `${site.owner}/${site.repo}`,
    owner: userJson(site, site.owner),
    private: true,
    html_url: site.htmlUrl,
    description: "house-price model pipeline",
    fork: false,
    url: site.repoApi,
    ...urls,
    clone_url: gitUrl,
    git_url: gitUrl,
    ssh_url: gitUrl,
    svn_url: site.htmlUrl,
    mirror_url: null,
    homepage: null,
    language: "TypeScript",
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers: 0,
    watchers_count: 0,
    size: 1,
    default_branch: site.defaultBranch,
    open_issues: open,
    open_issues_count: open,
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
    pushed_at: state.created_at,
    created_at: state.created_at,
    updated_at: state.created_at,
    license: null,
    network_count: 0,
    subscribers_count: 0,
  };
}

export function assetJson(site: Site, asset: StandInAsset, release: StandInRelease) {
  return {
    url: `${site.repoApi}/releases/assets/${asset.id}`,
    browser_download_url: `${site.uploadUrl}/${site.owner}/${site.repo}/releases/download/${release.tag_name}/${asset.name}`,
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
    uploader: userJson(site, site.owner),
  };
}

export function releaseJson(site: Site, release: StandInRelease) {
  const tag = encodeURIComponent(release.tag_name);
  return {
    url: `${site.repoApi}/releases/${release.id}`,
    html_url: release.draft
      ? `${site.htmlUrl}/releases/tag/untagged-${release.id}`
      : `${site.htmlUrl}/releases/tag/${tag}`,
    assets_url: `${site.repoApi}/releases/${release.id}/assets`,
    upload_url: `${site.uploadUrl}/repos/${site.owner}/${site.repo}/releases/${release.id}/assets{?name,label}`,
    tarball_url: release.draft ? null : `${site.repoApi}/tarball/${tag}`,
    zipball_url: release.draft ? null : `${site.repoApi}/zipball/${tag}`,
    id: release.id,
    node_id: `RE_${release.id}`,
    tag_name: release.tag_name,
    target_commitish: release.target_commitish,
    name: release.name,
    body: release.body,
    draft: release.draft,
    prerelease: release.prerelease,
    immutable: release.immutable,
    created_at: release.created_at,
    published_at: release.published_at,
    author: userJson(site, site.owner),
    assets: release.assets.map((asset) => assetJson(site, asset, release)),
  };
}

export async function refJson(site: Site, git: GitRepo, ref: string, sha: string, known?: string) {
  const type = known ?? (await git.objectType(sha)) ?? "commit";
  return {
    ref,
    node_id: `REF_${Buffer.from(ref).toString("base64url")}`,
    url: `${site.repoApi}/git/${ref}`,
    object: { type, sha, url: `${site.repoApi}/git/${type}s/${sha}` },
  };
}

export async function tagJson(site: Site, git: GitRepo, sha: string) {
  const text = await git.git(["cat-file", "tag", sha]);
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
    url: `${site.repoApi}/git/tags/${sha}`,
    tag: fields.get("tag") ?? "",
    message,
    tagger: {
      name: tagger?.[1] ?? "",
      email: tagger?.[2] ?? "",
      date: isoSeconds(new Date(Number(tagger?.[3] ?? 0) * 1000)),
    },
    object: { sha: objectSha, type, url: `${site.repoApi}/git/${type}s/${objectSha}` },
    verification: {
      verified: false,
      reason: "unsigned",
      signature: null,
      payload: null,
      verified_at: null,
    },
  };
}

/** A commit of the git database (`GET /git/commits/{sha}`). */
export async function commitJson(site: Site, git: GitRepo, sha: string) {
  const text = await git.git(["cat-file", "commit", sha]);
  const split = text.indexOf("\n\n");
  const lines = (split < 0 ? text : text.slice(0, split)).split("\n");
  const value = (key: string) =>
    lines.filter((line) => line.startsWith(`${key} `)).map((line) => line.slice(key.length + 1));
  const person = (line: string | undefined) => {
    const match = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(line ?? "");
    return {
      name: match?.[1] ?? "",
      email: match?.[2] ?? "",
      date: isoSeconds(new Date(Number(match?.[3] ?? 0) * 1000)),
    };
  };
  const tree = value("tree")[0] ?? "";
  return {
    sha,
    node_id: `C_${sha.slice(0, 12)}`,
    url: `${site.repoApi}/git/commits/${sha}`,
    html_url: `${site.htmlUrl}/commit/${sha}`,
    author: person(value("author")[0]),
    committer: person(value("committer")[0]),
    message: split < 0 ? "" : text.slice(split + 2),
    tree: { url: `${site.repoApi}/git/trees/${tree}`, sha: tree },
    parents: value("parent").map((parent) => ({
      url: `${site.repoApi}/git/commits/${parent}`,
      html_url: `${site.htmlUrl}/commit/${parent}`,
      sha: parent,
    })),
    verification: {
      verified: false,
      reason: "unsigned",
      signature: null,
      payload: null,
      verified_at: null,
    },
  };
}

export async function pullJson(site: Site, git: GitRepo, state: StateData, pull: StandInPull) {
  const side = async (branch: string) => ({
    label: `${site.owner}:${branch}`,
    ref: branch,
    sha: (await git.revParse(`refs/heads/${branch}`)) ?? pull.merge_commit_sha ?? "",
    user: userJson(site, site.owner),
    repo: repositoryJson(site, state),
  });
  const url = `${site.repoApi}/pulls/${pull.number}`;
  const issueUrl = `${site.repoApi}/issues/${pull.number}`;
  const html = `${site.htmlUrl}/pull/${pull.number}`;
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
    review_comment_url: `${site.repoApi}/pulls/comments{/number}`,
    comments_url: `${issueUrl}/comments`,
    statuses_url: `${site.repoApi}/statuses/${pull.head}`,
    number: pull.number,
    state: pull.state,
    locked: false,
    title: pull.title,
    user: userJson(site, pull.user),
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
      review_comment: { href: `${site.repoApi}/pulls/comments{/number}` },
      commits: { href: `${url}/commits` },
      statuses: { href: `${site.repoApi}/statuses/${pull.head}` },
    },
    author_association: "OWNER",
    auto_merge: null,
    draft: false,
    merged: pull.merged,
    mergeable: pull.state === "open" ? true : null,
    rebaseable: pull.state === "open" ? true : null,
    mergeable_state: pull.state === "open" ? "clean" : "unknown",
    merged_by: pull.merged ? userJson(site, site.owner) : null,
    comments: state.comments.filter((comment) => comment.issue === pull.number).length,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: 1,
    additions: 1,
    deletions: 1,
    changed_files: 1,
  };
}

export function commentJson(site: Site, comment: StandInComment) {
  return {
    id: comment.id,
    node_id: `IC_${comment.id}`,
    url: `${site.repoApi}/issues/comments/${comment.id}`,
    html_url: `${site.htmlUrl}/pull/${comment.issue}#issuecomment-${comment.id}`,
    body: comment.body,
    user: userJson(site, comment.user),
    created_at: comment.created_at,
    updated_at: comment.updated_at,
    issue_url: `${site.repoApi}/issues/${comment.issue}`,
    author_association: "OWNER",
    performed_via_github_app: null,
  };
}

export async function contentJson(
  site: Site,
  git: GitRepo,
  path: string,
  ref: string,
  blob: string,
) {
  const content = Buffer.from(await git.git(["cat-file", "blob", blob]), "utf8");
  const url = `${site.repoApi}/contents/${path}?ref=${encodeURIComponent(ref)}`;
  const html = `${site.htmlUrl}/blob/${ref}/${path}`;
  const gitUrl = `${site.repoApi}/git/blobs/${blob}`;
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
    download_url: `${site.uploadUrl}/raw/${site.owner}/${site.repo}/${ref}/${path}`,
    _links: { self: url, git: gitUrl, html },
  };
}

/** The GitHub Actions app, which owns the check runs of workflow jobs. */
function actionsApp(site: Site) {
  return {
    id: 15368,
    slug: "github-actions",
    node_id: "MDM6QXBwMTUzNjg=",
    client_id: "Iv1.actions",
    owner: userJson(site, "github"),
    name: "GitHub Actions",
    description: "Automate your workflow from idea to production",
    external_url: "https://help.github.invalid/en/actions",
    html_url: `${site.apiUrl}/html/apps/github-actions`,
    created_at: "2018-07-30T09:30:17Z",
    updated_at: "2024-04-10T20:33:16Z",
    permissions: { actions: "write", checks: "write", contents: "write", metadata: "read" },
    events: ["check_run", "check_suite", "pull_request", "push", "workflow_dispatch"],
  };
}

export function checkRunJson(site: Site, run: CheckRun) {
  const url = `${site.repoApi}/check-runs/${run.id}`;
  return {
    id: run.id,
    head_sha: run.head_sha,
    node_id: `CR_${run.id}`,
    external_id: String(run.runId),
    url,
    html_url: `${site.htmlUrl}/actions/runs/${run.runId}`,
    details_url: `${site.htmlUrl}/actions/runs/${run.runId}`,
    status: "completed",
    conclusion: run.conclusion,
    started_at: run.started_at,
    completed_at: run.completed_at,
    output: {
      title: null,
      summary: null,
      text: null,
      annotations_count: 0,
      annotations_url: `${url}/annotations`,
    },
    name: run.name,
    check_suite: { id: run.runId },
    app: actionsApp(site),
    pull_requests: [],
  };
}

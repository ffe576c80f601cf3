import { randomBytes } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Permissions } from "./permissions.ts";

// Everything the local GitHub keeps besides git: releases (asset bytes live in files beside this
// one), pull requests, comments, settings, tokens, events and runs. It is one JSON document,
// rewritten whole after each change: temp file, then rename, so a crash leaves the old or the
// new state, never half of one.

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
}

export interface StandInRelease {
  id: number;
  tag_name: string;
  target_commitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  /** Published while immutable releases were on: its assets and tag are final. */
  immutable: boolean;
  created_at: string;
  published_at: string | null;
  assets: StandInAsset[];
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
  /** Who opened it (the token's login). */
  user: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  merged_at: string | null;
}

export interface StandInComment {
  id: number;
  issue: number;
  body: string;
  user: string;
  created_at: string;
  updated_at: string;
}

/** The three kinds of token GitHub's REST API tells apart for this repository. */
export type TokenKind = "user" | "app" | "github_token";

export interface TokenRecord {
  token: string;
  kind: TokenKind;
  /** user: the person; app: `<slug>[bot]`; github_token: `github-actions[bot]`. */
  login: string;
  /** app, and per-job GITHUB_TOKENs: the permissions, fixed when minted. */
  permissions?: Permissions;
  /** app: the App's slug. */
  app?: string;
  /** A run's GITHUB_TOKEN: the workflow file and commit whose jobs' `permissions:` apply. */
  workflow?: string;
  sha?: string;
  runId?: number;
  created_at: string;
}

/** A tag ruleset: only `allowedActors` may create tags whose name matches `pattern`. */
export interface TagRuleset {
  name: string;
  /** A GitHub filter pattern on the tag name, e.g. `house-price#production#*`. */
  pattern: string;
  /** `user:<login>` or `app:<slug>`; a GITHUB_TOKEN is `app:github-actions`. */
  allowedActors: string[];
}

export interface Settings {
  /** Settings → Actions → General → "Allow GitHub Actions to create and approve pull requests". */
  actionsCanCreatePullRequests: boolean;
  /** Settings → Actions → General → Workflow permissions: "read" (restricted) or "write". */
  defaultWorkflowPermissions: "read" | "write";
  /** Settings → General → Releases → "Enable release immutability". */
  immutableReleases: boolean;
  tagRulesets: TagRuleset[];
  /** Requests (REST) or points (GraphQL) per hour, per budget. */
  rateLimits: Record<TokenKind, number>;
}

/** A change to some settings (rate limits one by one). */
export type SettingsPatch = Partial<Omit<Settings, "rateLimits">> & {
  rateLimits?: Partial<Settings["rateLimits"]>;
};

/** Settings of a new repository on github.com. */
export const DEFAULT_SETTINGS: Settings = {
  actionsCanCreatePullRequests: false,
  defaultWorkflowPermissions: "read",
  immutableReleases: false,
  tagRulesets: [],
  rateLimits: { github_token: 1000, user: 5000, app: 5000 },
};

/** Who caused an event: the kind of token and its actor name. */
export interface Cause {
  kind: TokenKind;
  actor: string;
  login: string;
}

export interface RecordedEvent {
  id: number;
  /** push, create, delete, pull_request, workflow_dispatch, repository_dispatch, workflow_run. */
  name: string;
  action: string | null;
  ref: string | null;
  sha: string | null;
  /** push: the files the push changed. */
  paths?: string[];
  cause: Cause;
  /** The webhook payload GitHub would send, ready for `act --eventpath`. */
  payload: Record<string, unknown>;
  /** Why no run was started, when GitHub would start none for this event. */
  suppressed: string | null;
  created_at: string;
}

export interface JobResult {
  name: string;
  conclusion: string;
}

export interface WorkflowRun {
  id: number;
  /** `.github/workflows/<file>` */
  workflow: string;
  name: string;
  event: string;
  eventId: number;
  ref: string;
  sha: string;
  head_branch: string | null;
  status: "pending" | "in_progress" | "completed";
  conclusion: string | null;
  /** How many workflow_run hops led here (GitHub stops after three). */
  depth: number;
  jobs: JobResult[];
  created_at: string;
  updated_at: string;
}

export interface CheckRun {
  id: number;
  name: string;
  head_sha: string;
  runId: number;
  conclusion: string;
  started_at: string;
  completed_at: string;
}

export interface StateData {
  version: 1;
  nextId: number;
  created_at: string;
  settings: Settings;
  tokens: TokenRecord[];
  releases: StandInRelease[];
  pulls: StandInPull[];
  comments: StandInComment[];
  events: RecordedEvent[];
  runs: WorkflowRun[];
  checkRuns: CheckRun[];
  /** The refs as last seen: changes made behind the API's back show up as pushes. */
  knownRefs: Record<string, string>;
  /** Tags of immutable releases, which no new release may use again. */
  usedImmutableTags: string[];
}

export function isoSeconds(date = new Date()): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** A new secret in GitHub's format for its kind (`ghp_` user, `ghs_` installation). */
export function newToken(kind: TokenKind): string {
  return `${kind === "user" ? "ghp" : "ghs"}_${randomBytes(18).toString("hex")}`;
}

export function emptyState(): StateData {
  return {
    version: 1,
    nextId: 1000,
    created_at: isoSeconds(),
    settings: structuredClone(DEFAULT_SETTINGS),
    tokens: [],
    releases: [],
    pulls: [],
    comments: [],
    events: [],
    runs: [],
    checkRuns: [],
    knownRefs: {},
    usedImmutableTags: [],
  };
}

export type Store = Awaited<ReturnType<typeof openStore>>;

/** Loads `<dir>/state.json` (or starts empty) and returns it with a coalescing atomic `save`. */
export async function openStore(dir: string) {
  const file = join(dir, "state.json");
  let data: StateData;
  try {
    data = JSON.parse(await readFile(file, "utf8")) as StateData;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`${file}: not a local GitHub state file (${(error as Error).message})`);
    }
    data = emptyState();
  }
  data = { ...emptyState(), ...data };
  data.settings = { ...structuredClone(DEFAULT_SETTINGS), ...data.settings };

  let writing: Promise<void> | null = null;
  let dirty = false;
  async function writeNow(): Promise<void> {
    const temp = `${file}.${process.pid}.tmp`;
    // Tokens are secrets: the file is readable by its owner only.
    await writeFile(temp, JSON.stringify(data), { mode: 0o600 });
    await rename(temp, file);
  }
  /** Writes the state; calls made while a write runs are folded into one more write. */
  function save(): Promise<void> {
    if (writing) {
      dirty = true;
      return writing;
    }
    writing = (async () => {
      do {
        dirty = false;
        await writeNow();
      } while (dirty);
    })().finally(() => {
      writing = null;
    });
    return writing;
  }
  return {
    data,
    assetDir: join(dir, "assets"),
    save,
    nextId: () => data.nextId++,
  };
}

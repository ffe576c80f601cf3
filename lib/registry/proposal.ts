// A proposed change to one file on a branch, and where it becomes reviewable: a pull request on
// GitHub, or a local branch with instructions. Promotion and rollback are built on this.
import type { Registry } from "./types.ts";

export interface ProposedChange {
  branch: string;
  /** Branch the change starts from and is meant to merge into; default: the repository's own. */
  base?: string;
  path: string;
  content: string;
  commitMessage: string;
  /** Pull request title and body (the report). */
  title: string;
  body: string;
  /** Hidden HTML comment that finds the proposal's comment again on reruns. */
  marker: string;
  /** Comment body; must contain `marker`. */
  comment: string;
  /** A workflow (file name) to dispatch on the branch once the pull request is open, so its
   * checks report on the head commit: pushes made with GITHUB_TOKEN start no workflows. */
  checksWorkflow?: string;
}

export interface ProposalResult {
  branch: string;
  base: string;
  /** The branch head after the proposal. */
  commit: string;
  /** False when the branch already had this content (no new commit). */
  changed: boolean;
  pullRequest: { number: number; url: string; created: boolean } | null;
  comment: { id: string; url: string; created: boolean } | null;
  /** Local only: how to merge the branch. */
  instructions: string | null;
  /** The workflow dispatched on the branch for its checks, if any. */
  dispatched: string | null;
}

export interface ChangeProposer {
  readonly kind: "local" | "github";
  /** The file at `ref` (default: the base branch), or null when it does not exist there. */
  readFile(path: string, ref?: string): Promise<string | null>;
  propose(change: ProposedChange): Promise<ProposalResult>;
}

/** A registry and, on the same backend, where promotion and rollback changes are proposed. */
export interface PromotionTarget {
  registry: Registry;
  proposer: ChangeProposer;
}

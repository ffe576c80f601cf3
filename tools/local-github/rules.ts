import { matchesPattern } from "./filter-pattern.ts";
import { HttpError, undeclaredError } from "./git-repo.ts";
import type { Hub, Principal } from "./hub.ts";
import type { StandInRelease } from "./store.ts";

// Repository rules GitHub enforces beyond permissions, with the answers GitHub gives (texts as
// reported from github.com; the ones no public report shows are marked).

/** 403 for a GITHUB_TOKEN opening a PR while "Allow GitHub Actions to create and approve pull requests" is off. */
export function assertMayCreatePullRequest(hub: Hub, principal: Principal): void {
  if (principal.kind === "github_token" && !hub.state.settings.actionsCanCreatePullRequests) {
    throw new HttpError(403, "GitHub Actions is not permitted to create or approve pull requests.");
  }
}

const RULESET_VIOLATION =
  "Repository rule violations found\n\nCannot create ref due to creations being restricted.\n\n";

/** The ruleset that forbids `principal` creating tag `name`, if any. */
function blockingRuleset(hub: Hub, principal: Principal, name: string) {
  return hub.state.settings.tagRulesets.find(
    (ruleset) =>
      matchesPattern(ruleset.pattern, name) && !ruleset.allowedActors.includes(principal.actor),
  );
}

/** POST …/git/refs of a tag that a ruleset restricts: 422, as GitHub answers. */
export function assertMayCreateTag(hub: Hub, principal: Principal, name: string): void {
  if (blockingRuleset(hub, principal, name)) throw new HttpError(422, RULESET_VIOLATION);
}

/** Publishing a release whose tag a ruleset restricts: GitHub's pre_receive validation error. */
export function assertMayPublishTag(hub: Hub, principal: Principal, name: string): void {
  if (!blockingRuleset(hub, principal, name)) return;
  throw new HttpError(422, "Validation Failed", [
    {
      resource: "Release",
      code: "custom",
      field: "pre_receive",
      message: `pre_receive ${RULESET_VIOLATION}`,
    },
  ]);
}

/** A tag an immutable release was published on may not be moved or deleted. */
export function assertTagMovable(hub: Hub, ref: string): void {
  const tag = ref.replace(/^refs\/tags\//, "");
  if (!ref.startsWith("refs/tags/")) return;
  if (hub.state.releases.some((release) => release.immutable && release.tag_name === tag)) {
    // Unverified text: GitHub declines such a push "due to repository rule violations".
    throw undeclaredError(
      422,
      "Repository rule violations found\n\nCannot update this protected ref.\n\n",
    );
  }
}

/** 422 for adding an asset to a published immutable release. */
export function assertCanUpload(release: StandInRelease): void {
  if (release.immutable)
    throw undeclaredError(422, "Cannot upload assets to an immutable release.");
}

/** 422 for deleting an asset of a published immutable release. */
export function assertCanDeleteAsset(release: StandInRelease): void {
  if (!release.immutable) return;
  throw undeclaredError(422, "Validation Failed", [
    {
      resource: "ReleaseAsset",
      code: "custom",
      message: "Cannot delete asset from an immutable release",
    },
  ]);
}

/** An immutable release keeps its tag, target and published state; title and notes may change. */
export function assertCanEdit(release: StandInRelease, body: Record<string, unknown>): void {
  if (!release.immutable) return;
  if (body.draft === true) {
    throw undeclaredError(422, "Validation Failed", [
      {
        resource: "Release",
        code: "custom",
        field: "draft",
        message: "state cannot be changed when release is immutable",
      },
    ]);
  }
  for (const field of ["tag_name", "target_commitish"] as const) {
    const value = body[field];
    const current = field === "tag_name" ? release.tag_name : release.target_commitish;
    if (typeof value === "string" && value !== current) {
      // Unverified text: GitHub documents that an immutable release's tag cannot change.
      throw undeclaredError(422, "Validation Failed", [
        {
          resource: "Release",
          code: "custom",
          field,
          message: `${field} cannot be changed when release is immutable`,
        },
      ]);
    }
  }
}

/** A tag an immutable release used stays used, even after that release is deleted. */
export function assertTagReusable(hub: Hub, tag: string): void {
  if (hub.state.usedImmutableTags.includes(tag)) {
    throw new HttpError(422, "Validation Failed", [
      {
        resource: "Release",
        code: "custom",
        field: "tag_name",
        message: "tag_name was used by an immutable release",
      },
    ]);
  }
}

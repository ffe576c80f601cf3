// GitHub's repository permissions as a workflow's `permissions:` names them, and what a token of
// each kind holds. Docs: "Controlling permissions for GITHUB_TOKEN" and "Permissions required for
// fine-grained personal access tokens / GitHub Apps" (each REST endpoint's page lists its own).

export type Level = "none" | "read" | "write";
/** Permission name (dash form, as in workflow files: `pull-requests`) -> level. */
export type Permissions = Record<string, Level>;

/** The scopes a workflow may set for GITHUB_TOKEN (`jobs.<id>.permissions`). */
export const WORKFLOW_SCOPES = [
  "actions",
  "attestations",
  "checks",
  "contents",
  "deployments",
  "discussions",
  "id-token",
  "issues",
  "models",
  "packages",
  "pages",
  "pull-requests",
  "repository-projects",
  "security-events",
  "statuses",
];

const RANK: Record<Level, number> = { none: 0, read: 1, write: 2 };

/** `pull_requests` (App style) and `pull-requests` (workflow style) are one permission. */
export function normalizePermissions(input: Record<string, unknown>, where: string): Permissions {
  const out: Permissions = {};
  for (const [key, value] of Object.entries(input)) {
    if (value !== "none" && value !== "read" && value !== "write") {
      throw new Error(`${where}: permission ${key}: "${String(value)}" is not read, write or none`);
    }
    out[key.replaceAll("_", "-")] = value;
  }
  return out;
}

/** What GITHUB_TOKEN gets when a workflow sets no `permissions:`, per the repository setting. */
export function defaultTokenPermissions(setting: "read" | "write"): Permissions {
  if (setting === "read") return { contents: "read", packages: "read", metadata: "read" };
  const all: Permissions = { metadata: "read" };
  for (const scope of WORKFLOW_SCOPES) if (scope !== "id-token") all[scope] = "write";
  return all;
}

/**
 * A `permissions:` value of a workflow or job: `read-all`, `write-all`, `{}` or a map, where a
 * scope left out of a map is `none`. Metadata is always readable.
 */
export function fromWorkflowPermissions(value: unknown, where: string): Permissions {
  if (value === "read-all" || value === "write-all") {
    const level: Level = value === "read-all" ? "read" : "write";
    return { metadata: "read", ...Object.fromEntries(WORKFLOW_SCOPES.map((s) => [s, level])) };
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return { ...normalizePermissions(value as Record<string, unknown>, where), metadata: "read" };
  }
  throw new Error(`${where}: permissions must be read-all, write-all or a map, not ${value}`);
}

/** Each permission at the lowest level any of `sets` grants it. */
export function intersect(sets: Permissions[]): Permissions {
  if (sets.length === 0) return { metadata: "read" };
  const keys = new Set(sets.flatMap((set) => Object.keys(set)));
  const out: Permissions = {};
  for (const key of keys) {
    const levels = sets.map((set) => set[key] ?? "none");
    out[key] = levels.reduce((low, level) => (RANK[level] < RANK[low] ? level : low));
  }
  return out;
}

/** A requirement: `contents:write`, or any one of several (`issues:write|pull-requests:write`). */
export type Requirement = string;

/** Whether `held` satisfies `requirement`. */
export function satisfies(held: Permissions, requirement: Requirement): boolean {
  return requirement.split("|").some((alternative) => {
    const [scope, level] = alternative.split(":") as [string, Level];
    return RANK[held[scope] ?? "none"] >= RANK[level];
  });
}

/** GitHub's `x-accepted-github-permissions` header value for a requirement. */
export function acceptedHeader(requirement: Requirement): string {
  return requirement
    .split("|")
    .map((alternative) => alternative.replace(":", "=").replaceAll("-", "_"))
    .join("; ");
}

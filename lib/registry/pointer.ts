// deploy/production.json: the one model version production should serve. Promotion and rollback
// propose changes to it; merging one is the deployment decision; the deploy stage reads it.
import type { ModelVersion } from "./types.ts";

export const DEPLOY_FILE = "deploy/production.json";

/** What deploy/production.json holds: the one model version production serves. */
export interface DeployPointer {
  name: string;
  version: string;
  tag: string;
  asset: string;
  sha256: string;
}

/** deploy/production.json's content for `version`. */
export function deployPointer(version: ModelVersion): DeployPointer {
  if (!version.lineage) {
    throw new Error(
      `${version.tag} has no lineage in its tag message, so its model sha256 is unknown`,
    );
  }
  return {
    name: version.name,
    version: version.version,
    tag: version.tag,
    asset: version.lineage.model.file,
    sha256: version.lineage.model.sha256,
  };
}

/** Parses deploy/production.json; null when it is absent or not a pointer. */
export function parseDeployPointer(content: string | null): DeployPointer | null {
  if (!content) return null;
  try {
    const value = JSON.parse(content) as Partial<DeployPointer>;
    return typeof value.version === "string" && typeof value.tag === "string"
      ? (value as DeployPointer)
      : null;
  } catch {
    return null;
  }
}

// The deploy stage: fetch the version deploy/production.json points at from the registry,
// verify it, place it where the server loads it (atomic symlink swap), assign production.
import { readFile, rename, rm, stat, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readBundle, STAGES } from "../../lib/bundle/bundle.ts";
import { tempPathFor } from "../../lib/io/files.ts";
import { fetchBundle } from "../../lib/registry/fetch-bundle.ts";
import { DEPLOY_FILE, type DeployPointer, parseDeployPointer } from "../../lib/registry/pointer.ts";
import type { Registry } from "../../lib/registry/types.ts";

export const DEFAULT_MODELS_DIR = "deploy/models";
/** The name under the models folder that the server watches: a symlink to the live version. */
export const CURRENT_LINK = "current";

export interface DeployOptions {
  registry: Registry;
  /** The version to deploy; default: the one deploy/production.json points at. */
  version?: string;
  /** The GitOps pointer file; default deploy/production.json. */
  pointerFile?: string;
  modelsDir?: string;
  /** Assign the production stage in the registry (default true). */
  assign?: boolean;
  /** Point `<modelsDir>/current` at the version (default true). Without link and assign, a deploy
   * only resolves and verifies the bundle: what deploy.yml does before building and smoke-testing
   * the image, and what a promotion pull request's check does. */
  link?: boolean;
}

export interface DeployResult {
  version: string;
  tag: string;
  /** The verified bundle folder, e.g. deploy/models/v1.2.0. */
  dir: string;
  /** The symlink the server loads, e.g. deploy/models/current; null when not linked. */
  current: string | null;
  sha256: string;
  /** The production assignment tag, or null when not assigned. */
  assignmentTag: string | null;
}

/** Reads deploy/production.json (or another pointer file). */
export async function readDeployPointer(path = DEPLOY_FILE): Promise<DeployPointer> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") {
      throw new Error(
        `${path}: not found; merge a promotion pull request first, or set version to the registered version to deploy`,
      );
    }
    throw error;
  });
  const pointer = parseDeployPointer(text);
  if (!pointer)
    throw new Error(
      `${path}: not a deploy pointer; expected {"name","version","tag","asset","sha256"}`,
    );
  return pointer;
}

/** Deploys a registered version: download, verify (sha256 against the pointer and the registry,
 * manifest, model), swap the `current` link, assign production; each of the last two optional. */
export async function runDeploy(options: DeployOptions): Promise<DeployResult> {
  const modelsDir = options.modelsDir ?? DEFAULT_MODELS_DIR;
  const pointer = options.version ? null : await readDeployPointer(options.pointerFile);
  const version = options.version ?? (pointer as DeployPointer).version;
  const details = await options.registry.show(version);
  const dir = join(modelsDir, details.version);

  // A folder left by an earlier deploy of the same version is reused only if it verifies.
  const existing = await readBundle(dir).catch(() => null);
  if (!existing) {
    await rm(dir, { recursive: true, force: true });
    await fetchBundle(options.registry, details.version, dir);
  }
  const bundle = existing ?? (await readBundle(dir));
  const expected = pointer?.sha256 ?? details.lineage?.model.sha256;
  if (expected && bundle.manifest.model.sha256 !== expected) {
    throw new Error(
      `${details.tag}: model sha256 ${bundle.manifest.model.sha256} does not match ${pointer ? DEPLOY_FILE : "the registry"}'s ${expected}`,
    );
  }

  let current: string | null = null;
  if (options.link !== false) {
    // Swap the link atomically: a new symlink under a temp name, renamed over the old one.
    current = join(modelsDir, CURRENT_LINK);
    const link = tempPathFor(current);
    await symlink(details.version, link);
    await rename(link, current);
    await stat(current); // the link resolves
  }

  const assignment =
    options.assign === false
      ? null
      : await options.registry.assign(details.version, STAGES.production);
  return {
    version: details.version,
    tag: details.tag,
    dir: resolve(dir),
    current: current && resolve(current),
    sha256: bundle.manifest.model.sha256,
    assignmentTag: assignment?.tag ?? null,
  };
}

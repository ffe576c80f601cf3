// Registration as one transaction: the bundle's files (and any report) go to a draft release
// first and the version tag comes last, so a crash never leaves a tag whose release lacks its
// files, and a rerun finds the draft by the model's sha256. Creating the tag is the lock: racing
// runs get different version numbers. The release is published with everything in it, so it
// may be immutable from then on.
import { basename } from "node:path";
import { BUNDLE_FILES, type VerifiedBundle, verifyBundle } from "../bundle/bundle.ts";
import { sha256File } from "../io/files.ts";
import { loadState, type RegistryContext } from "./context.ts";
import { lineageFromManifest } from "./lineage.ts";
import {
  completeRelease,
  discardStaleDrafts,
  draftMarker,
  ensureAssets,
  formatNumber,
  releaseBody,
} from "./releases.ts";
import { nextVersion, resolveVersion } from "./state.ts";
import { formatTagMessage, registrationTag } from "./tags.ts";
import type { RegisteredVersion, RegisterOptions, ReleaseRecord } from "./types.ts";

type ReleaseFile = { name: string; path: string };

function releaseFiles(bundle: VerifiedBundle, extra: string[]): ReleaseFile[] {
  const files = [...bundle.files, ...extra.map((path) => ({ name: basename(path), path }))];
  const names = new Set<string>();
  for (const file of files) {
    if (names.has(file.name)) {
      throw new Error(
        `asset ${file.path}: another asset is already named "${file.name}"; asset names must be unique`,
      );
    }
    names.add(file.name);
  }
  return files;
}

/** Registers the bundle in `bundleDir` (or returns the version that already holds its model). */
export async function registerBundle(
  ctx: RegistryContext,
  bundleDir: string,
  options: RegisterOptions = {},
): Promise<RegisteredVersion> {
  const { backend, name, maxAttempts } = ctx;
  const bundle = await verifyBundle(bundleDir);
  const manifestPath = `${bundleDir}/${BUNDLE_FILES.manifest}`;
  if (bundle.manifest.name !== name) {
    throw new Error(
      `${manifestPath}: name is "${bundle.manifest.name}" but this registry holds model "${name}"`,
    );
  }
  const lineage = {
    ...lineageFromManifest(bundle.manifest, manifestPath),
    ...(options.evaluation ? { evaluation: options.evaluation } : {}),
  };
  const assetsFor = async (version: string) =>
    typeof options.assets === "function" ? options.assets(version) : (options.assets ?? []);
  const modelSha = lineage.model.sha256;
  const model = { file: lineage.model.file, sha256: modelSha };
  const uploaded = new Set<string>();
  let draft: ReleaseRecord | null = null;
  let draftIsOurs = false;
  let draftVersion: string | null = null;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const state = await loadState(ctx);
    const existing = state.versions.find((version) => version.lineage?.model.sha256 === modelSha);
    if (existing) {
      // Same model bytes: that version is this bundle. Finish its release if a crash cut it short.
      if (draft && draftIsOurs) await backend.deleteRelease(draft);
      const files = releaseFiles(bundle, await assetsFor(existing.version));
      const completed = await completeRelease(ctx, existing, files);
      await discardStaleDrafts(ctx, modelSha, existing.tag);
      return { ...existing, created: false, uploaded: completed };
    }
    const { version } = nextVersion(state, lineage.featureContractSha256);
    const tag = registrationTag(name, version);
    const title = `${name} ${version}`;
    const body = releaseBody(name, version, lineage);
    if (!draft) {
      draft =
        (await backend.listReleases()).find(
          (release) => release.draft && release.body.includes(draftMarker(modelSha)),
        ) ?? null;
      if (!draft) {
        draft = await backend.createRelease({
          tag,
          commit: lineage.git.commit,
          title,
          body,
          draft: true,
        });
        draftIsOurs = true;
      }
    }
    if (draft.tag !== tag || draft.title !== title)
      draft = await backend.updateRelease(draft, { tag, title, body });
    // Files that name the version are made again when the number changed (a lost race).
    const renumbered = draftVersion !== null && draftVersion !== version;
    draftVersion = version;
    const files = releaseFiles(bundle, await assetsFor(version));
    const result = await ensureAssets(ctx, draft, bundle.files, model, false);
    const extras = await ensureAssets(
      ctx,
      result.release,
      files.slice(bundle.files.length),
      null,
      renumbered,
    );
    draft = extras.release;
    for (const asset of [...result.uploaded, ...extras.uploaded]) uploaded.add(asset);
    const message = formatTagMessage(
      `Registering artifact ${name} version ${version}: validation RMSE ${formatNumber(lineage.metrics.validation.rmse)}, model sha256 ${modelSha.slice(0, 12)}`,
      { version, lineage },
    );
    let created: boolean;
    try {
      created = await backend.createTag({
        name: tag,
        commit: lineage.git.commit,
        message,
        date: ctx.now(),
      });
    } catch (error) {
      throw new Error(
        `registering ${tag} on commit ${lineage.git.commit} (${BUNDLE_FILES.manifest} git.commit) failed; is that commit in ${backend.location}? ${(error as Error).message}`,
      );
    }
    if (!created) continue; // another run took this number: take the next one
    await backend.updateRelease(draft, { draft: false });
    const registered = resolveVersion(await loadState(ctx), version);
    return { ...registered, created: true, uploaded: [...uploaded] };
  }
  throw new Error(
    `${name}: gave up registering ${bundleDir} after ${maxAttempts} version numbers were taken`,
  );
}

/** Attaches `paths` to a registered version's release, replacing same-named assets. A model file
 * must be the registered one. Refused by GitHub when the release is published and immutable. */
export async function uploadAssets(
  ctx: RegistryContext,
  ref: string,
  paths: string[],
): Promise<string[]> {
  const version = resolveVersion(await loadState(ctx), ref);
  const files = paths.map((path) => ({ name: basename(path), path }));
  for (const file of files) {
    if (version.lineage && file.name === version.lineage.model.file) {
      const sha = await sha256File(file.path);
      if (sha !== version.lineage.model.sha256) {
        throw new Error(
          `${file.path}: sha256 ${sha} is not the registered model of ${version.tag} (${version.lineage.model.sha256})`,
        );
      }
    }
  }
  return completeRelease(ctx, version, files, true);
}

// The release that carries a version's files: finding it (published, else its draft), filling
// it with assets (recovering from interrupted uploads), describing it, and downloading from it.
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { BUNDLE_FILES } from "../bundle/bundle.ts";
import { sha256File, tempPathFor } from "../io/files.ts";
import type { RegistryContext } from "./context.ts";
import type { AssetRecord, Lineage, ModelVersion, ReleaseRecord, ReleaseStatus } from "./types.ts";

const DRAFT_MARKER_PREFIX = "<!-- model-sha256: ";
const UPLOAD_ATTEMPTS = 3;

/** The hidden line in a release body that finds a model's draft again after a crash. */
export function draftMarker(modelSha256: string): string {
  return `${DRAFT_MARKER_PREFIX}${modelSha256} -->`;
}

export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
}

/** The release notes of a version: metrics and lineage, plus the marker that finds its draft. */
export function releaseBody(name: string, version: string, lineage: Lineage | null): string {
  if (!lineage) return `Model ${name} ${version}.`;
  const { train, oob, validation } = lineage.metrics;
  const evaluation = lineage.evaluation;
  return [
    `Model **${name} ${version}** (${lineage.engine.name} ${lineage.engine.version}), trained at commit \`${lineage.git.commit}\`.`,
    "",
    "| metric | train | out-of-bag | validation |",
    "| --- | ---: | ---: | ---: |",
    `| RMSE | ${formatNumber(train.rmse)} | ${oob ? formatNumber(oob.rmse) : "n/a"} | ${formatNumber(validation.rmse)} |`,
    `| MAE | ${formatNumber(train.mae)} | | ${formatNumber(validation.mae)} |`,
    `| R² | ${formatNumber(train.r2)} | | ${formatNumber(validation.r2)} |`,
    "",
    ...(evaluation
      ? [
          `Evaluation gate: **${evaluation.passed ? "passed" : "failed"}**${evaluation.reason ? ` (${evaluation.reason})` : ""}; hold-out RMSE ${formatNumber(evaluation.holdout.rmse)} on ${evaluation.holdout.rows} rows.`,
          "",
        ]
      : []),
    `- model \`${lineage.model.file}\`: ${lineage.model.bytes} bytes, sha256 \`${lineage.model.sha256}\``,
    `- input data sha256 \`${lineage.data.inputSha256}\`, features sha256 \`${lineage.data.featuresSha256}\``,
    `- feature schema sha256 \`${lineage.featureSchemaSha256}\` (${lineage.features.length} features)`,
    lineage.run ? `- run: ${lineage.run.url}` : "- run: local",
    "",
    draftMarker(lineage.model.sha256),
  ].join("\n");
}

/** The files a version's release must carry. */
export function requiredAssets(version: ModelVersion): string[] {
  return [
    version.lineage?.model.file ?? BUNDLE_FILES.model,
    BUNDLE_FILES.manifest,
    BUNDLE_FILES.metrics,
  ];
}

/** The published release of a version, else its draft (the one carrying its model). */
export async function findRelease(
  ctx: RegistryContext,
  version: ModelVersion,
): Promise<ReleaseRecord | null> {
  const published = await ctx.backend.releaseByTag(version.tag);
  if (published) return published;
  const drafts = (await ctx.backend.listReleases()).filter(
    (release) => release.draft && release.tag === version.tag,
  );
  const marker = version.lineage ? draftMarker(version.lineage.model.sha256) : null;
  return drafts.find((draft) => marker && draft.body.includes(marker)) ?? drafts[0] ?? null;
}

function assetIsGood(
  asset: AssetRecord | undefined,
  expect: { size: number; sha256?: string },
): boolean {
  if (!asset?.complete || asset.size !== expect.size) return false;
  return !expect.sha256 || asset.sha256 === null || asset.sha256 === expect.sha256;
}

/** Uploads one asset, clearing a partial upload left by an interrupted attempt before retrying. */
async function uploadWithRecovery(
  ctx: RegistryContext,
  release: ReleaseRecord,
  assetName: string,
  path: string,
): Promise<void> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= UPLOAD_ATTEMPTS; attempt++) {
    const current = await ctx.backend.getRelease(release);
    if (!current)
      throw new Error(
        `release ${release.tag} (${release.id}) disappeared while uploading ${assetName}`,
      );
    const stale = current.assets.find((asset) => asset.name === assetName);
    if (stale) await ctx.backend.deleteAsset(current, stale);
    try {
      const asset = await ctx.backend.uploadAsset(current, assetName, path);
      const size = (await stat(path)).size;
      if (asset.complete && asset.size === size) return;
      lastError = new Error(`uploaded ${asset.size} of ${size} bytes`);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(
    `uploading ${path} as ${assetName} to release ${release.tag} failed ${UPLOAD_ATTEMPTS} times: ${(lastError as Error).message}`,
  );
}

/** Makes sure `release` carries `files`. `replace` re-uploads existing ones; otherwise only
 * missing, partial or (for the model) wrong-sized / wrong-digest assets are uploaded. */
export async function ensureAssets(
  ctx: RegistryContext,
  release: ReleaseRecord,
  files: { name: string; path: string }[],
  model: { file: string; sha256: string } | null,
  replace: boolean,
): Promise<{ release: ReleaseRecord; uploaded: string[] }> {
  const uploaded: string[] = [];
  for (const file of files) {
    const size = (await stat(file.path)).size;
    const existing = release.assets.find((asset) => asset.name === file.name);
    const isModel = model?.file === file.name;
    const good = isModel
      ? assetIsGood(existing, { size, sha256: model?.sha256 })
      : existing?.complete === true;
    if (good && !replace) continue;
    await uploadWithRecovery(ctx, release, file.name, file.path);
    uploaded.push(file.name);
  }
  const current = await ctx.backend.getRelease(release);
  if (!current)
    throw new Error(`release ${release.tag} (${release.id}) disappeared after uploading`);
  return { release: current, uploaded };
}

/** Gives a registered version a complete, published release (after a crash or a lost asset).
 * `replace` re-uploads assets that exist. On GitHub a published release may be immutable: then
 * only a draft can still be filled, and the backend refuses the rest with its own message. */
export async function completeRelease(
  ctx: RegistryContext,
  version: ModelVersion,
  files: { name: string; path: string }[],
  replace = false,
): Promise<string[]> {
  let release = await findRelease(ctx, version);
  if (!release) {
    release = await ctx.backend.createRelease({
      tag: version.tag,
      commit: version.commit,
      title: `${ctx.name} ${version.version}`,
      body: releaseBody(ctx.name, version.version, version.lineage),
      draft: true,
    });
  }
  const model = version.lineage
    ? { file: version.lineage.model.file, sha256: version.lineage.model.sha256 }
    : null;
  const result = await ensureAssets(ctx, release, files, model, replace);
  if (result.release.draft) await ctx.backend.updateRelease(result.release, { draft: false });
  return result.uploaded;
}

/** Deletes drafts of this model left by crashed runs under another version's tag. Drafts under
 * `tag` itself may belong to a run that is publishing right now, so they stay. */
export async function discardStaleDrafts(
  ctx: RegistryContext,
  modelSha256: string,
  tag: string,
): Promise<void> {
  const marker = draftMarker(modelSha256);
  for (const release of await ctx.backend.listReleases()) {
    if (release.draft && release.body.includes(marker) && release.tag !== tag) {
      await ctx.backend.deleteRelease(release);
    }
  }
}

/** Whether a version's release is published and carries every required file. */
export async function releaseStatus(
  ctx: RegistryContext,
  version: ModelVersion,
): Promise<ReleaseStatus> {
  const release = await findRelease(ctx, version);
  if (!release) {
    return { state: "missing", assets: [], missingAssets: requiredAssets(version), url: null };
  }
  const model = version.lineage?.model;
  const missingAssets = requiredAssets(version).filter((assetName) => {
    const asset = release.assets.find((candidate) => candidate.name === assetName);
    if (model && assetName === model.file)
      return !assetIsGood(asset, { size: model.bytes, sha256: model.sha256 });
    return !asset?.complete;
  });
  return {
    state: release.draft ? "draft" : missingAssets.length > 0 ? "incomplete" : "published",
    assets: release.assets.map((asset) => ({
      name: asset.name,
      size: asset.size,
      complete: asset.complete,
    })),
    missingAssets,
    url: release.url,
  };
}

/** Downloads an asset of `version` to `destPath` via a temp file; the model file must match the
 * registered sha256. */
export async function downloadAsset(
  ctx: RegistryContext,
  version: ModelVersion,
  assetName: string,
  destPath: string,
): Promise<{ sha256: string }> {
  const release = await findRelease(ctx, version);
  const isModel = (version.lineage?.model.file ?? BUNDLE_FILES.model) === assetName;
  const fix = isModel
    ? `run \`registry register <bundle-dir>\` again with the bundle of ${version.tag} to complete it`
    : `attach it when registering (register(bundle, { assets }))`;
  if (!release) throw new Error(`${version.tag} has no release, so no ${assetName}: ${fix}`);
  const asset = release.assets.find((candidate) => candidate.name === assetName);
  if (!asset) {
    const known = release.assets.map((candidate) => candidate.name).join(", ") || "none";
    throw new Error(
      `release ${version.tag} has no ${assetName} asset (it has: ${known})${isModel ? ": the release is incomplete" : ""}; ${fix}`,
    );
  }
  if (!asset.complete) {
    throw new Error(
      `release ${version.tag}: ${assetName} was only partly uploaded (${asset.size} bytes); ${fix}`,
    );
  }
  await mkdir(dirname(destPath), { recursive: true });
  const temp = tempPathFor(destPath);
  try {
    await ctx.backend.downloadAsset(release, asset, temp);
    const sha = await sha256File(temp);
    const expected = isModel ? version.lineage?.model.sha256 : undefined;
    if (expected && sha !== expected) {
      throw new Error(
        `${assetName} of ${version.tag}: sha256 mismatch: downloaded ${sha} but the registered manifest says ${expected}; the stored asset is corrupt: ${fix}`,
      );
    }
    await rename(temp, destPath);
    return { sha256: sha };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

import { mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { BUNDLE_FILES, type VerifiedBundle, verifyBundle } from "../bundle/bundle.ts";
import { sha256File, tempPathFor } from "../io/files.ts";
import { lineageFromManifest } from "./lineage.ts";
import {
  buildRegistryState,
  latestVersion,
  nextVersion,
  type RegistryState,
  resolveVersion,
  stageHolder,
} from "./state.ts";
import {
  assertName,
  assignmentTag,
  deregistrationTag,
  formatTagMessage,
  nextCounter,
  registrationTag,
  unassignmentTag,
} from "./tags.ts";
import type {
  AssetRecord,
  Lineage,
  ModelVersion,
  Registry,
  RegistryBackend,
  RegistryEvent,
  ReleaseRecord,
  ReleaseStatus,
} from "./types.ts";

// Registry semantics, written once over the backend primitives (local git or GitHub).

export interface RegistryOnBackendOptions {
  /** The model's name (GTO artifact), e.g. `house-price`. */
  name: string;
  /** Clock for tag dates; tests step it to ask "which version was in production at T". */
  now?: () => Date;
  /** How many times a taken version number or #N counter is retried with the next one. */
  maxAttempts?: number;
}

const DRAFT_MARKER_PREFIX = "<!-- model-sha256: ";
const UPLOAD_ATTEMPTS = 3;

function draftMarker(modelSha256: string): string {
  return `${DRAFT_MARKER_PREFIX}${modelSha256} -->`;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
}

/** The release notes of a version: metrics and lineage, plus the marker that finds its draft. */
export function releaseBody(name: string, version: string, lineage: Lineage | null): string {
  if (!lineage) return `Model ${name} ${version}.`;
  const { train, oob, validation } = lineage.metrics;
  return [
    `Model **${name} ${version}** (${lineage.engine.name} ${lineage.engine.version}), trained at commit \`${lineage.git.commit}\`.`,
    "",
    "| metric | train | out-of-bag | validation |",
    "| --- | ---: | ---: | ---: |",
    `| RMSE | ${formatNumber(train.rmse)} | ${oob ? formatNumber(oob.rmse) : "n/a"} | ${formatNumber(validation.rmse)} |`,
    `| MAE | ${formatNumber(train.mae)} | | ${formatNumber(validation.mae)} |`,
    `| R² | ${formatNumber(train.r2)} | | ${formatNumber(validation.r2)} |`,
    "",
    `- model \`${lineage.model.file}\`: ${lineage.model.bytes} bytes, sha256 \`${lineage.model.sha256}\``,
    `- input data sha256 \`${lineage.data.inputSha256}\`, features sha256 \`${lineage.data.featuresSha256}\``,
    `- feature schema sha256 \`${lineage.featureSchemaSha256}\` (${lineage.features.length} features)`,
    lineage.run ? `- run: ${lineage.run.url}` : "- run: local",
    "",
    draftMarker(lineage.model.sha256),
  ].join("\n");
}

/** A Registry for model `options.name` stored in `backend`. */
export function registryOnBackend(
  backend: RegistryBackend,
  options: RegistryOnBackendOptions,
): Registry {
  const name = options.name;
  assertName(name, "artifact");
  const now = options.now ?? (() => new Date());
  const maxAttempts = options.maxAttempts ?? 25;

  async function loadState(): Promise<RegistryState> {
    return buildRegistryState(name, await backend.listTags(name));
  }

  /** Creates a tag named by the next #N counter, retrying with a fresh counter when taken. */
  async function createCountedTag(
    state: RegistryState,
    tagName: (counter: number) => string,
    commit: string,
    message: string,
  ): Promise<string> {
    let names = state.tagNames;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const candidate = tagName(nextCounter(name, names));
      if (await backend.createTag({ name: candidate, commit, message, date: now() }))
        return candidate;
      names = (await backend.listTags(name)).map((tag) => tag.name);
    }
    throw new Error(
      `${name}: could not create a ${tagName(0)} tag: ${maxAttempts} counters were taken in a row`,
    );
  }

  function requiredAssets(version: ModelVersion): string[] {
    return [
      version.lineage?.model.file ?? BUNDLE_FILES.model,
      BUNDLE_FILES.manifest,
      BUNDLE_FILES.metrics,
    ];
  }

  /** The published release of a version, else its draft (the one carrying its model). */
  async function findRelease(version: ModelVersion): Promise<ReleaseRecord | null> {
    const published = await backend.releaseByTag(version.tag);
    if (published) return published;
    const drafts = (await backend.listReleases()).filter(
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
    release: ReleaseRecord,
    assetName: string,
    path: string,
  ): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= UPLOAD_ATTEMPTS; attempt++) {
      const current = await backend.getRelease(release);
      if (!current)
        throw new Error(
          `release ${release.tag} (${release.id}) disappeared while uploading ${assetName}`,
        );
      const stale = current.assets.find((asset) => asset.name === assetName);
      if (stale) await backend.deleteAsset(current, stale);
      try {
        const asset = await backend.uploadAsset(current, assetName, path);
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
  async function ensureAssets(
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
      await uploadWithRecovery(release, file.name, file.path);
      uploaded.push(file.name);
    }
    const current = await backend.getRelease(release);
    if (!current)
      throw new Error(`release ${release.tag} (${release.id}) disappeared after uploading`);
    return { release: current, uploaded };
  }

  /** Gives a registered version a complete, published release (after a crash or a lost asset). */
  async function completeRelease(
    version: ModelVersion,
    files: { name: string; path: string }[],
    replace = false,
  ): Promise<string[]> {
    let release = await findRelease(version);
    if (!release) {
      release = await backend.createRelease({
        tag: version.tag,
        commit: version.commit,
        title: `${name} ${version.version}`,
        body: releaseBody(name, version.version, version.lineage),
        draft: true,
      });
    }
    const model = version.lineage
      ? { file: version.lineage.model.file, sha256: version.lineage.model.sha256 }
      : null;
    const result = await ensureAssets(release, files, model, replace);
    if (result.release.draft) await backend.updateRelease(result.release, { draft: false });
    return result.uploaded;
  }

  /** Deletes drafts of this model left by crashed runs under another version's tag. Drafts under
   * `tag` itself may belong to a run that is publishing right now, so they stay. */
  async function discardStaleDrafts(modelSha256: string, tag: string): Promise<void> {
    const marker = draftMarker(modelSha256);
    for (const release of await backend.listReleases()) {
      if (release.draft && release.body.includes(marker) && release.tag !== tag) {
        await backend.deleteRelease(release);
      }
    }
  }

  function bundleFiles(bundle: VerifiedBundle, extra: string[]): { name: string; path: string }[] {
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

  async function releaseStatus(version: ModelVersion): Promise<ReleaseStatus> {
    const release = await findRelease(version);
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

  function eventFor(state: RegistryState, tag: string): RegistryEvent {
    const event = state.events.find((candidate) => candidate.tag === tag);
    if (!event)
      throw new Error(`${name}: tag ${tag} was created but is not listed by ${backend.location}`);
    return event;
  }

  /** Versions that hold an assignment to `stage` not yet undone, except `keep`. GTO counts all of
   * them as in the stage, so each needs its own unassignment for the stage to have one holder. */
  function openAssignments(
    state: RegistryState,
    stage: string,
    keep: string | null,
  ): ModelVersion[] {
    const active = new Set<string>();
    for (const event of state.events) {
      if (event.stage !== stage || !event.version) continue;
      if (event.kind === "assignment") active.add(event.version);
      if (event.kind === "unassignment") active.delete(event.version);
    }
    return state.versions.filter(
      (version) => active.has(version.version) && version.version !== keep && !version.deprecated,
    );
  }

  /** Unassigns `stage` from every version still holding it except `keep`; returns the new tags. */
  async function unassignOthers(stage: string, keep: string | null): Promise<string[]> {
    const tags: string[] = [];
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const state = await loadState();
      const open = openAssignments(state, stage, keep);
      if (open.length === 0) return tags;
      for (const version of open) tags.push(await unassignVersion(state, stage, version));
    }
    throw new Error(`${name}: stage ${stage} kept gaining assignments while unassigning it`);
  }

  async function unassignVersion(
    state: RegistryState,
    stage: string,
    version: ModelVersion,
  ): Promise<string> {
    return createCountedTag(
      state,
      (counter) => unassignmentTag(name, stage, counter),
      version.commit,
      formatTagMessage(
        `Unassigning stage '${stage}' to artifact '${name}' version '${version.version}'`,
        {
          version: version.version,
          stage,
        },
      ),
    );
  }

  return {
    name,
    backend: backend.kind,
    location: backend.location,

    async register(bundleDir, registerOptions = {}) {
      const bundle = await verifyBundle(bundleDir);
      if (bundle.manifest.name !== name) {
        throw new Error(
          `${bundleDir}/${BUNDLE_FILES.manifest}: name is "${bundle.manifest.name}" but this registry holds model "${name}"`,
        );
      }
      const files = bundleFiles(bundle, registerOptions.assets ?? []);
      const lineage = lineageFromManifest(bundle.manifest, `${bundleDir}/${BUNDLE_FILES.manifest}`);
      const modelSha = lineage.model.sha256;
      const model = { file: lineage.model.file, sha256: modelSha };
      const uploaded = new Set<string>();
      let draft: ReleaseRecord | null = null;
      let draftIsOurs = false;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const state = await loadState();
        const existing = state.versions.find(
          (version) => version.lineage?.model.sha256 === modelSha,
        );
        if (existing) {
          // Same model bytes: that version is this bundle. Finish its release if a crash cut it short.
          if (draft && draftIsOurs) await backend.deleteRelease(draft);
          const completed = await completeRelease(existing, files);
          await discardStaleDrafts(modelSha, existing.tag);
          return { ...existing, created: false, uploaded: completed };
        }
        const { version } = nextVersion(state, lineage.featureContractSha256);
        const tag = registrationTag(name, version);
        const title = `${name} ${version}`;
        const body = releaseBody(name, version, lineage);
        // Assets go to a draft first and the tag comes last: a crash never leaves a tag whose
        // release lacks its files, and a rerun finds the draft by the model's sha256.
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
        const result = await ensureAssets(draft, files, model, false);
        draft = result.release;
        for (const asset of result.uploaded) uploaded.add(asset);
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
            date: now(),
          });
        } catch (error) {
          throw new Error(
            `registering ${tag} on commit ${lineage.git.commit} (${BUNDLE_FILES.manifest} git.commit) failed; is that commit in ${backend.location}? ${(error as Error).message}`,
          );
        }
        if (!created) continue; // another run took this number: take the next one
        await backend.updateRelease(draft, { draft: false });
        const registered = resolveVersion(await loadState(), version);
        return { ...registered, created: true, uploaded: [...uploaded] };
      }
      throw new Error(
        `${name}: gave up registering ${bundleDir} after ${maxAttempts} version numbers were taken`,
      );
    },

    async list() {
      return (await loadState()).versions;
    },

    async show(ref) {
      const version = resolveVersion(await loadState(), ref);
      return { ...version, release: await releaseStatus(version) };
    },

    async latest() {
      return latestVersion(await loadState());
    },

    async stageVersion(stage, at) {
      return stageHolder(await loadState(), stage, at);
    },

    async history(stage) {
      const { events } = await loadState();
      return stage ? events.filter((event) => event.stage === stage) : events;
    },

    async lineage(ref) {
      const state = await loadState();
      const version = resolveVersion(state, ref);
      const index = state.versions.indexOf(version);
      return {
        name,
        version: version.version,
        tag: version.tag,
        commit: version.commit,
        registeredAt: version.registeredAt,
        lineage: version.lineage,
        previous: index > 0 ? state.versions[index - 1].version : null,
      };
    },

    async assign(ref, stage) {
      assertName(stage, "stage");
      const state = await loadState();
      if (state.deprecated)
        throw new Error(`model ${name} is deprecated; register a new version first`);
      const version = resolveVersion(state, ref);
      if (version.deprecated) {
        throw new Error(
          `${version.tag} is deprecated (deregistered) and cannot be assigned to ${stage}`,
        );
      }
      const holder = stageHolder(state, stage);
      if (holder?.version.version !== version.version) {
        await createCountedTag(
          state,
          (counter) => assignmentTag(name, stage, counter),
          version.commit,
          formatTagMessage(
            `Assigning stage ${stage} to artifact ${name} version ${version.version}`,
            {
              version: version.version,
              stage,
              previous: holder?.version.version ?? null,
            },
          ),
        );
      }
      await unassignOthers(stage, version.version);
      const assigned = stageHolder(await loadState(), stage);
      if (!assigned)
        throw new Error(
          `${name}: assigned ${stage} to ${version.version} but no version holds it now`,
        );
      return assigned;
    },

    async unassign(stage) {
      assertName(stage, "stage");
      const holder = stageHolder(await loadState(), stage);
      if (!holder) return null;
      const tags = await unassignOthers(stage, null);
      return tags.length > 0 ? eventFor(await loadState(), tags[0]) : null;
    },

    async deprecate(ref) {
      const state = await loadState();
      const version = resolveVersion(state, ref);
      const already = state.events.find(
        (event) => event.kind === "deregistration" && event.version === version.version,
      );
      if (already) return already;
      const tag = await createCountedTag(
        state,
        (counter) => deregistrationTag(name, version.version, counter),
        version.commit,
        formatTagMessage(`Deregistering artifact ${name} version ${version.version}`, {
          version: version.version,
        }),
      );
      return eventFor(await loadState(), tag);
    },

    async uploadAssets(ref, paths) {
      const version = resolveVersion(await loadState(), ref);
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
      return completeRelease(version, files, true);
    },

    async downloadAsset(ref, assetName, destPath) {
      const version = resolveVersion(await loadState(), ref);
      const release = await findRelease(version);
      const isModel = (version.lineage?.model.file ?? BUNDLE_FILES.model) === assetName;
      const fix = isModel
        ? `run \`registry register <bundle-dir>\` again with the bundle of ${version.tag} to complete it`
        : `upload it with uploadAssets("${version.version}", [...])`;
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
        await backend.downloadAsset(release, asset, temp);
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
    },
  };
}

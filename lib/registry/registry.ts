// The registry of one model over a backend (local git or GitHub): registration (register.ts),
// stage assignments (stages.ts), the release files (releases.ts) and the queries below, all
// read from the model's tags (state.ts).
import { loadState, type RegistryContext } from "./context.ts";
import { registerBundle, uploadAssets } from "./register.ts";
import { downloadAsset, releaseStatus } from "./releases.ts";
import { assignStage, deprecateVersion, unassignStage } from "./stages.ts";
import { latestVersion, resolveVersion, stageHolder } from "./state.ts";
import { assertName } from "./tags.ts";
import type { Registry, RegistryBackend } from "./types.ts";

export interface RegistryOnBackendOptions {
  /** The model's name (GTO artifact), e.g. `house-price`. */
  name: string;
  /** Clock for tag dates; tests step it to ask "which version was in production at T". */
  now?: () => Date;
  /** How many times a taken version number or #N counter is retried with the next one. */
  maxAttempts?: number;
}

/** A Registry for model `options.name` stored in `backend`. */
export function registryOnBackend(
  backend: RegistryBackend,
  options: RegistryOnBackendOptions,
): Registry {
  assertName(options.name, "artifact");
  const ctx: RegistryContext = {
    backend,
    name: options.name,
    now: options.now ?? (() => new Date()),
    maxAttempts: options.maxAttempts ?? 25,
  };
  return {
    name: ctx.name,
    backend: backend.kind,
    location: backend.location,
    register: (bundleDir, registerOptions) => registerBundle(ctx, bundleDir, registerOptions),
    assign: (ref, stage) => assignStage(ctx, ref, stage),
    unassign: (stage) => unassignStage(ctx, stage),
    deprecate: (ref) => deprecateVersion(ctx, ref),
    uploadAssets: (ref, paths) => uploadAssets(ctx, ref, paths),

    async downloadAsset(ref, assetName, destPath) {
      const version = resolveVersion(await loadState(ctx), ref);
      return downloadAsset(ctx, version, assetName, destPath);
    },

    stageFingerprint: (stage) => backend.tagsFingerprint(`${ctx.name}#${stage}`),

    async list() {
      return (await loadState(ctx)).versions;
    },

    async show(ref) {
      const version = resolveVersion(await loadState(ctx), ref);
      return { ...version, release: await releaseStatus(ctx, version) };
    },

    async latest() {
      return latestVersion(await loadState(ctx));
    },

    async stageVersion(stage, at) {
      return stageHolder(await loadState(ctx), stage, at);
    },

    async history(stage) {
      const { events } = await loadState(ctx);
      return stage ? events.filter((event) => event.stage === stage) : events;
    },

    async lineage(ref) {
      const state = await loadState(ctx);
      const version = resolveVersion(state, ref);
      const index = state.versions.indexOf(version);
      return {
        name: ctx.name,
        version: version.version,
        tag: version.tag,
        commit: version.commit,
        registeredAt: version.registeredAt,
        lineage: version.lineage,
        previous: index > 0 ? state.versions[index - 1].version : null,
      };
    },
  };
}

// Registry mode: the service follows the registry's `production` stage, the way Flux or Argo CD
// follow a repository's manifests. Every poll (at an interval, with jitter so replicas do not
// poll in step) first asks whether the stage's tags changed: on GitHub a conditional request
// that costs no rate limit while nothing changed. When another version holds the stage, its
// bundle is downloaded into the cache folder (all files or none, the model's sha256 checked
// against the registered one), checked as the server would load it (manifest, schema, a probe
// prediction), and only then the cache's `current` link is swapped to it: the model store's
// hot reload takes it from there. Any failure keeps the current model serving and is reported
// on /model and /metrics. The cache is a volume, so a restart with the registry down still
// serves the last good model.
import { mkdir, readdir, readlink, rename, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { tempPathFor } from "../../lib/io/files.ts";
import { fetchBundle } from "../../lib/registry/fetch-bundle.ts";
import type { Registry } from "../../lib/registry/types.ts";
import type { Logger } from "./log.ts";
import { verifyServable } from "./model-store.ts";

/** The link in the cache folder that the model store loads. */
export const CURRENT_LINK = "current";

export interface FollowerOptions {
  /** Opens the registry; called again on the next poll until it succeeds (it may be down). */
  connect: () => Promise<Registry>;
  /** Where the registry is, for messages (never a token). */
  location: string;
  /** The stage to follow, e.g. production. */
  stage: string;
  /** Downloaded bundles, one folder per version, and the `current` link. */
  cacheDir: string;
  intervalMs: number;
  /** Each wait is intervalMs times a random factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
  log: Logger;
  /** Told about every failed poll (the store reports it on /model and /metrics). */
  onFailure: (reason: string) => void;
  /** Told when a new version was put in place. */
  onSwap?: (version: string) => void;
}

export interface FollowerStatus {
  source: "registry";
  registry: string;
  stage: string;
  /** The version the stage named at the last successful poll. */
  following: string | null;
  lastPollAt: string | null;
  lastSuccessAt: string | null;
  lastError: { at: string; reason: string } | null;
  polls: number;
  failures: number;
}

export interface RegistryFollower {
  readonly status: FollowerStatus;
  /** One poll; never throws (failures are reported). */
  poll(): Promise<void>;
  /** Polls now, then at the interval. */
  start(): void;
  close(): void;
}

/** Removes temp folders an interrupted download left in the cache (they are never `current`). */
async function clearPartialDownloads(cacheDir: string): Promise<void> {
  for (const name of await readdir(cacheDir).catch(() => [])) {
    if (name.startsWith(".") && name.includes(".tmp"))
      await rm(join(cacheDir, name), { recursive: true, force: true });
  }
}

/** Points `cacheDir/current` at `version` with one rename, so the store never sees a gap. */
async function swapCurrent(cacheDir: string, version: string): Promise<void> {
  const link = join(cacheDir, CURRENT_LINK);
  const temp = tempPathFor(link);
  await symlink(version, temp);
  await rename(temp, link);
}

export function createRegistryFollower(options: FollowerOptions): RegistryFollower {
  const { stage, cacheDir, log } = options;
  let registry: Registry | null = null;
  let fingerprint: string | null = null;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running: Promise<void> | null = null;
  const status: FollowerStatus = {
    source: "registry",
    registry: options.location,
    stage,
    following: null,
    lastPollAt: null,
    lastSuccessAt: null,
    lastError: null,
    polls: 0,
    failures: 0,
  };

  async function linkedVersion(): Promise<string | null> {
    return readlink(join(cacheDir, CURRENT_LINK)).catch(() => null);
  }

  async function pollOnce(): Promise<void> {
    status.polls++;
    status.lastPollAt = new Date().toISOString();
    try {
      await mkdir(cacheDir, { recursive: true });
      registry ??= await options.connect();
      const seen = await registry.stageFingerprint(stage);
      const linked = await linkedVersion();
      if (seen === fingerprint && linked === status.following) {
        status.lastSuccessAt = status.lastPollAt;
        return;
      }
      const holder = await registry.stageVersion(stage);
      if (!holder) throw new Error(`no version of ${registry.name} is in ${stage} yet`);
      const { version } = holder.version;
      if (linked !== version) {
        const dir = join(cacheDir, version);
        // A complete earlier download is reused; a partial one never got its folder name.
        const cached = await verifyServable(dir).catch(() => null);
        if (!cached) {
          await rm(dir, { recursive: true, force: true });
          await fetchBundle(registry, version, dir);
          await verifyServable(dir);
        }
        await swapCurrent(cacheDir, version);
        log("info", "registry: new version in place", { stage, version, previous: linked });
        options.onSwap?.(version);
      }
      fingerprint = seen;
      status.following = version;
      status.lastSuccessAt = status.lastPollAt;
      status.lastError = null;
    } catch (error) {
      const reason = `registry ${options.location} (${stage}): ${(error as Error).message}`;
      status.failures++;
      status.lastError = { at: new Date().toISOString(), reason };
      log("warn", "registry poll failed; keeping the current model", { reason });
      options.onFailure(reason);
    }
  }

  function next(): void {
    if (closed) return;
    const factor = 1 + options.jitter * (2 * Math.random() - 1);
    timer = setTimeout(() => void poll().then(next), Math.max(0, options.intervalMs * factor));
    timer.unref();
  }

  function poll(): Promise<void> {
    // One poll at a time; a poll asked while one runs joins it.
    running ??= pollOnce().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    status,
    poll,
    start() {
      void clearPartialDownloads(cacheDir).then(() => poll().then(next));
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

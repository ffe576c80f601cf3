// The served model and its hot reload. The model location is watched (fs.watch on its parent
// folder, which sees the deploy's atomic rename of a folder or symlink, plus a periodic stat
// check for file systems where events are not delivered, e.g. some bind mounts). A new bundle is
// read, verified (sha256, feature schema, a probe prediction) and only then swapped in with one
// reference assignment, so a request sees either the old model or the new one, never a mix.
import { type FSWatcher, watch } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import {
  BUNDLE_FILES,
  type LoadedBundle,
  type ModelManifest,
  readBundle,
} from "../../lib/bundle/bundle.ts";
import type { ForestPredictor } from "../../lib/forest/forest.ts";
import {
  CATEGORY_COLUMN,
  FEATURE_SCHEMA_VERSION,
  type FeatureSchema,
  featureVector,
  NUMERIC_INPUTS,
  type RawRecord,
} from "../../lib/schema/features.ts";
import { NUMERIC_RULES } from "../../lib/schema/rules.ts";
import type { Logger } from "./log.ts";

/** A verified model, ready to answer. Never mutated after the swap (except its scratch row). */
export interface ServingModel {
  name: string;
  version: string;
  manifest: ModelManifest;
  predictor: ForestPredictor;
  schema: FeatureSchema;
  /** Reused by every single-record prediction, so the hot path allocates no feature vector. */
  row: Float64Array<ArrayBuffer>;
  /** The bundle folder read, symlinks resolved. */
  source: string;
  fingerprint: string;
  loadedAt: string;
}

export type ReloadTrigger = "startup" | "watch" | "poll" | "admin" | "registry";

export interface ReloadFailure {
  at: string;
  trigger: ReloadTrigger;
  location: string;
  reason: string;
}

export type ReloadResult =
  | { outcome: "loaded"; version: string; previousVersion: string | null }
  | { outcome: "unchanged"; version: string | null }
  | { outcome: "failed"; reason: string; version: string | null };

export interface ModelStoreOptions {
  /** The bundle folder or a symlink to one. */
  location: string;
  log: Logger;
  pollMs?: number;
  /** Quiet time after a file-system event before reloading: a deploy renames more than once. */
  debounceMs?: number;
  onReload?: (result: ReloadResult, trigger: ReloadTrigger, model: ServingModel | null) => void;
}

export interface ModelStore {
  readonly location: string;
  /** The model answering requests now, or null before the first successful load. */
  readonly current: ServingModel | null;
  readonly lastFailure: ReloadFailure | null;
  /** Loads the bundle at the location if it changed (or always, with force) and swaps it in. */
  reload(trigger: ReloadTrigger, force?: boolean): Promise<ReloadResult>;
  /** Starts watching the location (file-system events plus the periodic check). */
  watch(): void;
  /** Records a failure found elsewhere (e.g. following the registry); the model keeps serving. */
  reportFailure(trigger: ReloadTrigger, reason: string): void;
  close(): void;
}

const MISSING = "missing";

/** What changes whenever the deployed bundle changes: its real path and its files' identity. */
async function fingerprintOf(location: string): Promise<string> {
  try {
    const dir = await realpath(location);
    const [manifest, model] = await Promise.all([
      stat(join(dir, BUNDLE_FILES.manifest)),
      stat(join(dir, BUNDLE_FILES.model)),
    ]);
    return `${dir}|${manifest.ino}:${manifest.size}:${manifest.mtimeMs}|${model.ino}:${model.size}:${model.mtimeMs}`;
  } catch {
    return MISSING;
  }
}

/** Throws when this server cannot validate and featurize requests for the bundle's schema. */
function checkServable(manifest: ModelManifest, predictor: ForestPredictor): FeatureSchema {
  const schema = manifest.featureSchema;
  const where = "manifest.json featureSchema";
  if (schema?.schemaVersion !== FEATURE_SCHEMA_VERSION) {
    throw new Error(
      `${where}: schemaVersion ${schema?.schemaVersion} is not served; expected ${FEATURE_SCHEMA_VERSION}`,
    );
  }
  for (const name of schema.numericInputs ?? []) {
    if (!(NUMERIC_INPUTS as readonly string[]).includes(name)) {
      throw new Error(
        `${where}: input "${name}" is unknown to this server; expected inputs among ${NUMERIC_INPUTS.join(", ")}`,
      );
    }
  }
  for (const ratio of schema.ratios ?? []) {
    for (const input of [ratio.numerator, ratio.denominator]) {
      if (!schema.numericInputs.includes(input)) {
        throw new Error(
          `${where}: ratio ${ratio.name} uses "${input}", which is not one of its numericInputs`,
        );
      }
    }
  }
  if (schema.category?.column !== CATEGORY_COLUMN || !(schema.category.values?.length > 0)) {
    throw new Error(
      `${where}: category must be "${CATEGORY_COLUMN}" with at least one value; found ${JSON.stringify(schema.category)}`,
    );
  }
  const width = schema.numericInputs.length + schema.ratios.length + schema.category.values.length;
  if (width !== predictor.nFeatures || schema.features.length !== width) {
    throw new Error(
      `${where}: ${width} features from inputs, ratios and categories, ${schema.features.length} listed, but the model takes ${predictor.nFeatures}`,
    );
  }
  for (const [name, value] of Object.entries(schema.imputation ?? {})) {
    if (!Number.isFinite(value))
      throw new Error(
        `${where}: imputation value of ${name} is ${value}; expected a finite number`,
      );
  }
  return schema;
}

/** A plausible record for the probe prediction: imputation values, else the middle of each input's range. */
function probeRecord(schema: FeatureSchema): RawRecord {
  const record: Record<string, unknown> = { [schema.category.column]: schema.category.values[0] };
  for (const name of schema.numericInputs) {
    const rule = NUMERIC_RULES.find((candidate) => candidate.column === name);
    const low = rule?.min ?? rule?.above ?? 0;
    record[name] =
      schema.imputation[name] ?? (rule?.max === undefined ? low + 1 : (low + rule.max) / 2);
  }
  return record as RawRecord;
}

function servingModel(bundle: LoadedBundle, source: string, fingerprint: string): ServingModel {
  const { manifest, model } = bundle;
  const schema = checkServable(manifest, model);
  const row = new Float64Array(model.nFeatures);
  featureVector(probeRecord(schema), schema, row);
  const probe = model.predictOne(row);
  if (!row.every(Number.isFinite) || !Number.isFinite(probe)) {
    throw new Error(
      `${source}: the probe prediction is ${probe}; the model or its schema is broken`,
    );
  }
  return {
    name: manifest.name,
    version: manifest.version ?? `unregistered+${manifest.model.sha256.slice(0, 12)}`,
    manifest,
    predictor: model,
    schema,
    row,
    source,
    fingerprint,
    loadedAt: new Date().toISOString(),
  };
}

/** Loads the bundle in `dir` as the server would and checks it can serve it (schema, probe
 * prediction); throws the reason when not. */
export async function verifyServable(dir: string): Promise<ServingModel> {
  return servingModel(await readBundle(dir), dir, "");
}

/** Creates the store; call reload("startup") to load the first model and watch() to follow changes. */
export function createModelStore(options: ModelStoreOptions): ModelStore {
  const location = resolve(options.location);
  const { log, pollMs = 2000, debounceMs = 150 } = options;
  let current: ServingModel | null = null;
  let lastFailure: ReloadFailure | null = null;
  let failedFingerprint: string | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  let queued: Promise<ReloadResult> | null = null;
  let watcher: FSWatcher | null = null;
  let pollTimer: NodeJS.Timeout | undefined;
  let debounceTimer: NodeJS.Timeout | undefined;
  let closed = false;

  async function attempt(trigger: ReloadTrigger, force: boolean): Promise<ReloadResult> {
    const before = await fingerprintOf(location);
    const version = current?.version ?? null;
    if (!force && current && before === current.fingerprint)
      return { outcome: "unchanged", version };
    if (!force && before === failedFingerprint && lastFailure) {
      return { outcome: "failed", reason: lastFailure.reason, version };
    }
    try {
      if (before === MISSING) {
        throw new Error(
          `${location}: no model bundle (${BUNDLE_FILES.manifest} and ${BUNDLE_FILES.model}) found`,
        );
      }
      const source = await realpath(location);
      const model = servingModel(await readBundle(source), source, before);
      const previous = current;
      current = model;
      failedFingerprint = null;
      log("info", "model loaded", {
        trigger,
        version: model.version,
        previousVersion: previous?.version ?? null,
        source,
      });
      return {
        outcome: "loaded",
        version: model.version,
        previousVersion: previous?.version ?? null,
      };
    } catch (error) {
      const reason = (error as Error).message;
      if ((await fingerprintOf(location)) !== before && !closed) {
        // The deploy was still replacing the bundle while we read it: look again once it settles.
        schedule();
        return {
          outcome: "failed",
          reason: `the bundle changed while loading (${reason}); retrying`,
          version,
        };
      }
      failedFingerprint = before;
      lastFailure = { at: new Date().toISOString(), trigger, location, reason };
      log(current ? "error" : "warn", "model reload rejected; keeping the current model", {
        trigger,
        reason,
        serving: version,
      });
      return { outcome: "failed", reason, version };
    }
  }

  function reload(trigger: ReloadTrigger, force = false): Promise<ReloadResult> {
    // Reloads run one at a time; a plain reload asked while one waits joins that one.
    if (!force && queued) return queued;
    const run: Promise<ReloadResult> = chain.then(() => {
      if (queued === run) queued = null;
      return attempt(trigger, force);
    });
    if (!force) queued = run;
    chain = run.then((result) => options.onReload?.(result, trigger, current)).catch(() => {});
    return run;
  }

  function schedule(): void {
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(() => void reload("watch"), debounceMs);
  }

  function watchParent(): void {
    if (watcher || closed) return;
    try {
      watcher = watch(dirname(location), { persistent: false }, (_event, filename) => {
        if (filename === null || filename === basename(location)) schedule();
      });
      watcher.on("error", () => {
        watcher?.close();
        watcher = null;
      });
    } catch {
      // The parent folder does not exist yet: the periodic check retries.
      watcher = null;
    }
  }

  return {
    location,
    get current() {
      return current;
    },
    get lastFailure() {
      return lastFailure;
    },
    reload,
    reportFailure(trigger, reason) {
      lastFailure = { at: new Date().toISOString(), trigger, location, reason };
      options.onReload?.(
        { outcome: "failed", reason, version: current?.version ?? null },
        trigger,
        current,
      );
    },
    watch() {
      if (closed || pollTimer) return;
      watchParent();
      pollTimer = setInterval(() => {
        watchParent();
        void reload("poll");
      }, pollMs);
      pollTimer.unref();
    },
    close() {
      closed = true;
      clearInterval(pollTimer);
      clearTimeout(debounceTimer);
      watcher?.close();
      watcher = null;
    },
  };
}

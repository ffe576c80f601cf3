// The registry's public types, and the small set of primitives each backend provides.
import type { ModelMetrics } from "../bundle/bundle.ts";

/** Where a model came from: recorded in its registration tag's message. */
export interface Lineage {
  model: { file: string; sha256: string; bytes: number };
  engine: { name: string; version: string };
  params: Record<string, unknown>;
  metrics: ModelMetrics;
  data: { inputSha256: string; featuresSha256: string };
  /** sha256 of the whole feature schema (imputation values included). */
  featureSchemaSha256: string;
  /** sha256 of what a caller must send: ordered features and vocabulary. A change means a major bump. */
  featureContractSha256: string;
  features: string[];
  git: { commit: string };
  run: { id: string; url: string } | null;
  trainedAt: string;
  /** Impurity importances per feature (absent for engines without them and older versions). */
  featureImportances?: Record<string, number>;
  /** The evaluation gate's verdict, when the version was evaluated before it was registered. */
  evaluation?: EvaluationSummary | null;
}

/** Hold-out scores of one model or segment. */
export interface HoldoutScore {
  rows: number;
  rmse: number;
  mae: number;
  r2: number;
}

/** What the evaluate stage found, small enough for a tag message: the registry's bulk read of
 * tags then carries every version's verdict, per-segment errors and residual summary. */
export interface EvaluationSummary {
  passed: boolean;
  /** Why the gate failed; empty when it passed. */
  reason: string;
  thresholds: { rmseThreshold: number; tolerance: number };
  holdout: HoldoutScore;
  /** Per ocean_proximity value. */
  segments: Record<string, HoldoutScore>;
  /** The production version it was compared with, if any. */
  production: { version: string; rmse: number; segments: Record<string, HoldoutScore> } | null;
  /** Histogram of residuals (predicted - actual): bins of binWidth starting at `start`. */
  residuals: { binWidth: number; bins: { start: number; count: number }[] };
  /** Mean prediction and mean actual value per decile of the prediction. */
  calibration: { predicted: number; actual: number; rows: number }[];
  evaluatedAt: string;
}

/** One registered version of a model. */
export interface ModelVersion {
  name: string;
  /** `v1.2.0`. */
  version: string;
  /** `house-price@v1.2.0`. */
  tag: string;
  commit: string;
  registeredAt: string;
  /** Deregistered (GTO `name@vX.Y.Z!#N`): never latest, never assigned again. */
  deprecated: boolean;
  /** Stages this version holds now. */
  stages: string[];
  /** Null for versions registered by other tools (e.g. plain `gto register`). */
  lineage: Lineage | null;
}

/** What `register` did. */
export interface RegisteredVersion extends ModelVersion {
  /** False when the same model (sha256) was registered before and that version is returned. */
  created: boolean;
  /** Assets uploaded by this call (empty when the release was already complete). */
  uploaded: string[];
}

export interface AssetStatus {
  name: string;
  size: number;
  complete: boolean;
}

/** The release that carries a version's files. */
export interface ReleaseStatus {
  /** `missing`: no release; `draft`: not published; `incomplete`: published without the model file. */
  state: "published" | "draft" | "incomplete" | "missing";
  assets: AssetStatus[];
  /** Required assets that are absent or only partly uploaded. */
  missingAssets: string[];
  url: string | null;
}

export interface VersionDetails extends ModelVersion {
  release: ReleaseStatus;
}

export type RegistryEventKind =
  | "registration"
  | "deregistration"
  | "assignment"
  | "unassignment"
  | "deprecation";

export interface RegistryEvent {
  kind: RegistryEventKind;
  tag: string;
  at: string;
  commit: string;
  version: string | null;
  stage: string | null;
  counter: number | null;
  summary: string;
}

export interface StageAssignment {
  stage: string;
  version: ModelVersion;
  assignedAt: string;
  tag: string;
}

export interface VersionLineage {
  name: string;
  version: string;
  tag: string;
  commit: string;
  registeredAt: string;
  lineage: Lineage | null;
  /** The registered version just before this one (by SemVer), for comparing. */
  previous: string | null;
}

export interface RegisterOptions {
  /** Extra files attached to the release, e.g. report.md and plots; a function gets the version
   * number being registered, for files that name it (it may be called again after a race). */
  assets?: string[] | ((version: string) => Promise<string[]>);
  /** The evaluation of the bundle, recorded in the registration tag's lineage. */
  evaluation?: EvaluationSummary;
}

/** One model's registry: versions, stages and their history, and the files of each version. */
export interface Registry {
  readonly name: string;
  readonly backend: "local" | "github";
  /** Where the registry lives: a repository path or `owner/repo`. */
  readonly location: string;
  register(bundleDir: string, options?: RegisterOptions): Promise<RegisteredVersion>;
  list(): Promise<ModelVersion[]>;
  show(version: string): Promise<VersionDetails>;
  latest(): Promise<ModelVersion | null>;
  stageVersion(stage: string, at?: Date): Promise<StageAssignment | null>;
  history(stage?: string): Promise<RegistryEvent[]>;
  lineage(version: string): Promise<VersionLineage>;
  /** Assigns `stage` to `version` and unassigns whichever version held it, so one version holds a stage. */
  assign(version: string, stage: string): Promise<StageAssignment>;
  unassign(stage: string): Promise<RegistryEvent | null>;
  deprecate(version: string): Promise<RegistryEvent>;
  uploadAssets(version: string, files: string[]): Promise<string[]>;
  /** Downloads an asset; for the model file the sha256 must match the registered one. */
  downloadAsset(version: string, name: string, destPath: string): Promise<{ sha256: string }>;
  /** A value that changes whenever `stage`'s tags do: a cheap poll (on GitHub a conditional
   * request, free when nothing changed) before reading the whole registry. */
  stageFingerprint(stage: string): Promise<string>;
}

// ---- backend primitives -------------------------------------------------------------------

/** An annotated tag as a backend reports it. */
export interface TagRecord {
  name: string;
  commit: string;
  taggedAt: string;
  message: string;
}

export interface AssetRecord {
  id: string;
  name: string;
  size: number;
  /** False while an upload is open or was interrupted. */
  complete: boolean;
  /** When the backend knows it (GitHub reports `digest`). */
  sha256: string | null;
}

export interface ReleaseRecord {
  id: string;
  tag: string;
  draft: boolean;
  title: string;
  body: string;
  assets: AssetRecord[];
  url: string | null;
}

export interface NewRelease {
  tag: string;
  commit: string;
  title: string;
  body: string;
  draft: boolean;
}

/** What a registry needs from where it is stored (a local repository or GitHub). */
export interface RegistryBackend {
  readonly kind: "local" | "github";
  readonly location: string;
  /** Annotated tags whose names start with `prefix`. */
  listTags(prefix: string): Promise<TagRecord[]>;
  /** The names and objects of the tags starting with `prefix`, as one string: cheap to ask often. */
  tagsFingerprint(prefix: string): Promise<string>;
  /** Creates an annotated tag; false when the name is taken (creating the tag is the lock). */
  createTag(tag: { name: string; commit: string; message: string; date: Date }): Promise<boolean>;
  /** All releases, drafts included. */
  listReleases(): Promise<ReleaseRecord[]>;
  /** The published release of `tag`, or null. */
  releaseByTag(tag: string): Promise<ReleaseRecord | null>;
  /** The release as it is now (assets included), or null when it is gone. */
  getRelease(release: ReleaseRecord): Promise<ReleaseRecord | null>;
  createRelease(release: NewRelease): Promise<ReleaseRecord>;
  updateRelease(
    release: ReleaseRecord,
    patch: Partial<Pick<ReleaseRecord, "tag" | "draft" | "title" | "body">>,
  ): Promise<ReleaseRecord>;
  deleteRelease(release: ReleaseRecord): Promise<void>;
  uploadAsset(release: ReleaseRecord, name: string, path: string): Promise<AssetRecord>;
  deleteAsset(release: ReleaseRecord, asset: AssetRecord): Promise<void>;
  /** Writes the asset's bytes to `destPath`. */
  downloadAsset(release: ReleaseRecord, asset: AssetRecord, destPath: string): Promise<void>;
}

// What the site shows, derived from the registry's two bulk reads (every version with its lineage,
// and every event): one card per version, the stage timelines and the overview's figures. A tag's
// message is untrusted input (any tool can write one): each part of its lineage is checked here and
// kept only when it has the expected shape, so a page can say exactly what is missing.
import { z } from "zod";
import { compareSemVer, parseSemVer } from "../tags.ts";
import type {
  EvaluationSummary,
  HoldoutScore,
  ModelVersion,
  Registry,
  RegistryEvent,
} from "../types.ts";
import type { StageChange } from "./assets/shared.js";
import { stageChanges, stagesOf } from "./stage-timeline.ts";

/** The registry as the site reads it: two bulk reads, whatever the number of versions. */
export interface SiteSource {
  name: string;
  backend: "local" | "github";
  /** A repository path or `owner/repo`. */
  location: string;
  /** Oldest first (SemVer), as `list()` returns them. */
  versions: ModelVersion[];
  /** Chronological, as `history()` returns them. */
  events: RegistryEvent[];
}

/** Where the links of a version page point. */
export interface SiteLinks {
  /** The repository on GitHub (`https://github.com/owner/repo`); null for a local registry. */
  repositoryUrl: string | null;
  /** A local registry's repository folder, where `.registry/<tag>/` holds each version's files. */
  repositoryDir: string | null;
}

/** Reads what the site needs from `registry`: `list()` and `history()`, nothing per version. */
export async function readSiteSource(registry: Registry): Promise<SiteSource> {
  // One after the other: the GitHub backend keeps the tag objects the first listing read, so the
  // second one asks for the tag names alone.
  const versions = await registry.list();
  const events = await registry.history();
  return {
    name: registry.name,
    backend: registry.backend,
    location: registry.location,
    versions,
    events,
  };
}

const finite = z.number().refine(Number.isFinite);
const score = z.object({ rmse: finite, mae: finite, r2: finite });
const holdoutScore = score.extend({ rows: finite });
const sha = z.string().regex(/^[0-9a-f]{64}$/);
const lineageParts = {
  params: z.record(z.string(), z.unknown()),
  metrics: z.object({
    train: score,
    oob: z.object({ rmse: finite }).nullable(),
    validation: score,
  }),
  model: z.object({ file: z.string(), sha256: sha, bytes: finite }),
  engine: z.object({ name: z.string(), version: z.string() }),
  data: z.object({ inputSha256: sha, featuresSha256: sha }),
  featureSchemaSha256: sha,
  features: z.array(z.string()),
  run: z.object({ id: z.string(), url: z.string() }).nullable(),
  trainedAt: z.string(),
  featureImportances: z.record(z.string(), finite),
  evaluation: z.object({
    passed: z.boolean(),
    reason: z.string(),
    thresholds: z.object({ rmseThreshold: finite, tolerance: finite }),
    holdout: holdoutScore,
    segments: z.record(z.string(), holdoutScore),
    production: z
      .object({
        version: z.string(),
        rmse: finite,
        segments: z.record(z.string(), holdoutScore),
      })
      .nullable(),
    residuals: z.object({
      binWidth: finite,
      bins: z.array(z.object({ start: finite, count: finite })),
    }),
    calibration: z.array(z.object({ predicted: finite, actual: finite, rows: finite })),
    evaluatedAt: z.string(),
  }),
};

type Parts = { [K in keyof typeof lineageParts]: z.infer<(typeof lineageParts)[K]> };

// One parse per version: each part of the lineage is itself or null (absent or malformed).
const lineageSchema = z.object(
  Object.fromEntries(
    Object.entries(lineageParts).map(([key, schema]) => [
      key,
      (schema as z.ZodType).nullable().catch(null),
    ]),
  ) as { [K in keyof typeof lineageParts]: z.ZodCatch<z.ZodNullable<(typeof lineageParts)[K]>> },
);

/** A version as its page shows it: each part of the lineage, or null when absent or malformed. */
export interface VersionCard {
  version: string;
  tag: string;
  commit: string;
  registeredAt: string;
  deprecated: boolean;
  stages: string[];
  /** Position in SemVer order, oldest 0. */
  order: number;
  /** The version registered just before (SemVer), for comparing. */
  previous: string | null;
  /** The tag carried a lineage at all (false: registered by another tool, or not valid JSON). */
  hasLineage: boolean;
  params: Parts["params"] | null;
  metrics: Parts["metrics"] | null;
  model: Parts["model"] | null;
  engine: Parts["engine"] | null;
  data: Parts["data"] | null;
  featureSchemaSha256: string | null;
  features: string[] | null;
  /** The run that trained it; a URL only when it is http(s), so that a page can link it safely. */
  run: { id: string; url: string | null } | null;
  trainedAt: string | null;
  featureImportances: Record<string, number> | null;
  evaluation: EvaluationSummary | null;
  /** Hold-out scores: the evaluation's, else the training run's validation split. */
  holdout: { rmse: number; mae: number; r2: number; source: "evaluation" | "validation" } | null;
  /** The registration tag's first line (untrusted text). */
  summary: string;
  /** Registration and stage events of this version, chronological. */
  events: RegistryEvent[];
}

/** Everything the pages are made from. */
export interface SiteData {
  name: string;
  backend: "local" | "github";
  location: string;
  links: SiteLinks;
  generatedAt: string;
  /** Oldest first (SemVer). */
  cards: VersionCard[];
  byVersion: Map<string, VersionCard>;
  /** Stages in order of first assignment (production first when both exist). */
  stages: string[];
  /** Per stage, when its holder changed. */
  changes: Map<string, StageChange[]>;
  /** Assignment, unassignment, deregistration and deprecation events, chronological. */
  stageEvents: RegistryEvent[];
}

/** Only http(s) addresses become links: a tag could carry `javascript:` or anything else. */
export function safeUrl(value: string): string | null {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function versionOrder(a: ModelVersion, b: ModelVersion): number {
  const left = parseSemVer(a.version);
  const right = parseSemVer(b.version);
  if (left && right) return compareSemVer(left, right);
  if (left || right) return left ? 1 : -1;
  return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}

function card(
  version: ModelVersion,
  order: number,
  previous: string | null,
  events: RegistryEvent[],
): VersionCard {
  const parts: { [K in keyof Parts]: Parts[K] | null } | null = version.lineage
    ? lineageSchema.parse(version.lineage)
    : null;
  const metrics = parts?.metrics ?? null;
  const evaluation = (parts?.evaluation ?? null) as EvaluationSummary | null;
  const run = parts?.run ?? null;
  const holdout: HoldoutScore | null = evaluation?.holdout ?? null;
  const registration = events.find((event) => event.kind === "registration");
  return {
    version: version.version,
    tag: version.tag,
    commit: version.commit,
    registeredAt: version.registeredAt,
    deprecated: version.deprecated,
    stages: version.stages,
    order,
    previous,
    hasLineage: version.lineage !== null,
    params: parts?.params ?? null,
    metrics,
    model: parts?.model ?? null,
    engine: parts?.engine ?? null,
    data: parts?.data ?? null,
    featureSchemaSha256: parts?.featureSchemaSha256 ?? null,
    features: parts?.features ?? null,
    run: run ? { id: run.id, url: safeUrl(run.url) } : null,
    trainedAt: parts?.trainedAt ?? null,
    featureImportances: parts?.featureImportances ?? null,
    evaluation,
    holdout: holdout
      ? { rmse: holdout.rmse, mae: holdout.mae, r2: holdout.r2, source: "evaluation" }
      : metrics
        ? { ...metrics.validation, source: "validation" }
        : null,
    summary: registration?.summary ?? "",
    events,
  };
}

/** Derives the site's data from `source`. */
export function buildSiteData(
  source: SiteSource,
  links: SiteLinks,
  generatedAt = new Date(),
): SiteData {
  const sorted = [...source.versions].sort(versionOrder);
  const eventsOf = new Map<string, RegistryEvent[]>();
  for (const event of source.events) {
    if (!event.version) continue;
    const list = eventsOf.get(event.version);
    if (list) list.push(event);
    else eventsOf.set(event.version, [event]);
  }
  const cards = sorted.map((version, index) =>
    card(
      version,
      index,
      index > 0 ? sorted[index - 1].version : null,
      eventsOf.get(version.version) ?? [],
    ),
  );
  const byVersion = new Map(cards.map((entry) => [entry.version, entry]));
  const stages = stagesOf(source.events).sort(
    (a, b) => stageRank(a) - stageRank(b) || (a < b ? -1 : a > b ? 1 : 0),
  );
  return {
    name: source.name,
    backend: source.backend,
    location: source.location,
    links,
    generatedAt: generatedAt.toISOString(),
    cards,
    byVersion,
    stages,
    changes: stageChanges(source.events, new Set(byVersion.keys())),
    stageEvents: source.events.filter((event) => event.kind !== "registration"),
  };
}

/** Production first, then staging, then any other stage by name. */
function stageRank(stage: string): number {
  return stage === "production" ? 0 : stage === "staging" ? 1 : 2;
}

/** Where a version's release is: its GitHub page, or the local folder holding its files. */
export function releaseLocation(
  links: SiteLinks,
  tag: string,
): { url: string } | { path: string } | null {
  if (links.repositoryUrl)
    return { url: `${links.repositoryUrl}/releases/tag/${encodeURIComponent(tag)}` };
  if (links.repositoryDir) return { path: `${links.repositoryDir}/.registry/${tag}/` };
  return null;
}

/** The promotion pull requests of a version (branch `promote/<name>-<version>`, as the promote
 * stage names it), as a search of the repository's pull requests. */
export function promotionSearch(links: SiteLinks, name: string, version: string): string | null {
  if (!links.repositoryUrl) return null;
  const query = `is:pr head:promote/${name}-${version}`;
  return `${links.repositoryUrl}/pulls?q=${encodeURIComponent(query)}`;
}

/** The promotion branch of a version, as the promote stage names it. */
export function promotionBranch(name: string, version: string): string {
  return `promote/${name}-${version}`;
}

// Registries of any size for the site's scale tests and benchmark: the annotated tags a long-lived
// registry accumulates (a registration per pipeline run with its lineage and evaluation, staging
// and production assignments with the unassignments `assign` writes, failed gates, deregistrations,
// rollbacks), written with the registry's own tag grammar, then read by the real registry code over
// an in-memory backend or pushed into a git repository with `git fast-import`.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { registryOnBackend } from "../../lib/registry/registry.ts";
import {
  assignmentTag,
  deregistrationTag,
  formatTagMessage,
  registrationTag,
  unassignmentTag,
} from "../../lib/registry/tags.ts";
import type {
  EvaluationSummary,
  HoldoutScore,
  Lineage,
  Registry,
  RegistryBackend,
  TagRecord,
} from "../../lib/registry/types.ts";
import { OCEAN_PROXIMITY_VALUES } from "../../lib/schema/features.ts";

export interface SyntheticOptions {
  name?: string;
  /** The first registration's time; each run is an hour after the previous one. */
  start?: Date;
  /** The commit each version was trained on (default: a made-up one per version). */
  commit?: (index: number) => string;
}

const hex = (text: string, length = 64) =>
  createHash("sha256").update(text).digest("hex").slice(0, length);

/** A deterministic number in [0, 1) for `i` and `salt`. */
function noise(i: number, salt: string): number {
  return Number.parseInt(hex(`${salt}:${i}`, 8), 16) / 2 ** 32;
}

function score(rows: number, rmse: number): HoldoutScore {
  return { rows, rmse, mae: rmse * 0.66, r2: 0.9 - rmse / 500_000 };
}

/** An evaluation summary of run `i` as the evaluate stage records it with a version. */
export function syntheticEvaluation(
  i: number,
  rmse: number,
  passed: boolean,
  production: { version: string; rmse: number } | null,
): EvaluationSummary {
  const segments = Object.fromEntries(
    OCEAN_PROXIMITY_VALUES.map((value, s) => [
      value,
      score(value === "ISLAND" ? 1 : 400 + s * 300, rmse * (0.8 + 0.1 * s + noise(i, value) * 0.1)),
    ]),
  );
  return {
    passed,
    reason: passed
      ? ""
      : `RMSE <= 55000 failed: candidate RMSE ${rmse.toFixed(0)} > threshold 55000`,
    thresholds: { rmseThreshold: 55_000, tolerance: 0.02 },
    holdout: score(4151, rmse),
    segments,
    production: production
      ? {
          ...production,
          segments: Object.fromEntries(
            Object.entries(segments).map(([value, segment]) => [
              value,
              score(segment.rows, segment.rmse * (production.rmse / rmse)),
            ]),
          ),
        }
      : null,
    residuals: {
      binWidth: 50_000,
      bins: Array.from({ length: 15 }, (_, b) => ({
        start: (b - 8) * 50_000,
        count: Math.round(2000 * Math.exp(-((b - 7.5) ** 2) / 4)),
      })),
    },
    calibration: Array.from({ length: 10 }, (_, d) => ({
      predicted: 70_000 + d * 38_000,
      actual: 70_000 + d * 38_000 + (noise(i, `cal${d}`) - 0.5) * 8000,
      rows: 415,
    })),
    evaluatedAt: new Date(0).toISOString(),
  };
}

function lineage(
  i: number,
  commit: string,
  trainedAt: Date,
  evaluationSummary: EvaluationSummary,
): Lineage {
  const rmse = evaluationSummary.holdout.rmse;
  const features = ["longitude", "latitude", "median_income", "ocean_proximity=INLAND"];
  return {
    model: { file: "model.bin", sha256: hex(`model ${i}`), bytes: 1_000_000 + i },
    engine: { name: "forest", version: "0.1.0" },
    params: {
      nEstimators: 10 + (i % 50) * 2,
      maxDepth: i % 3 === 0 ? null : 8 + (i % 9),
      minSamplesSplit: 2,
      minSamplesLeaf: 1 + (i % 4),
      maxFeatures: 1,
      seed: 42,
    },
    metrics: {
      train: { rmse: rmse * 0.45, mae: rmse * 0.3, r2: 0.96 },
      oob: { rmse: rmse * 1.04 },
      validation: { rmse, mae: rmse * 0.66, r2: 0.9 - rmse / 500_000 },
    },
    data: { inputSha256: hex(`input ${Math.floor(i / 10)}`), featuresSha256: hex(`features ${i}`) },
    featureSchemaSha256: hex("schema"),
    featureContractSha256: hex("contract"),
    features,
    git: { commit },
    run: {
      id: String(1000 + i),
      url: `https://github.com/octo-org/house-price/actions/runs/${1000 + i}`,
    },
    trainedAt: trainedAt.toISOString(),
    featureImportances: Object.fromEntries(features.map((feature, f) => [feature, 0.4 / (f + 1)])),
    evaluation: { ...evaluationSummary, evaluatedAt: trainedAt.toISOString() },
  };
}

/**
 * The tags of `count` pipeline runs: each registers `v1.<i>.0`; one in seven fails the gate (and
 * some of those are deregistered); the others take staging and production from the previous
 * holder, and every hundredth run is followed by a rollback of production to the one before.
 */
export function syntheticTags(count: number, options: SyntheticOptions = {}): TagRecord[] {
  const name = options.name ?? "house-price";
  const start = (options.start ?? new Date("2025-01-01T00:00:00Z")).getTime();
  const commitOf = options.commit ?? ((i: number) => hex(`commit ${i}`, 40));
  const tags: TagRecord[] = [];
  let counter = 0;
  const holders: Record<string, { version: string; commit: string } | null> = {
    staging: null,
    production: null,
  };
  let production: { version: string; rmse: number; commit: string } | null = null;
  let previousProduction: { version: string; rmse: number; commit: string } | null = null;
  const at = (i: number, seconds: number) => new Date(start + i * 3_600_000 + seconds * 1000);
  const tag = (tagName: string, commit: string, when: Date, summary: string, data: unknown) =>
    tags.push({
      name: tagName,
      commit,
      taggedAt: when.toISOString(),
      message: formatTagMessage(summary, data),
    });

  function assign(stage: string, version: string, commit: string, when: Date): void {
    const previous = holders[stage];
    tag(
      assignmentTag(name, stage, ++counter),
      commit,
      when,
      `Assigning stage ${stage} to artifact ${name} version ${version}`,
      {
        version,
        stage,
        previous: previous?.version ?? null,
      },
    );
    if (previous && previous.version !== version) {
      tag(
        unassignmentTag(name, stage, ++counter),
        previous.commit,
        when,
        `Unassigning stage '${stage}' to artifact '${name}' version '${previous.version}'`,
        {
          version: previous.version,
          stage,
        },
      );
    }
    holders[stage] = { version, commit };
  }

  for (let i = 0; i < count; i++) {
    const version = `v1.${i}.0`;
    const commit = commitOf(i);
    const rmse = 48_000 + noise(i, "rmse") * 6_000 + (i % 7 === 3 ? 9_000 : 0);
    const passed = rmse <= 55_000 && (!production || rmse <= production.rmse * 1.02 || i % 5 === 0);
    const summary = syntheticEvaluation(i, rmse, passed, production);
    const registeredAt = at(i, 0);
    tag(
      registrationTag(name, version),
      commit,
      registeredAt,
      `Registering artifact ${name} version ${version}: validation RMSE ${rmse.toFixed(4)}, model sha256 ${hex(`model ${i}`, 12)}`,
      {
        version,
        lineage: lineage(i, commit, registeredAt, summary),
      },
    );
    if (!passed) {
      if (i % 14 === 3)
        tag(
          deregistrationTag(name, version, ++counter),
          commit,
          at(i, 30),
          `Deregistering artifact ${name} version ${version}`,
          { version },
        );
      continue;
    }
    assign("staging", version, commit, at(i, 10));
    assign("production", version, commit, at(i, 20));
    previousProduction = production;
    production = { version, rmse, commit };
    if (i % 100 === 99 && previousProduction) {
      assign("production", previousProduction.version, previousProduction.commit, at(i, 40));
      production = previousProduction;
    }
  }
  return tags;
}

/** A read-only registry backend over `tags` in memory. */
export function memoryBackend(tags: TagRecord[], location = "memory"): RegistryBackend {
  const readOnly = async (): Promise<never> => {
    throw new Error(`${location} is a read-only synthetic registry`);
  };
  return {
    kind: "local",
    location,
    listTags: async (prefix) => tags.filter((tag) => tag.name.startsWith(prefix)),
    tagsFingerprint: async (prefix) =>
      tags
        .filter((tag) => tag.name.startsWith(prefix))
        .map((tag) => tag.name)
        .join("\n"),
    createTag: readOnly,
    listReleases: async () => [],
    releaseByTag: async () => null,
    getRelease: async () => null,
    createRelease: readOnly,
    updateRelease: readOnly,
    deleteRelease: readOnly,
    uploadAsset: readOnly,
    deleteAsset: readOnly,
    downloadAsset: readOnly,
  };
}

/** The real registry code over `count` synthetic versions in memory. */
export function syntheticRegistry(count: number, options: SyntheticOptions = {}): Registry {
  return registryOnBackend(memoryBackend(syntheticTags(count, options), `synthetic-${count}`), {
    name: options.name ?? "house-price",
  });
}

/**
 * `count` tags of the model an old stage's assignments left on `commit`, as years of use leave
 * them: what a registry's size costs its readers, without versions to change the story.
 */
export function archiveTags(count: number, commit: string) {
  return Array.from({ length: count }, (_, i) => ({
    name: `house-price#archive#${i + 1}`,
    commit,
    taggedAt: new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString(),
    message: `Assigning stage archive to artifact house-price (imported ${i + 1})\n`,
  }));
}

/** Writes `tags` into the git repository `gitDir` in one `git fast-import` (their commits must exist). */
export async function importTags(gitDir: string, tags: TagRecord[]): Promise<void> {
  const chunks: Buffer[] = [];
  for (const tag of tags) {
    const message = Buffer.from(tag.message);
    const seconds = Math.floor(Date.parse(tag.taggedAt) / 1000);
    chunks.push(
      Buffer.from(
        `tag ${tag.name}\nfrom ${tag.commit}\ntagger Registry Bench <bench@example.invalid> ${seconds} +0000\ndata ${message.length}\n`,
      ),
      message,
      Buffer.from("\n"),
    );
  }
  const child = spawn("git", ["fast-import", "--quiet"], {
    cwd: gitDir,
    stdio: ["pipe", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  child.stdin.end(Buffer.concat(chunks));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) throw new Error(`git fast-import in ${gitDir} failed (${code}): ${stderr}`);
}

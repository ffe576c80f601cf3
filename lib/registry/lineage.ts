// Lineage: where a registered model came from, recorded in its registration tag's message.
import type { ModelManifest } from "../bundle/bundle.ts";
import { canonicalJson, sha256 } from "../io/files.ts";
import { featureContractSha256 } from "../schema/features.ts";
import type { Lineage } from "./types.ts";

/** The lineage of a bundle about to be registered; the registry needs its commit. */
export function lineageFromManifest(manifest: ModelManifest, where: string): Lineage {
  const commit = manifest.git.commit;
  if (!commit) {
    throw new Error(
      `${where}: git.commit is null; a model can only be registered with the commit that produced it (train inside a git checkout)`,
    );
  }
  const { train, oob, validation } = manifest.metrics;
  return {
    model: {
      file: manifest.model.file,
      sha256: manifest.model.sha256,
      bytes: manifest.model.bytes,
    },
    engine: { name: manifest.engine.name, version: manifest.engine.version },
    params: manifest.params,
    metrics: {
      train: { rmse: train.rmse, mae: train.mae, r2: train.r2 },
      oob: oob ? { rmse: oob.rmse } : null,
      validation: { rmse: validation.rmse, mae: validation.mae, r2: validation.r2 },
    },
    data: { inputSha256: manifest.data.inputSha256, featuresSha256: manifest.data.featuresSha256 },
    featureSchemaSha256: sha256(canonicalJson(manifest.featureSchema)),
    featureContractSha256: featureContractSha256(manifest.featureSchema),
    features: [...manifest.featureSchema.features],
    git: { commit },
    run: manifest.run ? { id: manifest.run.id, url: manifest.run.url } : null,
    trainedAt: manifest.createdAt,
    ...(Object.keys(manifest.featureImportances).length > 0
      ? { featureImportances: manifest.featureImportances }
      : {}),
  };
}

/** The lineage inside a tag message's JSON block, or null when it is not one. */
export function lineageFromTagData(data: unknown): Lineage | null {
  if (!data || typeof data !== "object") return null;
  const lineage = (data as { lineage?: unknown }).lineage;
  if (!lineage || typeof lineage !== "object") return null;
  const model = (lineage as { model?: { sha256?: unknown } }).model;
  return typeof model?.sha256 === "string" ? (lineage as Lineage) : null;
}

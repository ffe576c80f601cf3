import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ModelManifest } from "../../lib/bundle/bundle.ts";
import { readBundle } from "../../lib/bundle/bundle.ts";
import { loadSide } from "../../lib/bundle/dataset.ts";
import { resolveParams } from "../../lib/params/params.ts";
import { housingCsv, REAL_HOUSING_CSV, tempDir } from "../../test/support/housing.ts";
import { runIngest } from "../1-ingest/ingest.ts";
import { runFeatures } from "../2-features/features.ts";
import { runMerge, runTrain, shardTreeRange } from "./train.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

async function featuresOf(csvPath: string): Promise<string> {
  await runIngest({ input: csvPath, outDir: join(dir, "ingest") });
  await runFeatures({ ingestDir: join(dir, "ingest"), outDir: join(dir, "features") });
  return join(dir, "features");
}

async function syntheticFeatures(rows: number): Promise<string> {
  const input = join(dir, "housing.csv");
  await writeFile(input, housingCsv(rows));
  return featuresOf(input);
}

const trainParams = (overrides: Record<string, string> = {}) =>
  resolveParams(JSON.parse(`{"train": {"nEstimators": 12}}`), overrides).train;

describe("train stage", () => {
  it("writes a bundle whose manifest describes the run and whose model verifies", async () => {
    const featuresDir = await syntheticFeatures(400);
    const manifest = (await runTrain({
      featuresDir,
      outDir: join(dir, "train"),
      params: trainParams(),
    })) as ModelManifest;
    expect(manifest.name).toBe("house-price");
    expect(manifest.engine.name).toBe("forest");
    expect(manifest.params.nEstimators).toBe(12);
    expect(Object.keys(manifest.featureImportances)).toEqual(manifest.featureSchema.features);
    const importanceSum = Object.values(manifest.featureImportances).reduce((a, b) => a + b, 0);
    expect(importanceSum).toBeCloseTo(1, 6);
    expect(manifest.data.trainRows + manifest.data.testRows).toBe(400);
    expect(manifest.data.inputSha256).toMatch(/^[0-9a-f]{64}$/);
    const { model } = await readBundle(join(dir, "train"));
    const test = await loadSide(featuresDir, manifest.featureSchema, "test");
    const predicted = model.predict(test.x, test.nRows);
    const rmse = Math.sqrt(
      predicted.reduce((sum, value, i) => sum + (value - test.y[i]) ** 2, 0) / test.nRows,
    );
    expect(rmse).toBeCloseTo(manifest.metrics.validation.rmse, 6);
    const metrics = JSON.parse(await readFile(join(dir, "train", "metrics.json"), "utf8"));
    expect(metrics).toEqual(manifest.metrics);
  });

  it("shards merged give the same model as one process", async () => {
    const featuresDir = await syntheticFeatures(300);
    const params = trainParams();
    const whole = (await runTrain({
      featuresDir,
      outDir: join(dir, "whole"),
      params,
    })) as ModelManifest;
    for (const index of [0, 1, 2]) {
      await runTrain({
        featuresDir,
        outDir: join(dir, `shard${index}`),
        params,
        shard: { index, count: 3 },
      });
    }
    const merged = await runMerge({
      shardDirs: [0, 1, 2].map((index) => join(dir, `shard${index}`)),
      featuresDir,
      outDir: join(dir, "merged"),
    });
    expect(merged.model.sha256).toBe(whole.model.sha256);
    expect(merged.metrics).toEqual(whole.metrics);
  });

  it("splits trees evenly over shards and rejects impossible shard settings", () => {
    expect([0, 1, 2].map((index) => shardTreeRange(10, index, 3))).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(() => shardTreeRange(10, 0, 11)).toThrow(
      /shards: 11 is not allowed; expected an integer in 1\.\.10/,
    );
    expect(() => shardTreeRange(10, 3, 3)).toThrow(
      /shard index: 3 is not allowed; expected an integer in 0\.\.2/,
    );
  });

  it("keeps ml-random-forest selectable: its bundle loads and predicts", async () => {
    const featuresDir = await syntheticFeatures(120);
    const params = trainParams({ engine: "ml-random-forest", trees: "3" });
    const manifest = (await runTrain({
      featuresDir,
      outDir: join(dir, "ml"),
      params,
    })) as ModelManifest;
    expect(manifest.engine.name).toBe("ml-random-forest");
    expect(manifest.metrics.oob).toBeNull();
    const { model } = await readBundle(join(dir, "ml"));
    const test = await loadSide(featuresDir, manifest.featureSchema, "test");
    expect(Array.from(model.predict(test.x, 3)).every(Number.isFinite)).toBe(true);
  });
});

describe.skipIf(!REAL_HOUSING_CSV)("train stage on the real dataset", () => {
  it("reaches a validation RMSE below 52,000 with the committed params", async () => {
    const featuresDir = await featuresOf(REAL_HOUSING_CSV as string);
    const params = resolveParams(JSON.parse(await readFile("params.json", "utf8"))).train;
    const manifest = (await runTrain({
      featuresDir,
      outDir: join(dir, "train"),
      params,
    })) as ModelManifest;
    expect(manifest.metrics.validation.rmse).toBeLessThan(52_000);
    expect(manifest.metrics.oob?.rmse).toBeLessThan(55_000);
    expect(manifest.model.bytes).toBeLessThan(20 * 1024 * 1024);
  });
});

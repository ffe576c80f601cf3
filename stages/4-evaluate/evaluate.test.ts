import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveParams } from "../../lib/params/params.ts";
import { createRegistry } from "../../lib/registry/create-registry.ts";
import type { Registry } from "../../lib/registry/types.ts";
import { createTempRepo, type TempRepo } from "../../test/support/git-repo.ts";
import { housingCsv } from "../../test/support/housing.ts";
import { runIngest } from "../1-ingest/ingest.ts";
import { runFeatures } from "../2-features/features.ts";
import { runTrain } from "../3-train/train.ts";
import { evaluateCandidate, GateFailedError } from "./candidate.ts";
import { applyGate, type ModelScore, runEvaluate } from "./evaluate.ts";

let repo: TempRepo;
let featuresDir: string;
beforeEach(async () => {
  repo = await createTempRepo("evaluate-repo-");
  const input = join(repo.dir, "housing.csv");
  await writeFile(input, housingCsv(600));
  await runIngest({ input, outDir: join(repo.dir, "ingest") });
  featuresDir = join(repo.dir, "features");
  await runFeatures({ ingestDir: join(repo.dir, "ingest"), outDir: featuresDir });
});
afterEach(() => repo.cleanup());

async function trainBundle(name: string, overrides: Record<string, string>): Promise<string> {
  const outDir = join(repo.dir, name);
  await runTrain({
    featuresDir,
    outDir,
    params: resolveParams({}, overrides).train,
    context: { commit: repo.commit },
  });
  return outDir;
}

const score = (version: string, rmse: number): ModelScore => ({
  version,
  metrics: { rmse, mae: rmse / 2, r2: 0.8 },
  segments: {},
});

describe("the gate", () => {
  it("only checks the threshold when nothing is in production", () => {
    const rules = applyGate(score("v2.0.0", 50_000), null, 55_000, 0.02);
    expect(rules).toEqual([
      { name: "RMSE <= 55000", passed: true, detail: "candidate RMSE 50000 <= threshold 55000" },
    ]);
  });

  it("fails a candidate worse than production by more than the tolerance", () => {
    const [threshold, versus] = applyGate(
      score("v2.0.0", 51_500),
      score("v1.0.0", 50_000),
      55_000,
      0.02,
    );
    expect(threshold.passed).toBe(true);
    expect(versus).toEqual({
      name: "not worse than production by more than 2.0%",
      passed: false,
      detail: "candidate RMSE 51500 vs production v1.0.0 RMSE 50000 (limit 51000)",
    });
    expect(
      applyGate(score("v2.0.0", 50_900), score("v1.0.0", 50_000), 55_000, 0.02)[1].passed,
    ).toBe(true);
  });
});

describe("evaluate stage", () => {
  it("scores candidate and production on the hold-out, by segment, with plots and a report", async () => {
    const candidate = await trainBundle("candidate", { trees: "10" });
    const production = await trainBundle("production", { trees: "2", "train-seed": "7" });
    const outDir = join(repo.dir, "report");
    const report = await runEvaluate({
      featuresDir,
      candidate: { dir: candidate, version: "v1.1.0" },
      production: { dir: production, version: "v1.0.0" },
      rmseThreshold: 1e9,
      tolerance: 0.02,
      outDir,
    });
    const split = JSON.parse(await readFile(join(featuresDir, "split.json"), "utf8"));
    expect(report.holdout.rows).toBe(split.rows.test);
    const segmentRows = Object.values(report.candidate.segments).reduce(
      (sum, s) => sum + s.rows,
      0,
    );
    expect(segmentRows).toBe(split.rows.test);
    expect(report.rules).toHaveLength(2);
    const markdown = await readFile(join(outDir, "report.md"), "utf8");
    expect(markdown).toContain("candidate v1.1.0");
    expect(markdown).toContain("production v1.0.0");
    expect(markdown).toContain("### Error by ocean_proximity");
    for (const plot of ["predicted-vs-actual.svg", "residuals.svg", "feature-importances.svg"]) {
      expect(await readFile(join(outDir, plot), "utf8")).toMatch(/^<svg[^>]+>/);
    }
  });
});

describe("evaluating the registry's candidate", () => {
  let registry: Registry;
  beforeEach(async () => {
    registry = await createRegistry({ backend: "local", repoDir: repo.dir });
  });

  it("assigns staging on pass and leaves stages untouched on fail, with the reason", async () => {
    const good = await registry.register(await trainBundle("good", { trees: "20" }));
    const passed = await evaluateCandidate({
      registry,
      featuresDir,
      workDir: join(repo.dir, "eval1"),
      rmseThreshold: 1e9,
      tolerance: 0.02,
    });
    expect(passed.stagingTag).toMatch(/^house-price#staging#\d+$/);
    await registry.assign(good.version, "production");

    const worse = await registry.register(
      await trainBundle("worse", { trees: "1", "max-depth": "2" }),
    );
    const failing = evaluateCandidate({
      registry,
      featuresDir,
      workDir: join(repo.dir, "eval2"),
      rmseThreshold: 1e9,
      tolerance: 0.02,
    });
    await expect(failing).rejects.toBeInstanceOf(GateFailedError);
    await expect(failing).rejects.toThrow(
      new RegExp(
        `${worse.version} did not pass the evaluation gate: not worse than production by more than 2\\.0% failed`,
      ),
    );
    expect((await registry.stageVersion("staging"))?.version.version).toBe(good.version);
    const attached = (await registry.show(worse.version)).release.assets.map((asset) => asset.name);
    expect(attached).toContain("report.md");
  });
});

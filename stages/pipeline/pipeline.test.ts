import { readFile, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readBundle } from "../../lib/bundle/bundle.ts";
import { resolveParams } from "../../lib/params/params.ts";
import { createRegistry } from "../../lib/registry/create-registry.ts";
import { createTempRepo, type TempRepo } from "../../test/support/git-repo.ts";
import { housingCsv, REAL_HOUSING_CSV } from "../../test/support/housing.ts";
import { GateFailedError } from "../4-evaluate/candidate.ts";
import { runPipeline } from "./pipeline.ts";

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo("pipeline-repo-");
});
afterEach(() => repo.cleanup());

/** Real data when present (the seed's gate passes), else a synthetic file with a lenient gate. */
async function dataAndThreshold(): Promise<{ data: string; threshold: string }> {
  if (REAL_HOUSING_CSV) return { data: REAL_HOUSING_CSV, threshold: "55000" };
  const data = join(repo.dir, "housing.csv");
  await writeFile(data, housingCsv(800));
  return { data, threshold: "1e9" };
}

function optionsFor(data: string, overrides: Record<string, string>) {
  return {
    data,
    workDir: join(repo.dir, ".pipeline"),
    modelsDir: join(repo.dir, "deploy", "models"),
    repoDir: repo.dir,
    params: resolveParams({}, { trees: "15", ...overrides }),
  };
}

describe("npm run pipeline", () => {
  it("ingests, trains, registers, evaluates, assigns staging, prepares the promotion and deploys", async () => {
    const { data, threshold } = await dataAndThreshold();
    const timings = await runPipeline(optionsFor(data, { threshold }));
    expect(timings.map((timing) => timing.name)).toEqual([
      "ingest",
      "features",
      "train",
      "evaluate",
      "promote",
      "deploy",
    ]);

    const registry = await createRegistry({ backend: "local", repoDir: repo.dir });
    const latest = await registry.latest();
    expect(latest?.tag).toBe("house-price@v1.0.0");
    expect((await registry.stageVersion("staging"))?.version.version).toBe("v1.0.0");
    expect((await registry.stageVersion("production"))?.version.version).toBe("v1.0.0");
    const details = await registry.show("v1.0.0");
    expect(details.release.assets.map((asset) => asset.name)).toEqual(
      expect.arrayContaining([
        "model.bin",
        "manifest.json",
        "report.md",
        "predicted-vs-actual.svg",
      ]),
    );

    const pointer = JSON.parse(
      await repo.git(["show", "promote/house-price-v1.0.0:deploy/production.json"]),
    );
    expect(pointer).toMatchObject({
      name: "house-price",
      version: "v1.0.0",
      tag: "house-price@v1.0.0",
    });
    // The promotion is a branch: the checked-out main is untouched.
    expect((await repo.git(["status", "--porcelain", "--untracked-files=no"])).trim()).toBe("");

    const current = join(repo.dir, "deploy", "models", "current");
    expect(await realpath(current)).toBe(
      await realpath(join(repo.dir, "deploy", "models", "v1.0.0")),
    );
    const deployed = await readBundle(current);
    expect(deployed.manifest.version).toBe("v1.0.0");
    expect(deployed.manifest.model.sha256).toBe(pointer.sha256);

    // The same data and params again: the same model, so no new version.
    const again = await runPipeline(optionsFor(data, { threshold }));
    expect(again.find((timing) => timing.name === "train")?.summary).toMatch(
      /already registered as house-price@v1\.0\.0/,
    );
    expect((await registry.list()).length).toBe(1);
  });

  it("stops at a failed gate: no staging, no promotion, the reason in the error", async () => {
    const { data } = await dataAndThreshold();
    const run = runPipeline(optionsFor(data, { threshold: "1" }));
    await expect(run).rejects.toBeInstanceOf(GateFailedError);
    await expect(run).rejects.toThrow(
      /did not pass the evaluation gate: RMSE <= 1 failed: candidate RMSE \d+ > threshold 1/,
    );
    const registry = await createRegistry({ backend: "local", repoDir: repo.dir });
    expect(await registry.latest()).not.toBeNull();
    expect(await registry.stageVersion("staging")).toBeNull();
    expect(await repo.git(["branch", "--list", "promote/*"])).toBe("");
    const report = await readFile(
      join(repo.dir, ".pipeline", "evaluate", "report", "report.md"),
      "utf8",
    );
    expect(report).toContain("FAILED");
  });
});

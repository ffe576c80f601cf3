import { readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readBundle } from "../../lib/bundle/bundle.ts";
import { createRegistry } from "../../lib/registry/create-registry.ts";
import type { Registry } from "../../lib/registry/types.ts";
import { makeTestBundle } from "../../test/support/bundle.ts";
import { createTempRepo, type TempRepo } from "../../test/support/git-repo.ts";
import { runDeploy } from "./deploy.ts";

let repo: TempRepo;
let registry: Registry;
let modelsDir: string;
beforeEach(async () => {
  repo = await createTempRepo("deploy-repo-");
  registry = await createRegistry({ backend: "local", repoDir: repo.dir });
  modelsDir = join(repo.dir, "deploy", "models");
});
afterEach(() => repo.cleanup());

async function registerTestModel(seed: number): Promise<string> {
  const dir = join(repo.dir, `bundle-${seed}`);
  await makeTestBundle(dir, { seed, trees: 3, rows: 200 });
  // The registry tags the commit that produced the model: this repository's HEAD.
  const manifestPath = join(dir, "manifest.json");
  const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
  await writeFile(manifestPath, JSON.stringify({ ...manifest, git: { commit: repo.commit } }));
  return (await registry.register(dir)).version;
}

describe("deploy stage", () => {
  it("places the pointed-at version behind the current link and assigns production", async () => {
    const version = await registerTestModel(1);
    const details = await registry.show(version);
    const pointerFile = join(repo.dir, "production.json");
    await writeFile(
      pointerFile,
      JSON.stringify({
        name: "house-price",
        version,
        tag: details.tag,
        asset: "model.bin",
        sha256: details.lineage?.model.sha256,
      }),
    );
    const result = await runDeploy({ registry, pointerFile, modelsDir });
    expect(result.version).toBe(version);
    expect(await readlink(join(modelsDir, "current"))).toBe(version);
    expect((await readBundle(join(modelsDir, "current"))).manifest.version).toBe(version);
    expect((await registry.stageVersion("production"))?.version.version).toBe(version);
  });

  it("rolls back to an older version by name and refuses a pointer whose sha256 does not match", async () => {
    const first = await registerTestModel(1);
    const second = await registerTestModel(2);
    await runDeploy({ registry, version: second, modelsDir });
    await runDeploy({ registry, version: first, modelsDir });
    expect(await readlink(join(modelsDir, "current"))).toBe(first);
    expect((await registry.stageVersion("production"))?.version.version).toBe(first);

    const pointerFile = join(repo.dir, "production.json");
    const tag = (await registry.show(second)).tag;
    await writeFile(
      pointerFile,
      JSON.stringify({
        name: "house-price",
        version: second,
        tag,
        asset: "model.bin",
        sha256: "0".repeat(64),
      }),
    );
    await expect(runDeploy({ registry, pointerFile, modelsDir })).rejects.toThrow(
      /does not match deploy\/production\.json's 0{64}/,
    );
    expect(await readlink(join(modelsDir, "current"))).toBe(first);
  });

  it("explains a missing pointer file", async () => {
    await expect(
      runDeploy({ registry, pointerFile: join(repo.dir, "none.json"), modelsDir }),
    ).rejects.toThrow(
      /none\.json: not found; merge a promotion pull request first, or set version/,
    );
  });

  it("without link and assign only resolves and verifies: production stays where it was", async () => {
    const v1 = await registerTestModel(1);
    const v2 = await registerTestModel(2);
    await runDeploy({ registry, version: v1, modelsDir });
    const checked = await runDeploy({
      registry,
      version: v2,
      modelsDir,
      link: false,
      assign: false,
    });
    expect(checked).toMatchObject({ version: v2, current: null, assignmentTag: null });
    expect((await readBundle(checked.dir)).manifest.version).toBe(v2);
    expect(await readlink(join(modelsDir, "current"))).toBe(v1);
    expect((await registry.stageVersion("production"))?.version.version).toBe(v1);
  });
});

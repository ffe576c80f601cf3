import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalBackend } from "../../lib/registry/local-backend.ts";
import { createLocalProposer } from "../../lib/registry/local-proposer.ts";
import { DEPLOY_FILE } from "../../lib/registry/pointer.ts";
import type { PromotionTarget } from "../../lib/registry/proposal.ts";
import { registryOnBackend } from "../../lib/registry/registry.ts";
import { createTempRepo, type TempRepo } from "../../test/support/git-repo.ts";
import { writeModelBundle } from "../../test/support/model-bundle.ts";
import { preparePromotion, prepareRollback } from "./promote.ts";

let repo: TempRepo;
let target: PromotionTarget;
let versions: string[];
let clock: number;

async function workingState(): Promise<string[]> {
  return [
    await repo.git(["status", "--porcelain=v1", "--untracked-files=all"]),
    await repo.git(["symbolic-ref", "HEAD"]),
    await repo.git(["rev-parse", "HEAD"]),
    await repo.git(["diff", "--cached"]),
  ];
}

beforeEach(async () => {
  repo = await createTempRepo();
  clock = Date.parse("2024-03-01T00:00:00Z");
  const registry = registryOnBackend(await createLocalBackend(repo.dir), {
    name: "house-price",
    now: () => {
      clock += 60_000;
      return new Date(clock);
    },
  });
  target = { registry, proposer: await createLocalProposer(repo.dir) };
  versions = [];
  for (const name of ["a", "b", "c"]) {
    const bundle = await writeModelBundle(join(`${repo.dir}-bundles`, name), {
      commit: repo.commit,
    });
    versions.push((await registry.register(bundle.dir)).version);
  }
});

afterEach(async () => {
  await rm(`${repo.dir}-bundles`, { recursive: true, force: true });
  await repo.cleanup();
});

describe("local promotion", () => {
  it("commits deploy/production.json on a promote branch without touching the working tree", async () => {
    // The user is mid-work: a modified file, a staged file and an untracked one.
    await writeFile(join(repo.dir, "README.md"), "# edited, not committed\n");
    await writeFile(join(repo.dir, "staged.txt"), "staged\n");
    await repo.git(["add", "staged.txt"]);
    await writeFile(join(repo.dir, "scratch.txt"), "untracked\n");
    const before = await workingState();

    const proposal = await preparePromotion(target, {
      version: versions[1],
      report: "# Evaluation\n\nRMSE went down.\n",
    });
    expect(await workingState()).toEqual(before);
    expect(proposal).toMatchObject({
      kind: "promotion",
      branch: "promote/house-price-v1.1.0",
      base: "main",
      changed: true,
      from: null,
    });
    expect(proposal.instructions).toContain(
      "git switch main && git merge promote/house-price-v1.1.0",
    );

    const deployed = JSON.parse(
      await repo.git(["show", `promote/house-price-v1.1.0:${DEPLOY_FILE}`]),
    );
    const details = await target.registry.show(versions[1]);
    expect(deployed).toEqual({
      name: "house-price",
      version: "v1.1.0",
      tag: "house-price@v1.1.0",
      asset: "model.bin",
      sha256: details.lineage?.model.sha256,
    });
    expect((await repo.git(["rev-parse", "promote/house-price-v1.1.0^"])).trim()).toBe(repo.commit);
    expect(await repo.git(["log", "-1", "--format=%B", "promote/house-price-v1.1.0"])).toContain(
      "RMSE went down.",
    );

    // Running it again for the same version finds the branch up to date.
    const again = await preparePromotion(target, {
      version: versions[1],
      report: "# Evaluation\n",
    });
    expect(again).toMatchObject({ changed: false, commit: proposal.commit });
  });

  it("refuses to promote a version whose release lacks its model file", async () => {
    await rm(join(repo.dir, ".registry", "house-price@v1.0.0", "model.bin"));
    await expect(preparePromotion(target, { version: versions[0], report: "r" })).rejects.toThrow(
      /house-price@v1\.0\.0 cannot go to production: its release is incomplete \(missing model\.bin\)/,
    );
  });

  it("rolls back to the previous production version, or to --to", async () => {
    for (const version of [versions[0], versions[1]]) {
      const proposal = await preparePromotion(target, { version, report: `promote ${version}` });
      await repo.git(["merge", "-q", "--no-edit", proposal.branch]);
      await target.registry.assign(version, "production");
    }
    const rollback = await prepareRollback(target);
    expect(rollback).toMatchObject({
      kind: "rollback",
      branch: "rollback/house-price-v1.0.0",
      from: "v1.1.0",
      changed: true,
    });
    expect(JSON.parse(await repo.git(["show", `${rollback.branch}:${DEPLOY_FILE}`])).version).toBe(
      "v1.0.0",
    );

    const explicit = await prepareRollback(target, { to: versions[2] });
    expect(explicit.pointer.tag).toBe("house-price@v1.2.0");
    await expect(prepareRollback(target, { to: versions[1] })).rejects.toThrow(
      /already what deploy\/production\.json points at/,
    );
  });

  it("says so when there is nothing to roll back to", async () => {
    await expect(prepareRollback(target)).rejects.toThrow(
      /no earlier production version of house-price to roll back to \(now: none\); set to, the version to roll back to/,
    );
  });
});

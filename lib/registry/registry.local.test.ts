import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempRepo, type TempRepo } from "../../test/support/git-repo.ts";
import { writeModelBundle } from "../../test/support/model-bundle.ts";
import { sha256File } from "../io/files.ts";
import { buildFeatureSchema } from "../schema/features.ts";
import { createLocalBackend } from "./local-backend.ts";
import { registryOnBackend } from "./registry.ts";
import type { Registry, RegistryBackend } from "./types.ts";

let repo: TempRepo;
let backend: RegistryBackend;
let registry: Registry;
let clock: number;

/** A clock that moves one minute per tag, so "at time T" questions have clear answers. */
function tick(): Date {
  clock += 60_000;
  return new Date(clock);
}

async function tagNames(): Promise<string[]> {
  return (await repo.git(["tag", "--list"])).split("\n").filter(Boolean).sort();
}

beforeEach(async () => {
  repo = await createTempRepo();
  backend = await createLocalBackend(repo.dir);
  clock = Date.parse("2024-03-01T00:00:00Z");
  registry = registryOnBackend(backend, { name: "house-price", now: tick });
});

afterEach(async () => {
  await rm(`${repo.dir}-bundles`, { recursive: true, force: true });
  await repo.cleanup();
});

function bundleDir(name: string): string {
  return join(`${repo.dir}-bundles`, name);
}

describe("local registry: registering", () => {
  it("registers a bundle as an annotated tag with its lineage and files in .registry/<tag>/", async () => {
    const bundle = await writeModelBundle(bundleDir("a"), { commit: repo.commit });
    const version = await registry.register(bundle.dir);
    expect(version).toMatchObject({
      version: "v1.0.0",
      tag: "house-price@v1.0.0",
      commit: repo.commit,
      created: true,
    });
    expect(version.lineage?.model.sha256).toBe(bundle.modelSha256);
    expect(version.lineage?.run?.url).toBe("https://ci.invalid/runs/42");

    expect(await repo.git(["cat-file", "-t", "house-price@v1.0.0"])).toBe("tag\n");
    expect((await repo.git(["rev-parse", "house-price@v1.0.0^{commit}"])).trim()).toBe(repo.commit);
    const message = await repo.git(["tag", "-l", "--format=%(contents)", "house-price@v1.0.0"]);
    expect(message.split("\n")[0]).toMatch(/^Registering artifact house-price version v1.0.0/);
    expect(JSON.parse(message.slice(message.indexOf("{"))).lineage.data.inputSha256).toMatch(
      /^[0-9a-f]{64}$/,
    );

    const releaseDir = join(repo.dir, ".registry", "house-price@v1.0.0");
    expect(await sha256File(join(releaseDir, "model.bin"))).toBe(bundle.modelSha256);
    expect((await stat(join(releaseDir, "manifest.json"))).isFile()).toBe(true);
    // Release files never show up as changes in the user's repository.
    expect(await repo.git(["status", "--porcelain"])).toBe("");
  });

  it("returns the existing version when the same bundle is registered again, creating nothing", async () => {
    const bundle = await writeModelBundle(bundleDir("a"), { commit: repo.commit });
    const first = await registry.register(bundle.dir);
    const tagsBefore = await tagNames();
    const again = await registry.register(bundle.dir);
    expect(again).toMatchObject({ version: first.version, created: false, uploaded: [] });
    expect(await tagNames()).toEqual(tagsBefore);
    expect((await backend.listReleases()).map((release) => release.tag)).toEqual([
      "house-price@v1.0.0",
    ]);
  });

  it("bumps minor for the same feature schema and major for an incompatible one", async () => {
    await registry.register((await writeModelBundle(bundleDir("a"), { commit: repo.commit })).dir);
    const minor = await registry.register(
      (await writeModelBundle(bundleDir("b"), { commit: repo.commit })).dir,
    );
    expect(minor.version).toBe("v1.1.0");
    const schema = buildFeatureSchema({ total_bedrooms: 435 });
    const dropped = {
      ...schema,
      features: schema.features.filter((name) => name !== "population_per_household"),
    };
    const major = await registry.register(
      (await writeModelBundle(bundleDir("c"), { commit: repo.commit, featureSchema: dropped })).dir,
    );
    expect(major.version).toBe("v2.0.0");
    // Imputation values change with every dataset; they are not part of the contract.
    const refit = await registry.register(
      (
        await writeModelBundle(bundleDir("d"), {
          commit: repo.commit,
          featureSchema: { ...dropped, imputation: { total_bedrooms: 500 } },
        })
      ).dir,
    );
    expect(refit.version).toBe("v2.1.0");
    expect((await registry.latest())?.version).toBe("v2.1.0");
  });

  it("gives racing registrations distinct version numbers", async () => {
    const bundles = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        writeModelBundle(bundleDir(`race-${i}`), { commit: repo.commit }),
      ),
    );
    const results = await Promise.all(bundles.map((bundle) => registry.register(bundle.dir)));
    const versions = results.map((result) => result.version);
    expect(new Set(versions).size).toBe(6);
    expect([...versions].sort()).toEqual([
      "v1.0.0",
      "v1.1.0",
      "v1.2.0",
      "v1.3.0",
      "v1.4.0",
      "v1.5.0",
    ]);
    // Each tag carries the model of the run that won it, and its release holds that model.
    for (const [i, result] of results.entries()) {
      expect(result.lineage?.model.sha256).toBe(bundles[i].modelSha256);
      const dest = join(bundleDir("downloads"), `${result.version}.bin`);
      expect((await registry.downloadAsset(result.version, "model.bin", dest)).sha256).toBe(
        bundles[i].modelSha256,
      );
    }
    expect((await backend.listReleases()).filter((release) => release.draft)).toEqual([]);
  });

  it("names the commit when the bundle was trained on one the repository lacks", async () => {
    const bundle = await writeModelBundle(bundleDir("elsewhere"), { commit: "f".repeat(40) });
    await expect(registry.register(bundle.dir)).rejects.toThrow(
      /registering house-price@v1\.0\.0 on commit f{40} \(manifest\.json git\.commit\) failed; is that commit in /,
    );
    expect(await tagNames()).toEqual([]);
  });

  it("rejects a bundle whose model file does not match its manifest", async () => {
    const bundle = await writeModelBundle(bundleDir("bad"), { commit: repo.commit });
    await writeFile(join(bundle.dir, "model.bin"), Buffer.alloc(2048, 1));
    await expect(registry.register(bundle.dir)).rejects.toThrow(
      /model\.bin: sha256 is [0-9a-f]{64} but .*manifest\.json model\.sha256 says/,
    );
    expect(await tagNames()).toEqual([]);
  });
});

describe("local registry: crashes and incomplete releases", () => {
  it("leaves no tag when a run dies before tagging, and a rerun reuses the draft", async () => {
    const bundle = await writeModelBundle(bundleDir("a"), { commit: repo.commit });
    const crashing = registryOnBackend(
      { ...backend, createTag: async () => Promise.reject(new Error("runner lost")) },
      { name: "house-price", now: tick },
    );
    await expect(crashing.register(bundle.dir)).rejects.toThrow(/runner lost/);
    expect(await tagNames()).toEqual([]);
    expect(await registry.list()).toEqual([]);
    expect((await backend.listReleases()).map((release) => release.draft)).toEqual([true]);

    const version = await registry.register(bundle.dir);
    expect(version).toMatchObject({ version: "v1.0.0", created: true, uploaded: [] });
    const releases = await backend.listReleases();
    expect(releases.map((release) => [release.tag, release.draft])).toEqual([
      ["house-price@v1.0.0", false],
    ]);
  });

  it("reports a tag whose release was never published, and a rerun publishes it", async () => {
    const bundle = await writeModelBundle(bundleDir("a"), { commit: repo.commit });
    const crashing = registryOnBackend(
      {
        ...backend,
        updateRelease: async (release, patch) =>
          patch.draft === false
            ? Promise.reject(new Error("runner lost"))
            : backend.updateRelease(release, patch),
      },
      { name: "house-price", now: tick },
    );
    await expect(crashing.register(bundle.dir)).rejects.toThrow(/runner lost/);
    expect((await registry.show("v1.0.0")).release.state).toBe("draft");
    expect(await registry.register(bundle.dir)).toMatchObject({
      version: "v1.0.0",
      created: false,
    });
    expect((await registry.show("v1.0.0")).release).toMatchObject({
      state: "published",
      missingAssets: [],
    });
  });

  it("detects a release without its model file and completes it on re-register", async () => {
    const bundle = await writeModelBundle(bundleDir("a"), { commit: repo.commit });
    await registry.register(bundle.dir);
    await rm(join(repo.dir, ".registry", "house-price@v1.0.0", "model.bin"));
    const shown = await registry.show("v1.0.0");
    expect(shown.release).toMatchObject({ state: "incomplete", missingAssets: ["model.bin"] });
    await expect(
      registry.downloadAsset("v1.0.0", "model.bin", join(bundleDir("dl"), "m.bin")),
    ).rejects.toThrow(
      /release house-price@v1\.0\.0 has no model\.bin asset .*: the release is incomplete; run `registry register <bundle-dir>` again/,
    );
    const again = await registry.register(bundle.dir);
    expect(again).toMatchObject({ created: false, uploaded: ["model.bin"] });
    expect((await registry.show("v1.0.0")).release.state).toBe("published");
  });

  it("refuses a corrupted model file on download and leaves no file behind", async () => {
    const bundle = await writeModelBundle(bundleDir("a"), { commit: repo.commit });
    await registry.register(bundle.dir);
    const stored = join(repo.dir, ".registry", "house-price@v1.0.0", "model.bin");
    const bytes = await readFile(stored);
    bytes[0] ^= 0xff;
    await writeFile(stored, bytes);
    const dest = join(bundleDir("dl"), "model.bin");
    await expect(registry.downloadAsset("v1.0.0", "model.bin", dest)).rejects.toThrow(
      /sha256 mismatch: downloaded [0-9a-f]{64} but the registered manifest says [0-9a-f]{64}/,
    );
    await expect(stat(dest)).rejects.toThrow(/ENOENT/);
  });

  it("refuses release names that would reach outside .registry/", async () => {
    for (const release of [
      { id: "..", tag: "x", draft: true },
      { id: "x", tag: "..", draft: false },
      { id: "x", tag: "a/../..", draft: false },
    ]) {
      await expect(
        backend.deleteRelease({ ...release, title: "", body: "", assets: [], url: null }),
      ).rejects.toThrow(/cannot name a folder inside .*\.registry/);
    }
    expect(await repo.git(["status", "--porcelain"])).toBe("");
  });

  it("attaches extra files such as a report to an existing version", async () => {
    const bundle = await writeModelBundle(bundleDir("a"), { commit: repo.commit });
    await registry.register(bundle.dir);
    const report = join(bundleDir("extra"), "report.md");
    await writeModelBundle(bundleDir("extra"), { commit: repo.commit });
    await writeFile(report, "# Report\n");
    expect(await registry.uploadAssets("v1.0.0", [report])).toEqual(["report.md"]);
    const dest = join(bundleDir("dl"), "report.md");
    await registry.downloadAsset("v1.0.0", "report.md", dest);
    expect(await readFile(dest, "utf8")).toBe("# Report\n");
  });
});

describe("local registry: stages, history and lineage", () => {
  async function registerThree() {
    const versions = [];
    for (const name of ["a", "b", "c"]) {
      const bundle = await writeModelBundle(bundleDir(name), { commit: repo.commit });
      versions.push(await registry.register(bundle.dir));
    }
    return versions.map((version) => version.version);
  }

  it("answers which version held a stage at a given time", async () => {
    const [v1, v2, v3] = await registerThree();
    const first = await registry.assign(v1, "production");
    const second = await registry.assign(v2, "production");
    await registry.assign(v3, "staging");
    const third = await registry.assign(v3, "production");
    expect(first.tag).toMatch(/^house-price#production#\d+$/);

    const between = (a: string, b: string) => new Date((Date.parse(a) + Date.parse(b)) / 2);
    expect(
      await registry.stageVersion("production", new Date(Date.parse(first.assignedAt) - 1000)),
    ).toBeNull();
    expect(
      (await registry.stageVersion("production", between(first.assignedAt, second.assignedAt)))
        ?.version.version,
    ).toBe(v1);
    expect(
      (await registry.stageVersion("production", between(second.assignedAt, third.assignedAt)))
        ?.version.version,
    ).toBe(v2);
    expect((await registry.stageVersion("production"))?.version.version).toBe(v3);
    expect((await registry.stageVersion("staging"))?.version.version).toBe(v3);

    const history = await registry.history("production");
    expect(history.map((event) => [event.kind, event.version])).toEqual([
      ["assignment", v1],
      ["assignment", v2],
      ["unassignment", v1],
      ["assignment", v3],
      ["unassignment", v2],
    ]);
    // One #N sequence across the model's tags, as GTO counts them.
    const counters = (await registry.history()).flatMap((event) =>
      event.counter === null ? [] : [event.counter],
    );
    expect(counters).toEqual([...counters].sort((a, b) => a - b));
    expect(new Set(counters).size).toBe(counters.length);
    expect((await registry.show(v3)).stages.sort()).toEqual(["production", "staging"]);
  });

  it("assigning the version that already holds a stage creates no tag", async () => {
    const [v1] = await registerThree();
    await registry.assign(v1, "production");
    const before = await tagNames();
    await registry.assign(v1, "production");
    expect(await tagNames()).toEqual(before);
  });

  it("deprecates a version: not latest, not assignable, out of its stage", async () => {
    const [v1, v2, v3] = await registerThree();
    await registry.assign(v3, "production");
    const event = await registry.deprecate(v3);
    expect(event).toMatchObject({ kind: "deregistration", version: v3 });
    expect(event.tag).toMatch(/^house-price@v1\.2\.0!#\d+$/);
    expect((await registry.latest())?.version).toBe(v2);
    expect(await registry.stageVersion("production")).toBeNull();
    await expect(registry.assign(v3, "production")).rejects.toThrow(
      /house-price@v1\.2\.0 is deprecated/,
    );
    expect(await registry.deprecate(v3)).toEqual(event);
    expect((await registry.list()).map((version) => [version.version, version.deprecated])).toEqual(
      [
        [v1, false],
        [v2, false],
        [v3, true],
      ],
    );
  });

  it("unassigns a stage", async () => {
    const [v1] = await registerThree();
    await registry.assign(v1, "staging");
    expect(await registry.unassign("staging")).toMatchObject({
      kind: "unassignment",
      version: v1,
      stage: "staging",
    });
    expect(await registry.stageVersion("staging")).toBeNull();
    expect(await registry.unassign("staging")).toBeNull();
  });

  it("reports a version's lineage and its predecessor", async () => {
    const [v1, v2] = await registerThree();
    const lineage = await registry.lineage(`house-price@${v2}`);
    expect(lineage).toMatchObject({ version: v2, previous: v1, commit: repo.commit });
    expect(lineage.lineage?.params).toEqual({ nEstimators: 50, maxDepth: 12, seed: 7 });
    expect(lineage.lineage?.featureContractSha256).toMatch(/^[0-9a-f]{64}$/);
    await expect(registry.lineage("v9.0.0")).rejects.toThrow(
      /no version "v9\.0\.0" \(registered: v1\.0\.0, v1\.1\.0, v1\.2\.0\)/,
    );
  });
});

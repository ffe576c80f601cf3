// Registry mode against a real local registry (a temp git repository with GTO tags and release
// folders): the service follows production, and every fault keeps the current model serving.
import { readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRegistry } from "../../lib/registry/create-registry.ts";
import type { Registry } from "../../lib/registry/types.ts";
import { buildFeatureSchema } from "../../lib/schema/features.ts";
import { makeTestBundle, sampleRecord } from "../../test/support/bundle.ts";
import { createTempRepo, type TempRepo } from "../../test/support/git-repo.ts";
import { tempDir } from "../../test/support/housing.ts";
import type { ModelSource } from "./config.ts";
import type { RunningServer } from "./server.ts";
import { postJson, servedVersion, startTestServer, waitFor } from "./test-helpers.ts";

let repo: TempRepo;
let registry: Registry;
let work: { dir: string; cleanup: () => Promise<void> };
const servers: RunningServer[] = [];

beforeEach(async () => {
  repo = await createTempRepo("follower-repo-");
  registry = await createRegistry({ backend: "local", repoDir: repo.dir });
  work = await tempDir("follower-");
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await work.cleanup();
  await repo.cleanup();
});

/** Trains and registers a small bundle; `seed` makes it a different model. */
async function register(seed: number): Promise<string> {
  const dir = join(work.dir, `bundle-${seed}`);
  await makeTestBundle(dir, { seed, commit: repo.commit });
  return (await registry.register(dir)).version;
}

function registrySource(overrides: Partial<Extract<ModelSource, { kind: "registry" }>> = {}) {
  return {
    kind: "registry",
    repository: undefined,
    gitDir: repo.dir,
    apiUrl: undefined,
    token: undefined,
    stage: "production",
    cacheDir: join(work.dir, "cache"),
    pollMs: 150,
    jitter: 0.2,
    ...overrides,
  } satisfies ModelSource;
}

async function serve(source = registrySource()): Promise<RunningServer> {
  const server = await startTestServer({ modelDir: join(source.cacheDir, "current"), source });
  servers.push(server);
  return server;
}

async function modelInfo(url: string) {
  const response = await fetch(`${url}/model`);
  return {
    status: response.status,
    body: (await response.json()) as {
      version?: string;
      lastReloadFailure: { trigger: string; reason: string } | null;
      modelSource: {
        source: string;
        following: string | null;
        lastError: { reason: string } | null;
      };
    },
  };
}

describe("registry mode: following production", () => {
  it("loads the production version, then swaps to each newly assigned one", async () => {
    const v1 = await register(1);
    const v2 = await register(2);
    await registry.assign(v1, "production");
    const server = await serve();
    await waitFor("v1 served", async () => (await servedVersion(server.url)) === v1);
    expect((await postJson(`${server.url}/predict`, sampleRecord(3))).body.model_version).toBe(v1);

    await registry.assign(v2, "production");
    await waitFor("v2 served", async () => (await servedVersion(server.url)) === v2);
    const info = await modelInfo(server.url);
    expect(info.body.modelSource).toMatchObject({
      source: "registry",
      following: v2,
      lastError: null,
    });
    // Both versions stay in the cache, so a rollback needs no download.
    expect((await readdir(join(work.dir, "cache"))).sort()).toEqual(["current", v1, v2].sort());
  });

  it("ends on the latest of two production assignments made in quick succession", async () => {
    const v1 = await register(1);
    const v2 = await register(2);
    const v3 = await register(3);
    await registry.assign(v1, "production");
    const server = await serve();
    await waitFor("v1 served", async () => (await servedVersion(server.url)) === v1);
    await registry.assign(v2, "production");
    await registry.assign(v3, "production");
    await waitFor("v3 served", async () => (await servedVersion(server.url)) === v3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await servedVersion(server.url)).toBe(v3);
  });

  it("without a registry or a cached bundle, is not ready and says why", async () => {
    const server = await serve(registrySource({ gitDir: join(work.dir, "no-such-repo") }));
    await waitFor("the failure to be reported", async () => {
      const info = await modelInfo(server.url);
      return info.body.modelSource.lastError !== null;
    });
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { error: string }).error).toMatch(
      /no model is loaded yet .*registry .*no-such-repo/,
    );
  });

  it("restarted while the registry is unreachable, serves the cached production model", async () => {
    const v1 = await register(1);
    await registry.assign(v1, "production");
    const first = await serve();
    await waitFor("v1 served", async () => (await servedVersion(first.url)) === v1);
    await first.close();
    servers.splice(servers.indexOf(first), 1);

    await rm(join(repo.dir, ".git"), { recursive: true, force: true });
    const second = await serve();
    expect(await servedVersion(second.url)).toBe(v1);
    await waitFor("the registry failure to be reported", async () => {
      const info = await modelInfo(second.url);
      return info.body.modelSource.lastError !== null;
    });
    const info = await modelInfo(second.url);
    expect(info.body.version).toBe(v1);
    expect(info.body.lastReloadFailure?.trigger).toBe("registry");
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(metrics).toMatch(/model_reloads_total\{trigger="registry",outcome="failed"\} [1-9]/);
  });

  it("keeps serving when production names a version whose model file is corrupt", async () => {
    const v1 = await register(1);
    const v2 = await register(2);
    await registry.assign(v1, "production");
    const server = await serve();
    await waitFor("v1 served", async () => (await servedVersion(server.url)) === v1);

    const stored = join(repo.dir, ".registry", `house-price@${v2}`, "model.bin");
    const bytes = await readFile(stored);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(stored, bytes);
    await registry.assign(v2, "production");
    await waitFor("the corrupt asset to be reported", async () => {
      const info = await modelInfo(server.url);
      return /sha256 mismatch/.test(info.body.modelSource.lastError?.reason ?? "");
    });
    expect(await servedVersion(server.url)).toBe(v1);
    // Nothing of the corrupt download is left in the cache.
    expect((await readdir(join(work.dir, "cache"))).sort()).toEqual(["current", v1].sort());
  });

  it("keeps serving when production names a version whose release lost its files", async () => {
    const v1 = await register(1);
    const v2 = await register(2);
    await registry.assign(v1, "production");
    const server = await serve();
    await waitFor("v1 served", async () => (await servedVersion(server.url)) === v1);
    await rm(join(repo.dir, ".registry", `house-price@${v2}`), { recursive: true });
    await registry.assign(v2, "production");
    await waitFor("the missing release to be reported", async () => {
      const info = await modelInfo(server.url);
      return /has no release/.test(info.body.modelSource.lastError?.reason ?? "");
    });
    expect(await servedVersion(server.url)).toBe(v1);
  });

  it("keeps serving when production names a model whose feature schema it cannot serve", async () => {
    const v1 = await register(1);
    await registry.assign(v1, "production");
    const server = await serve();
    await waitFor("v1 served", async () => (await servedVersion(server.url)) === v1);

    const dir = join(work.dir, "future");
    const schema = buildFeatureSchema({ total_bedrooms: 435 });
    await makeTestBundle(dir, {
      seed: 9,
      commit: repo.commit,
      schema: { ...schema, schemaVersion: 99 },
    });
    const future = (await registry.register(dir)).version;
    await registry.assign(future, "production");
    await waitFor("the schema to be refused", async () => {
      const info = await modelInfo(server.url);
      return /schemaVersion 99 is not served/.test(info.body.modelSource.lastError?.reason ?? "");
    });
    expect(await servedVersion(server.url)).toBe(v1);
    expect(await readlink(join(work.dir, "cache", "current"))).toBe(v1);
  });
});

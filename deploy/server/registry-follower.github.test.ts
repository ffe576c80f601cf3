// Registry mode against the local GitHub, which keeps GitHub's rules: unchanged polls are free
// (conditional requests answered 304), a revoked or too weak token is reported and the model keeps
// serving, the token never shows, and a SIGTERM in the middle of a download leaves no half-written
// bundle in the cache.
import { spawn } from "node:child_process";
import { readdir, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../lib/io/ports.ts";
import { createRegistry } from "../../lib/registry/create-registry.ts";
import type { Registry } from "../../lib/registry/types.ts";
import { makeTestBundle } from "../../test/support/bundle.ts";
import { tempDir } from "../../test/support/housing.ts";
import { type LocalGitHub, startLocalGitHub } from "../../tools/local-github/server.ts";
import type { ModelSource } from "./config.ts";
import type { RunningServer } from "./server.ts";
import { servedVersion, startTestServer, waitFor } from "./test-helpers.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
let hub: LocalGitHub;
let registry: Registry;
let commit: string;
let work: { dir: string; cleanup: () => Promise<void> };
const servers: RunningServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await hub?.close();
  await work?.cleanup();
});

async function setup(): Promise<void> {
  hub = await startLocalGitHub();
  commit = await hub.commitFiles("main", { "README.md": "# house prices\n" });
  registry = await createRegistry({
    env: { GITHUB_TOKEN: hub.token, GITHUB_REPOSITORY: hub.repository, GITHUB_API_URL: hub.apiUrl },
    github: { retry: { writeIntervalMs: 0, notifyIntervalMs: 0 } },
  });
  work = await tempDir("follower-github-");
}

async function register(seed: number): Promise<string> {
  const dir = join(work.dir, `bundle-${seed}`);
  await makeTestBundle(dir, { seed, commit });
  return (await registry.register(dir)).version;
}

function source(token: string, pollMs = 300): Extract<ModelSource, { kind: "registry" }> {
  return {
    kind: "registry",
    repository: hub.repository,
    gitDir: undefined,
    apiUrl: hub.apiUrl,
    token,
    stage: "production",
    cacheDir: join(work.dir, "cache"),
    pollMs,
    jitter: 0,
  };
}

async function serve(token: string, pollMs?: number): Promise<RunningServer> {
  const registrySource = source(token, pollMs);
  const server = await startTestServer({
    modelDir: join(registrySource.cacheDir, "current"),
    source: registrySource,
  });
  servers.push(server);
  return server;
}

async function modelInfo(url: string) {
  return (await (await fetch(`${url}/model`)).json()) as {
    version?: string;
    modelSource: { lastError: { reason: string } | null; polls: number };
  };
}

describe("registry mode on GitHub", () => {
  it("polls with conditional requests: while production stays, each poll is a free 304", async () => {
    await setup();
    const v1 = await register(1);
    await registry.assign(v1, "production");
    const token = await hub.mintToken({ kind: "app", permissions: { contents: "read" } });
    const server = await serve(token, 200);
    await waitFor("v1 served", async () => (await servedVersion(server.url)) === v1);
    const before = hub.requests.length;
    await waitFor(
      "ten more polls",
      async () => (await modelInfo(server.url)).modelSource.polls >= 12,
    );
    const polls = hub.requests
      .slice(before)
      .filter((request) => request.path.includes("/matching-refs/"));
    expect(polls.length).toBeGreaterThanOrEqual(8);
    // GitHub does not count a 304 against the rate limit; nothing else was asked.
    expect(polls.every((request) => request.status === 304)).toBe(true);
    expect(
      hub.requests.slice(before).every((request) => request.path.includes("/matching-refs/")),
    ).toBe(true);
  });

  it("a revoked token (401) and a token without contents: read (403) are reported; the model keeps serving; the token never shows", async () => {
    await setup();
    const v1 = await register(1);
    const v2 = await register(2);
    await registry.assign(v1, "production");
    const good = await hub.mintToken({ kind: "app", permissions: { contents: "read" } });
    const first = await serve(good);
    await waitFor("v1 served", async () => (await servedVersion(first.url)) === v1);
    await first.close();
    servers.splice(0);

    for (const [token, status] of [
      [`ghs_${"r".repeat(36)}`, /401|Bad credentials/],
      [await hub.mintToken({ kind: "app", permissions: { issues: "read" } }), /403|not accessible/],
    ] as const) {
      const server = await serve(token);
      await registry.assign(token === good ? v1 : v2, "production");
      await waitFor("the refusal to be reported", async () =>
        status.test((await modelInfo(server.url)).modelSource.lastError?.reason ?? ""),
      );
      // The cache still holds v1, and v1 serves.
      expect(await servedVersion(server.url)).toBe(v1);
      const texts = [
        JSON.stringify(await modelInfo(server.url)),
        await (await fetch(`${server.url}/metrics`)).text(),
        await (await fetch(`${server.url}/ready`)).text(),
      ];
      for (const text of texts) expect(text).not.toContain(token);
      await server.close();
      servers.splice(0);
      await registry.assign(v1, "production");
    }
  });

  it("SIGTERM during a download leaves no half-written bundle; the next start clears the rest and goes on", async () => {
    await setup();
    const v1 = await register(1);
    const v2 = await register(2);
    await registry.assign(v1, "production");
    const token = await hub.mintToken({ kind: "app", permissions: { contents: "read" } });
    const tokenFile = join(work.dir, "token");
    await writeFile(tokenFile, token);
    const cacheDir = join(work.dir, "cache");
    const start = async () => {
      const port = await freePort();
      const child = spawn(process.execPath, ["deploy/server/index.ts"], {
        cwd: REPO,
        env: {
          ...process.env,
          PORT: String(port),
          HOST: "127.0.0.1",
          MODEL_SOURCE: "registry",
          REGISTRY_REPOSITORY: hub.repository,
          GITHUB_API_URL: hub.apiUrl,
          REGISTRY_TOKEN_FILE: tokenFile,
          MODEL_CACHE_DIR: cacheDir,
          REGISTRY_POLL_MS: "1000",
          REGISTRY_POLL_JITTER: "0",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      return { url: `http://127.0.0.1:${port}`, child, exited };
    };
    const first = await start();
    await waitFor(
      "v1 served",
      async () => (await servedVersion(first.url).catch(() => null)) === v1,
      30_000,
    );

    // The next download stalls in the middle (the asset request waits), and SIGTERM comes then.
    let release: () => void = () => {};
    const downloading = new Promise<void>((resolve) => {
      hub.addFault({
        method: "GET",
        path: /\/releases\/assets\/\d+$/,
        before: () =>
          new Promise<void>((unblock) => {
            resolve();
            release = unblock;
          }),
      });
    });
    await registry.assign(v2, "production");
    await downloading;
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    release();
    const left = await readdir(cacheDir);
    expect(left).not.toContain(v2);
    expect(await readlink(join(cacheDir, "current"))).toBe(v1);

    const second = await start();
    try {
      await waitFor(
        "v2 served after the restart",
        async () => (await servedVersion(second.url).catch(() => null)) === v2,
        30_000,
      );
      const names = await readdir(cacheDir);
      expect(names.filter((name) => name.endsWith(".tmp"))).toEqual([]);
      expect(names.sort()).toEqual(["current", v1, v2].sort());
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });
});

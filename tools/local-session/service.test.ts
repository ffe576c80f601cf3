// The session's service without a container: `node deploy/server/index.ts` in registry mode,
// started against a real local GitHub, following its production stage from one version to the
// next, and stopped. (The container path runs in test/e2e/act-session.test.ts.)

import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPromotionTarget } from "../../lib/registry/create-registry.ts";
import type { PromotionTarget } from "../../lib/registry/proposal.ts";
import { makeTestBundle } from "../../test/support/bundle.ts";
import { type LocalGitHub, startLocalGitHub } from "../local-github/server.ts";
import type { RunningHub } from "./hub.ts";
import { sessionPaths } from "./paths.ts";
import {
  assertPortFree,
  runningService,
  serviceModel,
  startService,
  stopService,
  waitForService,
} from "./service.ts";

describe("the session's service as a process", () => {
  let root: string;
  let github: LocalGitHub;
  let hub: RunningHub;
  let owner: PromotionTarget;
  let main: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "session-service-"));
    github = await startLocalGitHub();
    hub = {
      apiUrl: github.apiUrl,
      repository: github.repository,
      gitDir: github.gitDir,
      ownerToken: github.token,
      pid: process.pid,
      htmlUrl: `${github.apiUrl}/html/${github.repository}`,
    };
    main = await github.commitFiles("main", { "README.md": "house-price\n" });
    owner = await createPromotionTarget({
      env: {
        GITHUB_TOKEN: github.token,
        GITHUB_REPOSITORY: github.repository,
        GITHUB_API_URL: github.apiUrl,
      },
      github: { retry: { writeIntervalMs: 0, notifyIntervalMs: 0 } },
    });
  });

  afterAll(async () => {
    if (root) await stopService(sessionPaths(join(root, "state")));
    await github?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function register(seed: number): Promise<string> {
    const dir = join(root, `bundle-${seed}`);
    await makeTestBundle(dir, { seed, commit: main, trees: 5, rows: 300 });
    return (await owner.registry.register(dir)).version;
  }

  it("serves production, follows it to the next version, and stops", async () => {
    const paths = sessionPaths(join(root, "state"));
    const v1 = await register(1);
    await owner.registry.assign(v1, "production");
    const service = await startService(paths, hub);
    expect(service.kind).toBe("process");
    await waitForService(service, v1, 60_000);
    expect(await runningService(paths)).toEqual(service);
    // Its own read-only token: it never got the owner's.
    const token = await stat(join(paths.serviceDir, "registry-token"));
    expect(token.isFile()).toBe(true);

    const v2 = await register(2);
    await owner.registry.assign(v2, "production");
    await waitForService(service, v2, 60_000);
    const model = await serviceModel(service);
    expect("body" in model && model.body.version).toBe(v2);

    expect(await stopService(paths)).toBe(true);
    expect(await runningService(paths)).toBeNull();
    await expect(fetch(`${service.url}/health`)).rejects.toThrow();
  }, 120_000);

  it("refuses a port in use, naming it and what to do", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", () => resolve()));
    const { port } = holder.address() as { port: number };
    try {
      await expect(assertPortFree(port, "the local service")).rejects.toThrow(
        `port ${port} is in use, so the local service cannot listen there: stop what uses it`,
      );
    } finally {
      holder.close();
    }
  });
});

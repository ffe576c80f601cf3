// The serving image for real: built from deploy/Dockerfile (on the local Node base with podman,
// the official one with docker), run as it is deployed (read-only root file system, tmpfs /tmp,
// no capabilities) with a trained bundle mounted, and asked what a user asks.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../lib/io/ports.ts";
import { createRegistry } from "../lib/registry/create-registry.ts";
import type { Registry } from "../lib/registry/types.ts";
import { featureVector, SAMPLE_RECORD } from "../lib/schema/features.ts";
import { makeTestBundle } from "../test/support/bundle.ts";
import { baseImageInputs, ensureBaseImage } from "../tools/container/base-image.ts";
import { imageFacts } from "../tools/container/dockerfile.ts";
import { type Engine, engineEnv, runEngine } from "../tools/container/engine.ts";
import {
  baseChoice,
  buildServiceImage,
  imageSize,
  type RunningContainer,
  runServiceContainer,
} from "../tools/container/service-image.ts";
import { engineForTests } from "../tools/container/test-tools.ts";
import { type GitHubStandIn, startGitHubStandIn } from "../tools/local-github/server.ts";
import { waitFor } from "./server/test-helpers.ts";

const engine = await engineForTests("serving image");
/** The first build of the local base (debootstrap) takes a few minutes; .ci/run does it first. */
const BUILD_TIMEOUT_MS = 15 * 60_000;
const VERSION = "v1.0.0";
const TAG = "localhost/house-price-prediction:test";
const REVISION = "0123456789abcdef0123456789abcdef01234567";

const run = promisify(execFile);

/** `engine exec` in the running container; resolves to the exit code and output. */
async function execIn(
  engine: Engine,
  name: string,
  command: string[],
): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(engine, ["exec", name, ...command], {
      env: engineEnv(engine),
    });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof code === "number" ? code : -1, output: `${stdout ?? ""}${stderr ?? ""}` };
  }
}

describe.skipIf(engine === null)("the serving image", () => {
  const container = engine as Engine;
  let root: string;
  let expectedPrice: number;
  let service: RunningContainer;
  let coldStartSeconds: number;
  let localBase: string | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "serving-image-"));
    localBase = baseChoice(container) === "local" ? await ensureBaseImage(container) : undefined;
    const [{ forest, schema }] = await Promise.all([
      makeTestBundle(join(root, "models", "current"), { version: VERSION }),
      buildServiceImage(container, {
        tag: TAG,
        baseImage: localBase,
        labels: { "org.opencontainers.image.revision": REVISION },
      }),
    ]);
    expectedPrice = forest.predictOne(featureVector(SAMPLE_RECORD, schema));
    const started = performance.now();
    service = await runServiceContainer(container, TAG, {
      port: await freePort(),
      volumes: [`${join(root, "models")}:/models:ro`],
    });
    await waitFor(
      "the container's /ready",
      async () => (await fetch(`${service.url}/ready`).catch(() => null))?.status === 200,
      60_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await service.logs()}`);
    });
    coldStartSeconds = (performance.now() - started) / 1000;
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await service?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("answers /ready, the seed's payload on /predict and the version on /model", async () => {
    expect((await fetch(`${service.url}/ready`)).status).toBe(200);
    const predict = await fetch(`${service.url}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(SAMPLE_RECORD),
    });
    expect(predict.status).toBe(200);
    const answer = (await predict.json()) as { predicted_price: number; model_version: string };
    expect(answer.model_version).toBe(VERSION);
    expect(answer.predicted_price).toBeCloseTo(expectedPrice, 6);
    const model = (await (await fetch(`${service.url}/model`)).json()) as { version: string };
    expect(model.version).toBe(VERSION);
    const size = await imageSize(container, TAG);
    console.log(
      `serving image (${container}): ${(size / 1e6).toFixed(1)} MB, cold start to ready ${coldStartSeconds.toFixed(2)} s`,
    );
  });

  it.runIf(baseChoice(container ?? "docker") === "local")(
    "builds on a local base that matches the official image where the Dockerfile relies on it",
    async () => {
      const inputs = baseImageInputs(imageFacts().nodeImage);
      const probe = await runEngine(container, [
        "run",
        "--rm",
        "--network",
        "none",
        localBase as string,
        "sh",
        "-c",
        "node --version; npm --version; id -u node; id -g node",
      ]);
      expect(probe.trim().split("\n")).toEqual([
        `v${inputs.nodeVersion}`,
        inputs.npmVersion,
        "1000",
        "1000",
      ]);
    },
  );

  it("runs as uid 1000 on a read-only root file system, with no shell, labelled as built", async () => {
    const uid = await execIn(container, service.name, [
      "node",
      "-e",
      "process.stdout.write(process.getuid() + ':' + process.getgid())",
    ]);
    expect(uid).toEqual({ code: 0, output: "1000:1000" });
    const write = await execIn(container, service.name, [
      "node",
      "-e",
      "require('fs').writeFileSync('/app/x', '')",
    ]);
    expect(write.code).not.toBe(0);
    expect(write.output).toMatch(/EROFS|read-only/i);
    const tmp = await execIn(container, service.name, [
      "node",
      "-e",
      "require('fs').writeFileSync('/tmp/x', 'ok')",
    ]);
    expect(tmp.code).toBe(0);
    expect((await execIn(container, service.name, ["sh", "-c", "true"])).code).not.toBe(0);
    const config = JSON.parse(
      await runEngine(container, ["image", "inspect", "--format", "{{json .Config}}", TAG]),
    ) as { User: string; Labels: Record<string, string> };
    expect(config.User).toBe("1000:1000");
    expect(config.Labels["org.opencontainers.image.revision"]).toBe(REVISION);
  });

  it("carries V8's compile cache for the user that serves (node keeps one per uid)", async () => {
    const listing = await execIn(container, service.name, [
      "node",
      "-e",
      "process.stdout.write(require('fs').readdirSync('/app/.compile-cache').join(' '))",
    ]);
    expect(listing.output).toMatch(/^v\d+\.\d+\.\d+-\w+-[0-9a-f]+-1000$/);
  });

  it("passes its own HEALTHCHECK", async () => {
    const test = JSON.parse(
      await runEngine(container, [
        "image",
        "inspect",
        "--format",
        "{{json .Config.Healthcheck.Test}}",
        TAG,
      ]),
    ) as string[];
    expect(test[0]).toBe("CMD");
    expect(await execIn(container, service.name, test.slice(1))).toMatchObject({ code: 0 });
  });

  it("stops cleanly on SIGTERM as PID 1", async () => {
    await runEngine(container, ["stop", "-t", "10", service.name]);
    const state = await runEngine(container, [
      "inspect",
      "--format",
      "{{.State.ExitCode}}",
      service.name,
    ]);
    expect(state.trim()).toBe("0");
    expect(await service.logs()).toMatch(/"stopped"/);
  });
  describe("in registry mode, as compose.yaml and the Kubernetes base run it", () => {
    let standIn: GitHubStandIn;
    let registry: Registry;
    let commit: string;
    let tokenFile: string;
    /** The version production held last, which the cache volume keeps. */
    let latest: string;
    const volume = `house-price-cache-test-${process.pid}`;
    const followers: RunningContainer[] = [];

    /** Trains, registers and assigns production to a bundle; returns its version. */
    async function promote(seed: number): Promise<string> {
      const dir = join(root, `registered-${seed}`);
      await makeTestBundle(dir, { seed, commit });
      const { version } = await registry.register(dir);
      await registry.assign(version, "production");
      return version;
    }

    /** The image in registry mode: token from a mounted file, bundles in a named volume. */
    async function follow(apiUrl: string): Promise<RunningContainer> {
      const follower = await runServiceContainer(container, TAG, {
        port: await freePort(),
        env: {
          MODEL_SOURCE: "registry",
          REGISTRY_REPOSITORY: standIn.repository,
          GITHUB_API_URL: apiUrl,
          REGISTRY_TOKEN_FILE: "/run/secrets/github_token",
          MODEL_CACHE_DIR: "/cache",
          REGISTRY_POLL_MS: "1000",
        },
        volumes: [`${tokenFile}:/run/secrets/github_token:ro`, `${volume}:/cache`],
      });
      followers.push(follower);
      return follower;
    }

    async function versionOf(url: string): Promise<string | null> {
      const response = await fetch(`${url}/model`).catch(() => null);
      if (response?.status !== 200) return null;
      return ((await response.json()) as { version: string }).version;
    }

    beforeAll(async () => {
      standIn = await startGitHubStandIn();
      commit = await standIn.commitFiles("main", { "README.md": "# house prices\n" });
      registry = await createRegistry({
        env: {
          GITHUB_TOKEN: standIn.token,
          GITHUB_REPOSITORY: standIn.repository,
          GITHUB_API_URL: standIn.apiUrl,
        },
      });
      tokenFile = join(root, "github_token");
      await writeFile(tokenFile, `${standIn.token}\n`);
    }, 120_000);

    afterAll(async () => {
      for (const follower of followers) await follower.stop();
      await runEngine(container, ["volume", "rm", "--force", volume]).catch(() => undefined);
      await standIn?.close();
    });

    it("serves production, swaps when production moves, and never logs the token", async () => {
      const v1 = await promote(1);
      const follower = await follow(standIn.apiUrl);
      await waitFor(
        "the registry's production version",
        async () => (await versionOf(follower.url)) === v1,
        60_000,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${await follower.logs()}`);
      });
      const v2 = await promote(2);
      await waitFor(
        "the swap to the new production version",
        async () => (await versionOf(follower.url)) === v2,
        30_000,
      );
      const predict = await fetch(`${follower.url}/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(SAMPLE_RECORD),
      });
      expect(((await predict.json()) as { model_version: string }).model_version).toBe(v2);
      expect(await follower.logs()).not.toContain(standIn.token);
      latest = v2;
      await follower.stop();
    }, 180_000);

    it("restarts with the registry unreachable and serves the cached model", async () => {
      const unreachable = `http://127.0.0.1:${await freePort()}`;
      const follower = await follow(unreachable);
      await waitFor(
        "/ready from the cache",
        async () => (await fetch(`${follower.url}/ready`).catch(() => null))?.status === 200,
        60_000,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${await follower.logs()}`);
      });
      expect(await versionOf(follower.url)).toBe(latest);
    }, 120_000);
  });
});

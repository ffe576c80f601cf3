import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { preparePromotion, prepareRollback } from "../../stages/5-promote/promote.ts";
import { writeModelBundle } from "../../test/support/model-bundle.ts";
import {
  type GitHubStandIn,
  type StandInOptions,
  startGitHubStandIn,
} from "../../tools/local-github/server.ts";
import { sha256File } from "../io/files.ts";
import { chooseBackend, createPromotionTarget, createRegistry } from "./create-registry.ts";
import type { PromotionTarget } from "./proposal.ts";
import type { Registry } from "./types.ts";

let server: GitHubStandIn;
let work: string;
let commit: string;
let registry: Registry;
let target: PromotionTarget;
/** Waits the client asked for; recorded instead of slept so tests stay fast. */
/** The rate-limit waits the client took, in seconds of GitHub's time. */
let delays: number[];
let clock: number;

async function setup(options: StandInOptions = {}): Promise<void> {
  server = await startGitHubStandIn(options);
  work = await mkdtemp(join(tmpdir(), "registry-github-"));
  commit = await server.commitFiles("main", { "README.md": "# house prices\n" }, "initial commit");
  delays = [];
  clock = Date.parse("2024-05-01T00:00:00Z");
  target = await createPromotionTarget({
    env: {
      GITHUB_TOKEN: server.token,
      GITHUB_REPOSITORY: server.repository,
      GITHUB_API_URL: server.apiUrl,
    },
    github: {
      // A second of GitHub's time passes in a millisecond here; writes are not spaced.
      retry: {
        unitMs: 1,
        writeIntervalMs: 0,
        notifyIntervalMs: 0,
        onWait: (seconds) => void delays.push(seconds),
      },
    },
    now: () => {
      clock += 60_000;
      return new Date(clock);
    },
  });
  registry = target.registry;
}

afterEach(async () => {
  // The stand-in must have answered every request as GitHub's OpenAPI description says.
  expect(server.violations).toEqual([]);
  await server.close();
  await rm(work, { recursive: true, force: true });
});

function bundle(name: string) {
  return writeModelBundle(join(work, name), { commit });
}

function releaseOf(tag: string) {
  return server.releases.find((release) => release.tag_name === tag);
}

describe("GitHub registry: registering", () => {
  it("creates an annotated tag through the git database API and a release with all assets", async () => {
    await setup();
    expect(registry.backend).toBe("github");
    const fixture = await bundle("a");
    const report = join(work, "report.md");
    const plot = join(work, "residuals.svg");
    await writeFile(report, "# Evaluation\n");
    await writeFile(plot, "<svg/>");
    const version = await registry.register(fixture.dir, { assets: [report, plot] });
    expect(version).toMatchObject({
      version: "v1.0.0",
      tag: "house-price@v1.0.0",
      commit,
      created: true,
    });

    expect(await server.git(["cat-file", "-t", "refs/tags/house-price@v1.0.0"])).toBe("tag\n");
    const message = await server.git(["tag", "-l", "--format=%(contents)", "house-price@v1.0.0"]);
    expect(JSON.parse(message.slice(message.indexOf("{"))).lineage.model.sha256).toBe(
      fixture.modelSha256,
    );
    const release = releaseOf("house-price@v1.0.0");
    expect(release?.draft).toBe(false);
    expect(release?.assets.map((asset) => [asset.name, asset.state]).sort()).toEqual([
      ["manifest.json", "uploaded"],
      ["metrics.json", "uploaded"],
      ["model.bin", "uploaded"],
      ["report.md", "uploaded"],
      ["residuals.svg", "uploaded"],
    ]);
    const dest = join(work, "download", "model.bin");
    expect((await registry.downloadAsset("v1.0.0", "model.bin", dest)).sha256).toBe(
      fixture.modelSha256,
    );
    expect(await sha256File(dest)).toBe(fixture.modelSha256);
  });

  it("re-registering the same bundle creates nothing", async () => {
    await setup();
    const fixture = await bundle("a");
    await registry.register(fixture.dir);
    const writesBefore = server.requests.filter((request) => request.method !== "GET").length;
    expect(await registry.register(fixture.dir)).toMatchObject({
      version: "v1.0.0",
      created: false,
      uploaded: [],
    });
    expect(server.requests.filter((request) => request.method !== "GET").length).toBe(writesBefore);
  });

  it("finds a crashed run's draft on a later page and reuses it", async () => {
    await setup({ maxPerPage: 2 });
    const first = await bundle("first");
    const crashing = await createRegistry({
      env: {
        GITHUB_TOKEN: server.token,
        GITHUB_REPOSITORY: server.repository,
        GITHUB_API_URL: server.apiUrl,
      },
      github: { retry: { maxRetries: 0, unitMs: 1, writeIntervalMs: 0, notifyIntervalMs: 0 } },
    });
    server.addFault({
      method: "POST",
      path: /\/git\/tags$/,
      respond: { status: 400, body: { message: "runner lost" } },
    });
    await expect(crashing.register(first.dir)).rejects.toThrow(/runner lost/);
    const draftId = server.releases[0].id;
    for (const name of ["b", "c", "d", "e"]) await registry.register((await bundle(name)).dir);
    // Releases are listed newest first, two per page: the draft sits on page three.
    const version = await registry.register(first.dir);
    expect(version.version).toBe("v1.4.0");
    expect(releaseOf("house-price@v1.4.0")?.id).toBe(draftId);
    expect(server.releases.filter((release) => release.draft)).toEqual([]);
    expect((await registry.list()).map((item) => item.version)).toEqual([
      "v1.0.0",
      "v1.1.0",
      "v1.2.0",
      "v1.3.0",
      "v1.4.0",
    ]);
  });

  it("gives racing registrations distinct versions", async () => {
    await setup();
    const fixtures = await Promise.all(["a", "b", "c", "d"].map(bundle));
    const results = await Promise.all(fixtures.map((fixture) => registry.register(fixture.dir)));
    expect(new Set(results.map((result) => result.version)).size).toBe(4);
    for (const [i, result] of results.entries()) {
      expect(result.lineage?.model.sha256).toBe(fixtures[i].modelSha256);
      expect(
        releaseOf(result.tag)?.assets.find((asset) => asset.name === "model.bin")?.digest,
      ).toBe(`sha256:${fixtures[i].modelSha256}`);
    }
  });
});

describe("GitHub registry: faults", () => {
  it("retries server errors with backoff and succeeds", async () => {
    await setup();
    server.addFault({
      method: "POST",
      path: /\/git\/refs$/,
      times: 2,
      respond: { status: 502, body: { message: "Bad Gateway" } },
    });
    expect((await registry.register((await bundle("a")).dir)).version).toBe("v1.0.0");
    const refWrites = server.requests.filter(
      (request) => request.method === "POST" && request.path.endsWith("/git/refs"),
    );
    expect(refWrites.map((request) => request.status)).toEqual([502, 502, 201]);
  });

  it("gives up after a bounded number of 5xx and says so", async () => {
    await setup();
    server.addFault({
      method: "GET",
      path: /\/git\/matching-refs\//,
      times: 10,
      respond: { status: 503, body: { message: "Service Unavailable" } },
    });
    await expect(registry.list()).rejects.toThrow(
      /GitHub API GET .*matching-refs\/tags\/house-price failed with 503: Service Unavailable \(after 4 retries\)/,
    );
  });

  it("waits out primary and secondary rate limits, a minute when GitHub names no time", async () => {
    await setup();
    const matching = /\/git\/matching-refs\//;
    server.addFault({
      method: "GET",
      path: matching,
      respond: {
        status: 403,
        headers: { "retry-after": "3" },
        body: {
          message:
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        },
      },
    });
    const reset = Math.floor(Date.now() / 1000) + 2;
    server.addFault({
      method: "GET",
      path: matching,
      respond: {
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
        body: { message: "API rate limit exceeded for installation ID 1." },
      },
    });
    server.addFault({
      method: "GET",
      path: matching,
      respond: {
        status: 403,
        body: {
          message:
            "You have exceeded a secondary rate limit and have been temporarily blocked from content creation.",
        },
      },
    });
    expect(await registry.list()).toEqual([]);
    expect(delays[0]).toBe(3);
    expect(delays[1]).toBeGreaterThanOrEqual(1);
    expect(delays[1]).toBeLessThanOrEqual(4);
    expect(delays[2]).toBe(60);
  });

  it("fails, without waiting, when a rate limit lasts longer than the job should", async () => {
    await setup();
    server.addFault({
      method: "GET",
      path: /\/git\/matching-refs\//,
      respond: {
        status: 403,
        headers: { "retry-after": "7200" },
        body: { message: "You have exceeded a secondary rate limit." },
      },
    });
    await expect(registry.list()).rejects.toThrow(
      /failed with 403: You have exceeded a secondary rate limit/,
    );
    expect(delays).toEqual([]);
  });

  it("recovers from an interrupted asset upload", async () => {
    await setup();
    server.addFault({
      method: "POST",
      path: /\/releases\/\d+\/assets$/,
      interruptUpload: { afterBytes: 100 },
    });
    const fixture = await bundle("a");
    const version = await registry.register(fixture.dir);
    expect(server.requests.some((request) => request.status === 0)).toBe(true);
    const model = releaseOf(version.tag)?.assets.filter((asset) => asset.name === "model.bin");
    expect(model?.map((asset) => [asset.state, asset.digest])).toEqual([
      ["uploaded", `sha256:${fixture.modelSha256}`],
    ]);
    expect((await registry.show(version.version)).release.state).toBe("published");
  });

  it("takes the next version when another run creates the tag first", async () => {
    await setup();
    server.addFault({
      method: "POST",
      path: /\/git\/refs$/,
      // Another run (plain GTO, no lineage) wins v1.0.0 just before our ref lands.
      before: async () => {
        await server.git([
          "tag",
          "-a",
          "-m",
          "Registering artifact house-price version v1.0.0",
          "house-price@v1.0.0",
          commit,
        ]);
      },
    });
    const version = await registry.register((await bundle("a")).dir);
    expect(version.version).toBe("v1.1.0");
    expect(releaseOf("house-price@v1.1.0")?.draft).toBe(false);
    expect((await registry.show("v1.0.0")).release.state).toBe("missing");
    expect((await registry.list()).map((item) => [item.version, item.lineage === null])).toEqual([
      ["v1.0.0", true],
      ["v1.1.0", false],
    ]);
  });

  it("reports a release without its model asset and completes it on re-register", async () => {
    await setup();
    const fixture = await bundle("a");
    await registry.register(fixture.dir);
    const release = releaseOf("house-price@v1.0.0");
    release?.assets.splice(
      release.assets.findIndex((asset) => asset.name === "model.bin"),
      1,
    );
    expect((await registry.show("v1.0.0")).release).toMatchObject({
      state: "incomplete",
      missingAssets: ["model.bin"],
    });
    await expect(
      registry.downloadAsset("v1.0.0", "model.bin", join(work, "dl", "model.bin")),
    ).rejects.toThrow(
      /has no model\.bin asset \(it has: manifest\.json, metrics\.json\): the release is incomplete/,
    );
    expect(await registry.register(fixture.dir)).toMatchObject({
      created: false,
      uploaded: ["model.bin"],
    });
    expect((await registry.show("v1.0.0")).release.state).toBe("published");
  });

  it("refuses a corrupted model asset on download", async () => {
    await setup();
    await registry.register((await bundle("a")).dir);
    await server.corruptAsset("house-price@v1.0.0", "model.bin");
    const dest = join(work, "dl", "model.bin");
    await expect(registry.downloadAsset("v1.0.0", "model.bin", dest)).rejects.toThrow(
      /sha256 mismatch/,
    );
    await expect(stat(dest)).rejects.toThrow(/ENOENT/);
  });

  it("never puts the token in an error message", async () => {
    await setup();
    // One request and its four retries.
    server.addFault({
      method: "GET",
      path: /\/git\/matching-refs\//,
      times: 5,
      echoAuthorization: true,
    });
    const error = await registry.list().then(
      () => new Error("expected a failure"),
      (caught: Error) => caught,
    );
    expect(error.message).toContain('upstream rejected credentials "token ***"');
    for (const text of [error.message, String(error.stack), JSON.stringify(error), String(error)]) {
      expect(text).not.toContain(server.token);
    }
    const wrongToken = `ghs_${"x".repeat(36)}`;
    const stranger = await createRegistry({
      env: {
        GITHUB_TOKEN: wrongToken,
        GITHUB_REPOSITORY: server.repository,
        GITHUB_API_URL: server.apiUrl,
      },
      github: { retry: { unitMs: 1, writeIntervalMs: 0, notifyIntervalMs: 0 } },
    });
    await expect(stranger.list()).rejects.toThrow(/failed with 401: Bad credentials/);
    await stranger
      .list()
      .catch((caught: Error) =>
        expect(`${caught.message}${caught.stack}`).not.toContain(wrongToken),
      );
  });

  it("picks the backend from the environment and names what is missing", async () => {
    await setup();
    expect(chooseBackend({ env: { GITHUB_TOKEN: "t", GITHUB_REPOSITORY: "o/r" } })).toBe("github");
    expect(chooseBackend({ env: { GITHUB_REPOSITORY: "o/r" } })).toBe("local");
    expect(
      chooseBackend({ env: { GITHUB_TOKEN: "t", GITHUB_REPOSITORY: "o/r" }, backend: "local" }),
    ).toBe("local");
    await expect(
      createRegistry({ backend: "github", env: { GITHUB_REPOSITORY: "o/r" } }),
    ).rejects.toThrow(
      "the GitHub registry backend needs GITHUB_TOKEN; set them or use the local backend",
    );
  });
});

describe("GitHub registry: stages and promotion pull requests", () => {
  it("opens one promotion PR with a marked comment, updates both on rerun, and rolls back", async () => {
    await setup();
    const v1 = (await registry.register((await bundle("a")).dir)).version;
    const v2 = (await registry.register((await bundle("b")).dir)).version;

    const first = await preparePromotion(target, { version: v1, report: "# Report v1\n" });
    expect(first).toMatchObject({
      branch: "promote/house-price-v1.0.0",
      base: "main",
      changed: true,
      pullRequest: { created: true },
      comment: { created: true },
    });
    const rerun = await preparePromotion(target, {
      version: v1,
      report: "# Report v1, second run\n",
    });
    expect(rerun).toMatchObject({
      changed: false,
      pullRequest: { number: first.pullRequest?.number, created: false },
      comment: { id: first.comment?.id, created: false },
    });
    expect(server.pulls).toHaveLength(1);
    expect(server.pulls[0].body).toBe("# Report v1, second run\n");
    expect(server.comments).toHaveLength(1);
    expect(server.comments[0].body.startsWith("<!-- house-price-promotion -->")).toBe(true);

    // Merge as a reviewer would, then record the deployment as the workflow would.
    const merge = await fetch(
      `${server.apiUrl}/repos/${server.repository}/pulls/${first.pullRequest?.number}/merge`,
      {
        method: "PUT",
        headers: { authorization: `token ${server.token}`, "content-type": "application/json" },
        body: "{}",
      },
    );
    expect(merge.status).toBe(200);
    expect(JSON.parse(await server.git(["show", "main:deploy/production.json"])).version).toBe(v1);
    await registry.assign(v1, "production");

    const second = await preparePromotion(target, { version: v2, report: "# Report v2\n" });
    expect(second.from).toBe(v1);
    await fetch(
      `${server.apiUrl}/repos/${server.repository}/pulls/${second.pullRequest?.number}/merge`,
      {
        method: "PUT",
        headers: { authorization: `token ${server.token}` },
      },
    );
    await registry.assign(v2, "production");
    expect((await registry.stageVersion("production"))?.version.version).toBe(v2);

    const rollback = await prepareRollback(target);
    expect(rollback).toMatchObject({
      kind: "rollback",
      branch: "rollback/house-price-v1.0.0",
      from: v2,
      pullRequest: { created: true },
    });
    const pointer = JSON.parse(
      await server.git(["show", "rollback/house-price-v1.0.0:deploy/production.json"]),
    );
    expect(pointer).toMatchObject({ version: v1, tag: "house-price@v1.0.0", asset: "model.bin" });
    expect(server.comments.at(-1)?.body.startsWith("<!-- house-price-rollback -->")).toBe(true);
    const tags = (await server.git(["tag", "--list", "house-price#production*"]))
      .split("\n")
      .filter(Boolean);
    expect(tags.length).toBe(3);
  });
});

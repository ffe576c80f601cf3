// registry-site.yml runs for real with act, jobs on this machine, started as GitHub would start it:
// a dispatch through the local GitHub's API, then the run its trigger model starts (with a
// GITHUB_TOKEN of the workflow's own permissions). The registry is the local GitHub holding two
// versions registered through the GitHub backend; the Pages actions are the project's act-only
// stand-ins (tools/act-actions/actions/), and the deploy-pages stand-in publishes into a local
// folder with a manifest of the files, which this test checks, then opens in Chromium under the
// sub-path GitHub Pages would serve it at.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistry } from "../../lib/registry/create-registry.ts";
import { runGit } from "../../lib/registry/git.ts";
import { serveSite } from "../../lib/registry/site/serve.ts";
import { type LocalGitHub, startLocalGitHub } from "../../tools/local-github/server.ts";
import {
  type CompletedRun,
  jobsOf,
  pendingRuns,
  runPending,
} from "../../tools/local-session/runner.ts";
import { CHROMIUM, launchChromium, watchErrors } from "../support/browser.ts";
import { writeModelBundle } from "../support/model-bundle.ts";
import { syntheticEvaluation } from "../support/synthetic-registry.ts";
import { cloneWorkingTree, requiredGoTool } from "./act-harness.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const ACT = await requiredGoTool(
  "act",
  "go install github.com/nektos/act@v0.2.87",
  "registry-site.yml with act",
);

/** The build job installs the dependencies before it builds the site. */
const RUN_TIMEOUT_MS = 15 * 60_000;

interface Manifest {
  repository: string;
  runId: string;
  pageUrl: string;
  artifact: { name: string };
  files: { path: string; bytes: number; sha256: string }[];
}

describe("the Pages stand-ins", () => {
  it("install the @actions/artifact version the project locks", async () => {
    const locked = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8")).packages[
      "node_modules/@actions/artifact"
    ].version;
    const deploy = await readFile(
      join(REPO, "tools", "act-actions", "actions", "deploy-pages", "main.ts"),
      "utf8",
    );
    expect(deploy).toContain(`"@actions/artifact@${locked}"`);
  });
});

describe.skipIf(!ACT)("registry-site.yml with act", () => {
  let root: string;
  let pagesDir: string;
  let hub: LocalGitHub;
  let site: CompletedRun;
  let siteRequests: { method: string; path: string; status: number }[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "registry-site-e2e-"));
    pagesDir = join(root, "pages");
    const clone = join(root, "repo");
    const commit = await cloneWorkingTree(REPO, clone);
    hub = await startLocalGitHub();
    await runGit(clone, ["push", "-q", hub.gitDir, "HEAD:refs/heads/main"]);

    // Two versions through the GitHub backend: the first in production, the second in staging.
    const registry = await createRegistry({
      backend: "github",
      github: {
        token: hub.token,
        repository: hub.repository,
        apiUrl: hub.apiUrl,
        retry: { writeIntervalMs: 0, notifyIntervalMs: 0 },
      },
    });
    const first = await writeModelBundle(join(root, "bundle-1"), {
      commit,
      validationRmse: 51_000,
    });
    const second = await writeModelBundle(join(root, "bundle-2"), {
      commit,
      validationRmse: 50_000,
    });
    await registry.register(first.dir, { evaluation: syntheticEvaluation(1, 51_000, true, null) });
    await registry.assign("v1.0.0", "production");
    await registry.register(second.dir, {
      evaluation: syntheticEvaluation(2, 50_000, true, { version: "v1.0.0", rmse: 51_000 }),
    });
    await registry.assign("v1.1.0", "staging");

    const dispatch = await fetch(
      `${hub.apiUrl}/repos/${hub.repository}/actions/workflows/registry-site.yml/dispatches`,
      {
        method: "POST",
        headers: { authorization: `token ${hub.token}`, "content-type": "application/json" },
        body: JSON.stringify({ ref: "main" }),
      },
    );
    expect(dispatch.status).toBe(204);
    // The deploy-pages stand-in publishes under this folder (act hands its environment to steps).
    process.env.PAGES_STAND_IN_DIR = pagesDir;
    // act writes the event file there before anything else creates it.
    await mkdir(join(root, "runs", "artifacts"), { recursive: true });
    const requestsBefore = hub.requests.length;
    try {
      // The run the dispatch started (the setup push also started pipeline.yml, which this test
      // leaves pending).
      const hubRef = {
        apiUrl: hub.apiUrl,
        repository: hub.repository,
        gitDir: hub.gitDir,
        ownerToken: hub.token,
      };
      const dispatched = (await pendingRuns(hubRef)).filter(
        (run) =>
          run.workflow === ".github/workflows/registry-site.yml" &&
          run.event === "workflow_dispatch",
      );
      expect(dispatched).toHaveLength(1);
      site = await runPending(dispatched[0], {
        hub: hubRef,
        workDir: join(root, "runs"),
        act: ACT ?? undefined,
        timeoutMs: RUN_TIMEOUT_MS,
      });
    } finally {
      delete process.env.PAGES_STAND_IN_DIR;
    }
    siteRequests = hub.requests.slice(requestsBefore);
  }, RUN_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    await hub?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("builds the site from the registry's bulk reads and publishes it with the Pages stand-ins", async () => {
    const run = site.workflowRun;
    const results = Object.fromEntries([...run.jobs.values()].map((job) => [job.key, job.result]));
    if (site.conclusion !== "success") console.error(run.text);
    expect(results).toEqual({ build: "success", deploy: "success" });
    expect(site.conclusion).toBe("success");
    const [deploy] = jobsOf(run, "deploy");
    expect(deploy.outputs.page_url).toBe("https://octo-org.github.io/house-price/");

    // Only reads (GraphQL is a POST that reads), and none per version's release.
    const reads = siteRequests.filter((request) => !request.path.startsWith("/_local"));
    expect(reads.length).toBeGreaterThan(0);
    expect(
      reads.filter((request) => request.method !== "GET" && !request.path.endsWith("/graphql")),
    ).toEqual([]);
    expect(reads.filter((request) => request.path.includes("/releases"))).toEqual([]);
    expect(hub.violations).toEqual([]);

    // The artifact Pages deploys: artifact.tar in `github-pages`.
    expect(await readdir(join(root, "runs", "artifacts", run.runId))).toContain("github-pages");

    const published = join(pagesDir, run.runId);
    const manifest = JSON.parse(
      await readFile(join(published, "manifest.json"), "utf8"),
    ) as Manifest;
    expect(manifest).toMatchObject({
      repository: hub.repository,
      runId: run.runId,
      pageUrl: "https://octo-org.github.io/house-price/",
      artifact: { name: "github-pages" },
    });
    const paths = manifest.files.map((file) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "index.html",
        "versions/index.html",
        "versions/v1.0.0.html",
        "versions/v1.1.0.html",
        "compare.html",
        "timeline.html",
        "data/versions.json",
        "data/versions/v1.1.0.json",
        "assets/vega.min.js",
        "assets/chart-specs.json",
        "site.json",
      ]),
    );
    for (const file of manifest.files) {
      const bytes = await readFile(join(published, "site", file.path));
      expect(createHash("sha256").update(bytes).digest("hex"), file.path).toBe(file.sha256);
    }
    const built = JSON.parse(await readFile(join(published, "site", "site.json"), "utf8"));
    expect(built).toMatchObject({ name: "house-price", location: hub.repository, versions: 2 });
    const card = await readFile(join(published, "site", "versions", "v1.1.0.html"), "utf8");
    // Links point at the repository on GitHub (the workflow passes github.server_url/repository).
    expect(card).toContain(
      `href="https://github.com/${hub.repository}/releases/tag/house-price%40v1.1.0"`,
    );
  });

  it.runIf(existsSync(CHROMIUM))("serves the published site under its Pages sub-path", async () => {
    const published = join(pagesDir, site.workflowRun.runId, "site");
    const server = await serveSite(published, { basePath: "/house-price/" });
    const browser = await launchChromium();
    try {
      for (const path of ["index.html", "versions/v1.1.0.html", "timeline.html"]) {
        const page = await browser.context.newPage();
        const errors = watchErrors(page);
        await page.goto(`${server.url}${path}`);
        await page.waitForSelector("body[data-loaded='true']", { timeout: 30_000 });
        expect(
          await page.locator("figure[data-chart] svg .role-mark > *").count(),
          path,
        ).toBeGreaterThan(0);
        expect(errors, path).toEqual([]);
        await page.close();
      }
    } finally {
      await browser.close();
      await server.close();
    }
  });
});

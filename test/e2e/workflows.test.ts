// The whole story on a local GitHub that keeps GitHub's rules, with act running exactly the runs
// its trigger model says GitHub would start (never an event the test chooses):
//   a user dispatches pipeline.yml; it registers the model with its report (releases are
//   immutable here), opens the promotion PR with GITHUB_TOKEN and dispatches ci.yml, whose checks
//   report on the PR's head; the user merges; the push starts deploy.yml, which builds the image,
//   smoke-tests it and assigns production; a container already running in registry mode swaps to
//   the new model under load; a rollback PR swaps it back; an image that cannot serve a model fails
//   the deploy and production stays. The repository holds 2,000 other tags of the model all along.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../lib/io/ports.ts";
import { createPromotionTarget } from "../../lib/registry/create-registry.ts";
import { runGit } from "../../lib/registry/git.ts";
import type { PromotionTarget } from "../../lib/registry/proposal.ts";
import { buildFeatureSchema, SAMPLE_RECORD } from "../../lib/schema/features.ts";
import { preparePromotion, prepareRollback } from "../../stages/5-promote/promote.ts";
import { runEngine } from "../../tools/container/engine.ts";
import {
  buildServiceImage,
  type RunningContainer,
  runServiceContainer,
} from "../../tools/container/service-image.ts";
import { engineForTests } from "../../tools/container/test-tools.ts";
import { type LocalGitHub, startLocalGitHub } from "../../tools/local-github/server.ts";
import {
  type CompletedRun,
  jobsOf,
  type LocalHub,
  runPendingRuns,
} from "../../tools/local-session/runner.ts";
import { makeTestBundle } from "../support/bundle.ts";
import { REAL_HOUSING_CSV } from "../support/housing.ts";
import { archiveTags, importTags } from "../support/synthetic-registry.ts";
import { cloneWorkingTree, requiredGoTool } from "./act-harness.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const ACT = await requiredGoTool("act", "go install github.com/nektos/act@v0.2.87", "the story");
const ENGINE = await engineForTests("the story");
if (!REAL_HOUSING_CSV) {
  const reason = "the real dataset ../shared/data/housing.csv is absent";
  if (process.env.CI === "true") throw new Error(`the story: ${reason}, and CI=true`);
  console.warn(`the story: skipped, ${reason}`);
}

/** Bounds of the story's steps: each act run installs, trains or builds an image. */
const RUN_TIMEOUT_MS = 20 * 60_000;
const STEP_TIMEOUT_MS = RUN_TIMEOUT_MS + 120_000;
/** How often the running container asks the registry; a swap must come within it plus 2 s. */
const POLL_MS = 2000;
const TREES = "20";
const OTHER_TAGS = 2000;

describe.skipIf(!ACT || !ENGINE || !REAL_HOUSING_CSV)("the story, with act and a container", () => {
  let root: string;
  let hub: LocalGitHub;
  let local: LocalHub;
  let owner: PromotionTarget;
  let container: RunningContainer;
  let v1: string;
  let v2: string;
  const ran: CompletedRun[] = [];
  const image = `localhost/house-price-prediction:story-${process.pid}`;
  const cacheVolume = `house-price-story-${process.pid}`;

  /** Runs with act whatever GitHub would start now, and expects each to end as `conclusions`. */
  async function runWhatGitHubStarts(conclusions: Record<string, string>) {
    const completed = await runPendingRuns({
      hub: local,
      workDir: join(root, "runs"),
      data: REAL_HOUSING_CSV ?? undefined,
      act: ACT ?? undefined,
      timeoutMs: RUN_TIMEOUT_MS,
    });
    ran.push(...completed);
    const seen = completed.map((done) => [
      `${done.run.workflow} (${done.run.event})`,
      done.conclusion,
    ]);
    if (JSON.stringify(seen) !== JSON.stringify(Object.entries(conclusions))) {
      for (const done of completed) console.error(done.workflowRun.text);
    }
    // Exactly these runs, in this order: one left over from an earlier step would show here.
    expect(seen).toEqual(Object.entries(conclusions));
    return completed;
  }

  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${hub.apiUrl}/repos/${hub.repository}${path}`, {
      method,
      headers: { authorization: `token ${hub.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
    return (await response.json().catch(() => null)) as T;
  }

  async function served(): Promise<string | null> {
    const response = await fetch(`${container.url}/model`).catch(() => null);
    if (response?.status !== 200) return null;
    return ((await response.json()) as { version: string }).version;
  }

  async function waitForServed(version: string, timeoutMs: number): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      if ((await served()) === version) return Date.now();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the container did not serve ${version} within ${timeoutMs} ms`);
  }

  /** When the load first got an answer from `version` (the swap), waiting for one if need be: the
   * runs that follow a deploy (registry-site.yml) may finish after the swap. */
  async function servedSince(
    answers: { at: number; version: string }[],
    version: string,
    timeoutMs: number,
  ): Promise<number> {
    return (
      answers.find((answer) => answer.version === version)?.at ?? waitForServed(version, timeoutMs)
    );
  }

  /** /predict as fast as one client can, recording every answer's version and every failure. */
  function startLoad() {
    const answers: { at: number; version: string }[] = [];
    const failures: string[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          const response = await fetch(`${container.url}/predict`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(SAMPLE_RECORD),
          });
          const body = (await response.json()) as { model_version?: string };
          if (response.status !== 200 || !body.model_version)
            failures.push(`${response.status} ${JSON.stringify(body)}`);
          else answers.push({ at: Date.now(), version: body.model_version });
        } catch (error) {
          failures.push((error as Error).message);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    return {
      answers,
      failures,
      async stop() {
        running = false;
        await loop;
      },
    };
  }

  /** When production was last assigned to `version`, by its tag's date. */
  async function assignedAt(version: string): Promise<number> {
    const history = await owner.registry.history("production");
    const event = history
      .filter((item) => item.kind === "assignment" && item.version === version)
      .at(-1);
    if (!event) throw new Error(`production was never assigned to ${version}`);
    return Date.parse(event.at);
  }

  async function mergeAsUser(number: number): Promise<void> {
    await api("PUT", `/pulls/${number}/merge`, { merge_method: "merge" });
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "story-"));
    // As GitHub sets up a repository for this project (README "Set up on GitHub"): pull requests
    // by GitHub Actions allowed, immutable releases on.
    hub = await startLocalGitHub({
      settings: { actionsCanCreatePullRequests: true, immutableReleases: true },
    });
    local = {
      apiUrl: hub.apiUrl,
      repository: hub.repository,
      gitDir: hub.gitDir,
      ownerToken: hub.token,
    };
    const clone = join(root, "repo");
    await cloneWorkingTree(REPO, clone);
    await runGit(clone, ["push", "-q", hub.gitDir, "HEAD:refs/heads/main"]);
    const main = (await runGit(clone, ["rev-parse", "HEAD"])).trim();
    // 2,000 other tags of the model (an old stage's assignments), as years of use leave them.
    await importTags(hub.gitDir, archiveTags(OTHER_TAGS, main));
    // The setup pushes start runs on GitHub too (pipeline.yml on the push of main): the story
    // begins after them, so they are reported cancelled rather than run. A completed pipeline
    // run, cancelled too, starts registry-site.yml (workflow_run): cancelled in its turn.
    for (let pending = await hub.pendingRuns(); pending.length; pending = await hub.pendingRuns()) {
      for (const run of pending) {
        await hub.updateRun(run.id, { status: "in_progress" });
        await hub.updateRun(run.id, { status: "completed", conclusion: "cancelled" });
      }
    }

    owner = await createPromotionTarget({
      env: {
        GITHUB_TOKEN: hub.token,
        GITHUB_REPOSITORY: hub.repository,
        GITHUB_API_URL: hub.apiUrl,
      },
      github: { retry: { writeIntervalMs: 0, notifyIntervalMs: 0 } },
    });
    // v1: in production before the story starts.
    const v1Dir = join(root, "v1");
    await makeTestBundle(v1Dir, { seed: 1, commit: main, trees: 10, rows: 600 });
    v1 = (await owner.registry.register(v1Dir)).version;
    await owner.registry.assign(v1, "production");

    // The service as it runs in production: the image, in registry mode, with a read-only token.
    await buildServiceImage(ENGINE as NonNullable<typeof ENGINE>, { tag: image });
    const readToken = await hub.mintToken({ kind: "app", permissions: { contents: "read" } });
    const tokenFile = join(root, "registry-token");
    await writeFile(tokenFile, `${readToken}\n`, { mode: 0o644 });
    container = await runServiceContainer(ENGINE as NonNullable<typeof ENGINE>, image, {
      port: await freePort(),
      env: {
        MODEL_SOURCE: "registry",
        REGISTRY_REPOSITORY: hub.repository,
        GITHUB_API_URL: hub.apiUrl,
        REGISTRY_TOKEN_FILE: "/run/secrets/registry-token",
        MODEL_CACHE_DIR: "/cache",
        REGISTRY_POLL_MS: String(POLL_MS),
        REGISTRY_POLL_JITTER: "0",
      },
      volumes: [`${tokenFile}:/run/secrets/registry-token:ro`, `${cacheVolume}:/cache`],
    });
    await waitForServed(v1, 60_000);
  }, 15 * 60_000);

  afterAll(async () => {
    await container?.stop();
    if (ENGINE) {
      await runEngine(ENGINE, ["volume", "rm", "--force", cacheVolume]).catch(() => undefined);
      await runEngine(ENGINE, ["rmi", "--force", image]).catch(() => undefined);
    }
    await hub?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it(
    "a dispatch with a threshold the model cannot meet: evaluate fails with the reason, the version is registered, no staging, no PR",
    async () => {
      await api("POST", "/actions/workflows/pipeline.yml/dispatches", {
        ref: "main",
        inputs: { trees: TREES, threshold: "1000" },
      });
      const [failing] = await runWhatGitHubStarts({
        ".github/workflows/pipeline.yml (workflow_dispatch)": "failure",
        // Every completed pipeline or deploy run starts registry-site.yml (workflow_run).
        ".github/workflows/registry-site.yml (workflow_run)": "success",
      });
      const [evaluate] = jobsOf(failing.workflowRun, "evaluate");
      expect(evaluate.messages.join("\n")).toMatch(
        /house-price v1\.1\.0 did not pass the evaluation gate: .*candidate RMSE \d+ > threshold 1000/,
      );
      expect(evaluate.outputs.passed).toBe("false");
      expect(await owner.registry.stageVersion("staging")).toBeNull();
      expect(hub.pulls).toEqual([]);
      expect(hub.violations).toEqual([]);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "a dispatch that passes, in 2 shards: the version's immutable release holds its report, the PR opens, and ci.yml's checks report on its head",
    async () => {
      await api("POST", "/actions/workflows/pipeline.yml/dispatches", {
        ref: "main",
        inputs: { trees: TREES, shards: "2" },
      });
      const [pipeline, ci] = await runWhatGitHubStarts({
        ".github/workflows/pipeline.yml (workflow_dispatch)": "success",
        // Dispatched by promote with GITHUB_TOKEN: the PR it opened started nothing.
        ".github/workflows/ci.yml (workflow_dispatch)": "success",
        // Every completed pipeline or deploy run starts registry-site.yml (workflow_run).
        ".github/workflows/registry-site.yml (workflow_run)": "success",
      });
      const [evaluate] = jobsOf(pipeline.workflowRun, "evaluate");
      // The same data, params and seeds as the failed run: the same model, the same version.
      v2 = evaluate.outputs.version;
      expect(v2).toBe("v1.1.0");
      expect(evaluate.outputs.created).toBe("false");
      const release = hub.releases.find((item) => item.tag_name === `house-price@${v2}`);
      expect(release?.draft).toBe(false);
      expect(release?.assets.map((asset) => asset.name)).toEqual(
        expect.arrayContaining(["model.bin", "manifest.json", "metrics.json", "report.md"]),
      );
      const [promote] = jobsOf(pipeline.workflowRun, "promote");
      const pull = hub.pulls.find((item) => item.number === Number(promote.outputs["pr-number"]));
      expect(pull?.state).toBe("open");
      expect(pull?.body).toContain(`## Evaluation of house-price ${v2}: PASSED`);
      expect(promote.outputs.dispatched).toBe("ci.yml");
      // ci.yml ran on the promotion branch's head: its check runs are that commit's.
      const head = (await runGit(hub.gitDir, ["rev-parse", `refs/heads/${pull?.head}`])).trim();
      expect(ci.run.sha).toBe(head);
      const checks = await api<{ check_runs: { name: string; conclusion: string }[] }>(
        "GET",
        `/commits/${ci.run.sha}/check-runs`,
      );
      expect(checks.check_runs.map((check) => [check.name, check.conclusion])).toContainEqual([
        "pointer",
        "success",
      ]);
      expect(hub.violations).toEqual([]);
    },
    STEP_TIMEOUT_MS,
  );

  /**
   * Merges pull request `number` as a user under a /predict load: deploy.yml runs (and the site
   * after it), production moves to `version`, and the container swaps to it with no failed
   * request. Returns the deploy run.
   */
  async function mergeUnderLoad(number: number, version: string) {
    const load = startLoad();
    let deploy: CompletedRun;
    try {
      await mergeAsUser(number);
      [deploy] = await runWhatGitHubStarts({
        ".github/workflows/deploy.yml (push)": "success",
        // Every completed pipeline or deploy run starts registry-site.yml (workflow_run).
        ".github/workflows/registry-site.yml (workflow_run)": "success",
      });
      expect((await owner.registry.stageVersion("production"))?.version.version).toBe(version);
      const swapped = await servedSince(load.answers, version, POLL_MS + 30_000);
      // The container follows production: it swaps after the assignment, never before. How
      // soon after is a benchmark's question (npm run bench -- deploy), not a test's.
      expect(swapped).toBeGreaterThanOrEqual(await assignedAt(version));
    } finally {
      await load.stop();
    }
    expect(load.failures).toEqual([]);
    expect(new Set(load.answers.map((answer) => answer.version))).toEqual(new Set([v1, v2]));
    return deploy;
  }

  it(
    "merging the PR starts deploy.yml: the image is built and smoke-tested, production moves, and the running container swaps under load",
    async () => {
      const pull = hub.pulls.find((item) => item.state === "open");
      const deploy = await mergeUnderLoad(pull?.number as number, v2);
      expect(jobsOf(deploy.workflowRun, "deploy")[0].outputs.version).toBe(v2);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "a rollback PR (its ci check on the PR) merged: production and the container go back to v1",
    async () => {
      const rollback = await prepareRollback(owner, {});
      expect(rollback.pointer.version).toBe(v1);
      await runWhatGitHubStarts({ ".github/workflows/ci.yml (pull_request)": "success" });
      await mergeUnderLoad(rollback.pullRequest?.number as number, v1);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "an image that cannot serve the promoted model fails deploy.yml at its smoke test: production stays, the container keeps v1",
    async () => {
      const main = (await runGit(hub.gitDir, ["rev-parse", "main"])).trim();
      const dir = join(root, "future");
      const schema = buildFeatureSchema({ total_bedrooms: 435 });
      await makeTestBundle(dir, {
        seed: 9,
        commit: main,
        trees: 5,
        rows: 300,
        schema: { ...schema, schemaVersion: 99 },
      });
      const future = (await owner.registry.register(dir)).version;
      const proposal = await preparePromotion(owner, { version: future, report: "## future\n" });
      await runWhatGitHubStarts({ ".github/workflows/ci.yml (pull_request)": "success" });
      await mergeAsUser(proposal.pullRequest?.number as number);
      const [deploy] = await runWhatGitHubStarts({
        ".github/workflows/deploy.yml (push)": "failure",
        // Every completed pipeline or deploy run starts registry-site.yml (workflow_run).
        ".github/workflows/registry-site.yml (workflow_run)": "success",
      });
      expect(deploy.workflowRun.text).toMatch(/schemaVersion 99 is not served/);
      expect((await owner.registry.stageVersion("production"))?.version.version).toBe(v1);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS * 2));
      expect(await served()).toBe(v1);
    },
    STEP_TIMEOUT_MS,
  );

  it("reads the 2,000-tag registry with a bounded number of requests per run", async () => {
    const pipelineRuns = ran.filter((done) => done.run.workflow.endsWith("pipeline.yml"));
    expect(pipelineRuns.length).toBeGreaterThan(0);
    const listings = hub.requests.filter((request) => request.path.includes("/graphql"));
    // Each job that reads the registry lists its tags once in full (tag objects a hundred per
    // GraphQL request) and then only asks what changed.
    expect(listings.length).toBeLessThan(ran.length * 3 * (OTHER_TAGS / 100 + 5));
  });
});

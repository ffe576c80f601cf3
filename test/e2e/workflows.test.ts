// pipeline.yml and deploy.yml run for real with act, jobs on this machine: a temp clone of the
// working tree, the GitHub REST stand-in holding its commits as the registry, act's artifact
// server between the jobs, and the prediction service watching where deploy.yml puts the model.
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findGoTool } from "../../.github/act.ts";
import {
  predictOnce,
  type RunningService,
  startService,
} from "../../.github/scripts/smoke-test.ts";
import { runGit } from "../../lib/registry/git.ts";
import { type GitHubStandIn, startGitHubStandIn } from "../support/github-server.ts";
import { REAL_HOUSING_CSV } from "../support/housing.ts";
import { cloneWorkingTree, jobsOf, runWorkflow, type WorkflowRun } from "./act-harness.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const ACT = await findGoTool("act");
const skipReason = !ACT
  ? "act is not installed (go install github.com/nektos/act@v0.2.87)"
  : !REAL_HOUSING_CSV
    ? "the real dataset ../shared/data/housing.csv is absent"
    : null;
if (skipReason) console.warn(`workflows end to end: skipped, ${skipReason}`);

/** One act run may take this long; each job installs the dependencies before its stage. */
const RUN_TIMEOUT_MS = 15 * 60_000;
const TEST_TIMEOUT_MS = RUN_TIMEOUT_MS + 60_000;
/** Few trees keep the runs short; the same seeds make every run's forest identical. */
const TREES = "20";

describe.skipIf(skipReason !== null)("workflows end to end with act", () => {
  let root: string;
  let clone: string;
  let artifactDir: string;
  let modelsDir: string;
  let standIn: GitHubStandIn;
  let service: RunningService | undefined;
  let passing: WorkflowRun;

  const tags = async () =>
    (await standIn.git(["tag", "-l"])).split("\n").filter((tag) => tag.trim() !== "");

  function run(workflow: string, options: { inputs?: Record<string, string>; event?: "push" }) {
    return runWorkflow(
      {
        workflow,
        event: options.event ?? "workflow_dispatch",
        inputs: options.inputs,
        repoDir: clone,
        artifactDir,
        actionCacheDir: join(root, "act-cache"),
        act: ACT ?? undefined,
        github: { apiUrl: standIn.apiUrl, repository: standIn.repository, token: standIn.token },
        data: REAL_HOUSING_CSV ?? undefined,
        vars: { MODELS_DIR: modelsDir },
      },
      RUN_TIMEOUT_MS,
    );
  }

  /** Fails with the run's log when a job did not end as expected. */
  function expectJobs(run: WorkflowRun, expected: Record<string, string>) {
    const results = Object.fromEntries([...run.jobs.values()].map((job) => [job.key, job.result]));
    if (JSON.stringify(results) !== JSON.stringify(expected)) console.error(run.text);
    expect(results).toEqual(expected);
  }

  async function artifactsOf(run: WorkflowRun): Promise<Record<string, number>> {
    const sizes: Record<string, number> = {};
    const { readdir } = await import("node:fs/promises");
    for (const name of await readdir(join(artifactDir, run.runId))) {
      sizes[name] = (await stat(join(artifactDir, run.runId, name, `${name}.zip`))).size;
    }
    return sizes;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "workflows-e2e-"));
    clone = join(root, "repo");
    artifactDir = join(root, "artifacts");
    modelsDir = join(root, "models");
    await mkdir(artifactDir);
    await mkdir(modelsDir);
    await cloneWorkingTree(REPO, clone);
    standIn = await startGitHubStandIn();
    await runGit(clone, ["push", "-q", standIn.gitDir, "HEAD:refs/heads/main"]);
  });

  afterAll(async () => {
    await service?.stop();
    await standIn?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it(
    "pipeline.yml: a threshold the model cannot meet fails evaluate with the reason; no staging, no PR",
    async () => {
      const failing = await run("pipeline", { inputs: { trees: TREES, threshold: "1000" } });
      expect(failing.exitCode).not.toBe(0);
      expectJobs(failing, {
        ingest: "success",
        features: "success",
        'train {"shard":0}': "success",
        evaluate: "failure",
      });
      const [evaluate] = jobsOf(failing, "evaluate");
      expect(evaluate.messages.join("\n")).toMatch(
        /house-price v1\.0\.0 did not pass the evaluation gate: .*candidate RMSE \d+ > threshold 1000/,
      );
      expect(evaluate.outputs.passed).toBe("false");
      expect(await tags()).toEqual(["house-price@v1.0.0"]);
      expect(standIn.pulls).toEqual([]);
      expect(standIn.violations).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "pipeline.yml: registers, stages and opens the promotion PR, handing artifacts from job to job",
    async () => {
      passing = await run("pipeline", { inputs: { trees: TREES } });
      expectJobs(passing, {
        ingest: "success",
        features: "success",
        'train {"shard":0}': "success",
        evaluate: "success",
        promote: "success",
      });
      expect(passing.exitCode).toBe(0);

      // Every job's output went through act's artifact server.
      const artifacts = await artifactsOf(passing);
      expect(Object.keys(artifacts).sort()).toEqual(["evaluation", "features", "ingest", "model"]);
      for (const size of Object.values(artifacts)) expect(size).toBeGreaterThan(0);

      // The same data, params and seeds as the failed run: the same model, so the same version
      // (evaluate registers the trained bundle; the release was complete when first published).
      const [train] = jobsOf(passing, "train");
      expect(jobsOf(passing, "evaluate")[0].outputs.version).toBe("v1.0.0");
      expect(jobsOf(passing, "evaluate")[0].outputs.created).toBe("false");
      expect(train.outputs["model-sha256"]).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.parse(train.outputs.metrics).validation.rmse).toBeGreaterThan(0);

      const release = standIn.releases.find((item) => item.tag_name === "house-price@v1.0.0");
      expect(release?.draft).toBe(false);
      const assets = release?.assets.map((asset) => asset.name) ?? [];
      expect(assets).toEqual(
        expect.arrayContaining(["model.bin", "manifest.json", "metrics.json", "report.md"]),
      );
      expect(release?.assets.every((asset) => asset.state === "uploaded")).toBe(true);

      const [evaluate] = jobsOf(passing, "evaluate");
      expect(evaluate.outputs.passed).toBe("true");
      expect(evaluate.outputs["staging-tag"]).toMatch(/^house-price#staging#\d+$/);
      expect(await tags()).toContain(evaluate.outputs["staging-tag"]);

      const [promote] = jobsOf(passing, "promote");
      const pull = standIn.pulls.find(
        (item) => item.number === Number(promote.outputs["pr-number"]),
      );
      expect(pull?.state).toBe("open");
      expect(promote.outputs["pr-url"]).toMatch(new RegExp(`/pull/${pull?.number}$`));
      expect(pull?.head).toBe("promote/house-price-v1.0.0");
      expect(pull?.body).toContain("## Evaluation of house-price v1.0.0: PASSED");
      expect(pull?.body).toContain("threshold 55000");
      expect(standIn.violations).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "pipeline.yml with 2 shards trains in a matrix and merges the same model as one job",
    async () => {
      const sharded = await run("pipeline", { inputs: { trees: TREES, shards: "2" } });
      expectJobs(sharded, {
        ingest: "success",
        features: "success",
        'train {"shard":0}': "success",
        'train {"shard":1}': "success",
        merge: "success",
        evaluate: "success",
        promote: "success",
      });
      const artifacts = await artifactsOf(sharded);
      expect(Object.keys(artifacts).sort()).toEqual([
        "evaluation",
        "features",
        "ingest",
        "model",
        "shard-0",
        "shard-1",
      ]);
      const [merge] = jobsOf(sharded, "merge");
      const [single] = jobsOf(passing, "train");
      expect(merge.outputs["model-sha256"]).toBe(single.outputs["model-sha256"]);
      expect(jobsOf(sharded, "evaluate")[0].outputs.version).toBe("v1.0.0");
      // The promotion PR is updated, not opened twice.
      expect(standIn.pulls.filter((pull) => pull.state === "open")).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "deploy.yml: merging the promotion PR deploys the model, and the running service hot-reloads it",
    async () => {
      const [promote] = jobsOf(passing, "promote");
      const number = promote.outputs["pr-number"];
      // The service already runs, watching where deploy.yml will put the model.
      service = await startService({
        modelDir: join(modelsDir, "current"),
        env: { MODEL_POLL_MS: "200" },
      });
      expect((await fetch(`${service.url}/ready`)).status).toBe(503);

      const merged = await fetch(
        `${standIn.apiUrl}/repos/${standIn.repository}/pulls/${number}/merge`,
        {
          method: "PUT",
          headers: { authorization: `Bearer ${standIn.token}`, "content-type": "application/json" },
          body: JSON.stringify({ merge_method: "merge" }),
        },
      );
      expect(merged.status).toBe(200);
      const { sha } = (await merged.json()) as { sha: string };
      await runGit(clone, ["fetch", "-q", standIn.gitDir, "main"]);
      await runGit(clone, ["merge", "-q", "--ff-only", "FETCH_HEAD"]);
      expect((await runGit(clone, ["rev-parse", "HEAD"])).trim()).toBe(sha);

      const deploy = await run("deploy", { event: "push" });
      expectJobs(deploy, { deploy: "success" });
      const [job] = jobsOf(deploy, "deploy");
      expect(job.outputs.version).toBe("v1.0.0");
      expect(job.messages.join("\n")).toMatch(/Smoke test of .*\/predict \d+ from model v1\.0\.0/);
      expect((await tags()).some((tag) => /^house-price#production#\d+$/.test(tag))).toBe(true);

      const deadline = Date.now() + 30_000;
      let answer = await predictOnce(service.url).catch(() => null);
      while (answer?.model_version !== "v1.0.0" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        answer = await predictOnce(service.url).catch(() => null);
      }
      expect(answer?.model_version).toBe("v1.0.0");
      expect(answer?.predicted_price).toBeGreaterThan(0);
      expect(standIn.violations).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

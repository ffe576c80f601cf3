// The act-only stand-ins of remote actions (tools/act-actions), mapped by the wrapper with
// --local-repository and run for real by act: actions/cache (whole, restore, save) through act's
// cache server, and an artifact uploaded twice under one name, as a re-run of a job does.
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRepositoryArgs, STAND_INS_DIR } from "../../.github/act.ts";
import { runGit } from "../../lib/registry/git.ts";
import { runWorkflow, type WorkflowRun } from "../../tools/local-session/runner.ts";
import { requiredGoTool } from "./act-harness.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const ACT = await requiredGoTool(
  "act",
  "go install github.com/nektos/act@v0.2.87",
  "act stand-ins end to end",
);

const IDENTITY = ["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"];

/** A git repository holding the stand-ins and `workflows` (name → text), committed. */
async function repoWith(dir: string, workflows: Record<string, string>): Promise<string> {
  await mkdir(join(dir, ".github", "workflows"), { recursive: true });
  await cp(join(REPO, STAND_INS_DIR), join(dir, STAND_INS_DIR), { recursive: true });
  for (const [name, text] of Object.entries(workflows)) {
    await writeFile(join(dir, ".github", "workflows", name), text);
  }
  await runGit(dir, ["init", "-q", "-b", "main"]);
  await runGit(dir, ["add", "-A"]);
  await runGit(dir, [...IDENTITY, "commit", "-q", "-m", "stand-ins under test"]);
  return dir;
}

describe("localRepositoryArgs", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "act-map-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("maps each remote action of the workflow and the composite actions to its stand-in", async () => {
    const dir = await repoWith(join(root, "mapped"), {
      "w.yml": [
        "on: workflow_dispatch",
        "jobs:",
        "  j:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - uses: actions/checkout@0123 # act skips it for the repository itself",
        "      - uses: ./.github/actions/local",
        "      - uses: actions/cache/restore@abc",
        '      - uses: "actions/cache/save@abc"',
        "",
      ].join("\n"),
    });
    await mkdir(join(dir, ".github", "actions", "local"), { recursive: true });
    await writeFile(
      join(dir, ".github", "actions", "local", "action.yml"),
      "runs:\n  using: composite\n  steps:\n    - uses: actions/setup-node@def # v7\n",
    );
    expect(await localRepositoryArgs(dir, "w")).toEqual([
      "--local-repository",
      `actions/cache@abc=${join(dir, STAND_INS_DIR, "actions", "cache")}`,
      "--local-repository",
      `actions/setup-node@def=${join(dir, STAND_INS_DIR, "actions", "setup-node")}`,
    ]);
  });

  it("names a remote action without a stand-in, and where it is used", async () => {
    const dir = await repoWith(join(root, "missing"), {
      "w.yml":
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: octo/thing@v1\n",
    });
    await expect(localRepositoryArgs(dir, "w.yml")).rejects.toThrow(
      "no act stand-in for octo/thing (.github/workflows/w.yml:6)",
    );
  });
});

/** Caches through the whole action, restore and save; uploads one artifact name twice. */
const CACHE_WORKFLOW = `name: stand-ins
on:
  workflow_dispatch:
    inputs:
      tag:
        type: string
        required: true
      outside:
        type: string
        required: true
defaults:
  run:
    shell: bash
env:
  TAG: \${{ inputs.tag }}
  OUTSIDE: \${{ inputs.outside }}
jobs:
  first:
    runs-on: ubuntu-latest
    steps:
      - name: Restore with the whole action
        id: whole
        uses: actions/cache@v0-test
        with:
          path: |
            built
            \${{ inputs.outside }}
            ../beside
          key: whole-\${{ inputs.tag }}
      - name: Build on a miss
        if: steps.whole.outputs.cache-hit != 'true'
        run: |
          mkdir -p built "$OUTSIDE" ../beside
          echo built > built/file.txt && echo outside > "$OUTSIDE/file.txt" && echo beside > ../beside/file.txt
      - name: Save with save
        uses: actions/cache/save@v0-test
        with:
          path: built
          key: saved-\${{ inputs.tag }}
      - name: Upload one artifact name twice, as a re-run does
        env:
          RUNTIME: ${join(REPO, "actions", "common", "runtime.ts")}
        run: |
          mkdir -p a1 a2 && echo first > a1/x.txt && echo second > a2/x.txt
          node --input-type=module -e 'const { uploadDir } = await import(process.env.RUNTIME); await uploadDir("twice", "a1"); await uploadDir("twice", "a2");'
      - name: Report
        env:
          HIT: \${{ steps.whole.outputs.cache-hit }}
        run: echo "whole-hit=$HIT"
  second:
    needs: first
    runs-on: ubuntu-latest
    steps:
      - name: Restore the saved files
        id: saved
        uses: actions/cache/restore@v0-test
        with:
          path: built
          key: saved-\${{ inputs.tag }}
          fail-on-cache-miss: "true"
      - name: Forget the files outside the workspace
        run: rm -rf "$OUTSIDE" built
      - name: Restore by a restore-key
        id: prefix
        uses: actions/cache/restore@v0-test
        with:
          path: |
            built
            \${{ inputs.outside }}
            ../beside
          key: missing-\${{ inputs.tag }}
          restore-keys: whole-
      - name: Check what came back
        env:
          SAVED_HIT: \${{ steps.saved.outputs.cache-hit }}
          PREFIX_HIT: \${{ steps.prefix.outputs.cache-hit }}
          PREFIX_KEY: \${{ steps.prefix.outputs.cache-matched-key }}
          RUNTIME: ${join(REPO, "actions", "common", "runtime.ts")}
        run: |
          test "$SAVED_HIT" = true
          test "$PREFIX_HIT" = false
          test "$PREFIX_KEY" = "whole-$TAG"
          test "$(cat built/file.txt)" = built
          test "$(cat "$OUTSIDE/file.txt")" = outside
          # A relative path lands beside this job's workspace, which act made anew for the job.
          test "$(cat ../beside/file.txt)" = beside
          node --input-type=module -e 'const { downloadDir } = await import(process.env.RUNTIME); await downloadDir("twice", "got");'
          test "$(cat got/x.txt)" = second
          echo "checked"
`;

/** What a job printed, line by line. */
function said(run: WorkflowRun, job: string): string[] {
  return (run.jobs.get(job)?.messages ?? []).map((message) => message.trim());
}

describe.skipIf(!ACT)("act stand-ins end to end", () => {
  let root: string;
  let repo: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "act-stand-ins-"));
    repo = await repoWith(join(root, "repo"), { "stand-ins.yml": CACHE_WORKFLOW });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  function run(tag: string) {
    return runWorkflow(
      {
        workflow: "stand-ins",
        inputs: { tag, outside: join(root, "outside") },
        repoDir: repo,
        artifactDir: join(root, "artifacts"),
        actionCacheDir: join(root, "act-cache"),
        cacheServerDir: join(root, "cache-server"),
        act: ACT ?? undefined,
      },
      5 * 60_000,
    );
  }

  it("caches through act's cache server and re-uploads an artifact name", async () => {
    await mkdir(join(root, "artifacts"), { recursive: true });
    const tag = `t${Date.now()}`;
    const first = await run(tag);
    const results = Object.fromEntries([...first.jobs.values()].map((j) => [j.key, j.result]));
    if (first.exitCode !== 0) console.error(first.text);
    expect(results).toEqual({ first: "success", second: "success" });
    expect(said(first, "first")).toContain("whole-hit=false");
    expect(said(first, "second")).toContain("checked");

    // The whole action saved at the end of the first run's job: now its key hits.
    const again = await run(tag);
    if (again.exitCode !== 0) console.error(again.text);
    expect(again.exitCode).toBe(0);
    expect(said(again, "first")).toContain("whole-hit=true");
  }, 600_000);
});

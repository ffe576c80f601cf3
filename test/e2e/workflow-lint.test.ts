// The workflows and the actions' metadata, checked statically: actionlint over every workflow
// (which also checks each `uses: ./actions/x` step's inputs against that action's action.yml and
// that its `runs.main` exists), the project's workflow conventions, and every action.yml.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { requiredGoTool } from "./act-harness.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const WORKFLOWS_DIR = join(REPO, ".github", "workflows");
const WORKFLOWS = ["pipeline.yml", "deploy.yml", "ci.yml", "registry-site.yml"];
const ACTIONLINT = await requiredGoTool(
  "actionlint",
  "go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12",
  "actionlint checks",
);

interface LintError {
  message: string;
  filepath: string;
  line: number;
  kind: string;
}

/** Runs actionlint in `dir` (a git repository) and returns its findings. */
async function actionlint(dir: string): Promise<LintError[]> {
  const { stdout } = await promisify(execFile)(ACTIONLINT as string, ["-format", "{{json .}}"], {
    cwd: dir,
  }).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
    // Exit code 1 means "found problems", with the JSON on stdout; anything else is a failure.
    if (error.code === 1 && error.stdout) return { stdout: error.stdout };
    throw new Error(`actionlint failed in ${dir}: ${error.stderr ?? String(error)}`);
  });
  return JSON.parse(stdout) as LintError[];
}

/** The steps of a workflow as the text lines that start them (`- name: ...`, `- uses: ...`). */
function stepLines(text: string): string[] {
  const lines = text.split("\n");
  const steps: string[] = [];
  for (const [index, line] of lines.entries()) {
    const steps_ = /^( *)steps:$/.exec(line);
    if (!steps_) continue;
    const indent = steps_[1].length;
    for (const next of lines.slice(index + 1)) {
      if (!next.trim() || next.trim().startsWith("#")) continue;
      const nextIndent = next.length - next.trimStart().length;
      if (nextIndent <= indent) break;
      if (next.trimStart().startsWith("- ") && nextIndent === indent + 2) steps.push(next.trim());
    }
  }
  return steps;
}

describe.skipIf(!ACTIONLINT)("actionlint", () => {
  it("finds nothing in the workflows (and the local actions they use)", async () => {
    expect(await actionlint(REPO)).toEqual([]);
  });

  it("catches an input the local action does not declare and a missing runs.main", async () => {
    const dir = await mkdtemp(join(tmpdir(), "actionlint-"));
    try {
      await promisify(execFile)("git", ["init", "-q"], { cwd: dir });
      await mkdir(join(dir, ".github", "workflows"), { recursive: true });
      await mkdir(join(dir, "actions", "train"), { recursive: true });
      await copyFile(
        join(REPO, "actions", "train", "action.yml"),
        join(dir, "actions", "train", "action.yml"),
      );
      await writeFile(
        join(dir, ".github", "workflows", "train.yml"),
        [
          "name: train",
          "on: workflow_dispatch",
          "permissions:",
          "  contents: read",
          "jobs:",
          "  train:",
          "    runs-on: ubuntu-latest",
          "    steps:",
          "      - name: Train",
          "        uses: ./actions/train",
          "        with:",
          '          tree-count: "20"',
          "",
        ].join("\n"),
      );
      const messages = (await actionlint(dir)).map((error) => error.message);
      expect(messages).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/input "tree-count" is not defined in action "House-price train"/),
          expect.stringMatching(/file "main\.ts" does not exist/),
        ]),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("workflow conventions", () => {
  it.each(WORKFLOWS)(
    "%s: read-only by default, one run at a time, steps named, actions pinned",
    async (name) => {
      const text = await readFile(join(WORKFLOWS_DIR, name), "utf8");
      expect(text).toMatch(/^permissions:\n {2}contents: read\n(?! )/m);
      expect(text).toMatch(/^concurrency:\n {2}group: /m);
      const steps = stepLines(text);
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.filter((line) => !line.startsWith("- name: "))).toEqual([]);
      const remote = [...text.matchAll(/^\s+uses: (?!\.\/)(.+)$/gm)].map((match) => match[1]);
      for (const uses of remote) {
        expect(uses).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
      }
    },
  );

  it("composite actions (.github/actions): steps named, actions pinned", async () => {
    const dir = join(REPO, ".github", "actions");
    const composites = (await readdir(dir)).filter((name) =>
      existsSync(join(dir, name, "action.yml")),
    );
    expect(composites).toContain("setup");
    for (const name of composites) {
      const text = await readFile(join(dir, name, "action.yml"), "utf8");
      expect(stepLines(text).filter((line) => !line.startsWith("- name: "))).toEqual([]);
      for (const [, uses] of text.matchAll(/^\s+uses: (?!\.\/)(.+)$/gm)) {
        expect(uses).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
      }
    }
  });

  it("pipeline.yml widens permissions only in the jobs that write tags, releases or PRs", async () => {
    const workflow = parse(await readFile(join(WORKFLOWS_DIR, "pipeline.yml"), "utf8")) as {
      permissions: Record<string, string>;
      jobs: Record<string, { permissions?: Record<string, string> }>;
    };
    expect(workflow.permissions).toEqual({ contents: "read" });
    const writers = Object.entries(workflow.jobs)
      .filter(([, job]) => job.permissions)
      .map(([name, job]) => [name, job.permissions]);
    // Registration (tag + release) and staging happen in evaluate; the PR and its checks in promote.
    expect(Object.fromEntries(writers)).toEqual({
      evaluate: { contents: "write" },
      promote: { contents: "write", "pull-requests": "write", actions: "write" },
    });
  });
});

describe("action metadata", async () => {
  const actionsDir = join(REPO, "actions");
  const names = (await readdir(actionsDir)).filter((name) =>
    existsSync(join(actionsDir, name, "action.yml")),
  );

  it("exists for every local action the workflows use", async () => {
    const used = new Set<string>();
    for (const workflow of WORKFLOWS) {
      const text = await readFile(join(WORKFLOWS_DIR, workflow), "utf8");
      for (const match of text.matchAll(/uses: \.\/actions\/([\w-]+)/g)) used.add(match[1]);
    }
    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((name) => !names.includes(name))).toEqual([]);
  });

  it.each(names)(
    "actions/%s/action.yml: node24 entry, every input and output described",
    async (name) => {
      const file = join(actionsDir, name, "action.yml");
      const action = parse(await readFile(file, "utf8")) as Record<string, unknown>;
      expect(action.name).toEqual(expect.any(String));
      expect(action.description).toEqual(expect.any(String));
      const runs = action.runs as Record<string, string>;
      expect(runs.using).toBe("node24");
      expect(existsSync(join(actionsDir, name, runs.main))).toBe(true);
      for (const section of ["inputs", "outputs"] as const) {
        const entries = Object.entries(
          (action[section] ?? {}) as Record<string, Record<string, unknown>>,
        );
        const undescribed = entries
          .filter(
            ([, spec]) => typeof spec.description !== "string" || spec.description.trim() === "",
          )
          .map(([key]) => key);
        expect(undescribed, `${section} without a description`).toEqual([]);
      }
      expect(Object.keys(action.outputs ?? {}).length).toBeGreaterThan(0);
    },
  );
});

// The README's "Run locally with act", run as a newcomer would: its commands, exactly as written
// there, one after the other as child processes in a fresh clone of the working tree. Between
// them the test calls what they print: the deployed service's URL answers /model and /predict
// with the version just deployed, and after `down` nothing of the session is left running.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SAMPLE_RECORD } from "../../lib/schema/features.ts";
import { engineForTests } from "../../tools/container/test-tools.ts";
import { REAL_HOUSING_CSV } from "../support/housing.ts";
import { cloneWorkingTree, requiredGoTool } from "./act-harness.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const SUITE = "the README's local session";
const ACT = await requiredGoTool("act", "go install github.com/nektos/act@v0.2.87", SUITE);
const ENGINE = await engineForTests(SUITE);
if (!REAL_HOUSING_CSV)
  console.warn(`${SUITE}: skipped, the real dataset ../shared/data/housing.csv is absent`);

/** Each command runs pipelines, builds images or deploys; bounded so a hang fails the test. */
const COMMAND_TIMEOUT_MS = 20 * 60_000;

/** The commands of the README's section, in order (comments left out). */
async function readmeCommands(): Promise<string[]> {
  const readme = await readFile(join(REPO, "README.md"), "utf8");
  const section = readme.split(/^## Run locally with act$/m)[1]?.split(/^## /m)[0];
  const block = section && /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md: no "## Run locally with act" section with a sh block');
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter(Boolean);
}

/** What each command of the story must show; the README must hold exactly these commands. */
const STORY: { command: string; check: (output: string) => Promise<void> }[] = [
  {
    command: "npm run act -- pipeline trees=20",
    check: async (output) => {
      expect(output).toContain("house-price v1.0.0: the gate PASSED");
      expect(output).toMatch(/promotion pull request #1: http:\/\/127\.0\.0\.1:\d+\/\S+\/pull\/1/);
      expect(output).toContain("checks: pointer: success");
    },
  },
  {
    command: "npm run act -- prs",
    check: async (output) => {
      expect(output).toMatch(/#1\s+Promote house-price v1\.0\.0 to production\s+pointer: success/);
    },
  },
  { command: "npm run act -- merge 1", check: (output) => expectServed(output, "v1.0.0") },
  {
    command: "npm run act -- status",
    check: async (output) => {
      expect(output).toMatch(/v1\.0\.0\s+\S+ \S+\s+[0-9a-f]{12}\s+staging,production/);
      expect(output).toMatch(
        /#\d+\s+deploy\.yml\s+push\s+main\s+success\s+\.local-github\/runs\/\d+-deploy\.log/,
      );
      await expectServing(serviceUrl(output), "v1.0.0");
    },
  },
  {
    command: "npm run act -- pipeline trees=30",
    check: async (output) => {
      expect(output).toContain("house-price v1.1.0: the gate PASSED");
      expect(output).toMatch(/promotion pull request #2: /);
    },
  },
  { command: "npm run act -- merge 2", check: (output) => expectServed(output, "v1.1.0") },
  {
    command: "npm run act -- rollback",
    check: async (output) => {
      expect(output).toMatch(
        /rollback of house-price to v1\.0\.0 \(production now: v1\.1\.0\): pull request #3: /,
      );
      expect(output).toContain("checks: pointer: success");
    },
  },
  { command: "npm run act -- merge 3", check: (output) => expectServed(output, "v1.0.0") },
  {
    command: "npm run act -- down",
    check: async (output) => {
      expect(output).toContain("stopped the service");
      expect(output).toContain("stopped the local GitHub");
      await expect(fetch(`${lastServiceUrl}/health`)).rejects.toThrow();
      expect(existsSync(join(clone, ".local-github", "server.json"))).toBe(false);
    },
  },
];

let root: string;
let clone: string;
let lastServiceUrl = "";

function serviceUrl(output: string): string {
  const url =
    /(http:\/\/127\.0\.0\.1:\d+) serves it|service: .* on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
  if (!url) throw new Error(`no service URL in:\n${output}`);
  lastServiceUrl = url[1] ?? url[2];
  return lastServiceUrl;
}

async function expectServing(url: string, version: string): Promise<void> {
  const model = (await (await fetch(`${url}/model`)).json()) as { version: string };
  expect(model.version).toBe(version);
  const response = await fetch(`${url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(SAMPLE_RECORD),
  });
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { model_version: string; predicted_price: number };
  expect(answer.model_version).toBe(version);
  expect(answer.predicted_price).toBeGreaterThan(0);
}

async function expectServed(output: string, version: string): Promise<void> {
  expect(output).toContain(`house-price ${version} is in production`);
  await expectServing(serviceUrl(output), version);
}

/** Runs one README line in the clone as a person's shell would; output and exit code. */
function runLine(line: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", line], {
      cwd: clone,
      env: { ...process.env, HOUSING_CSV: REAL_HOUSING_CSV ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const chunks: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding("utf8");
      stream.on("data", (text: string) => chunks.push(text));
    }
    const timer = setTimeout(() => child.kill("SIGTERM"), COMMAND_TIMEOUT_MS);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output: chunks.join("") });
    });
  });
}

describe.skipIf(!ACT || !ENGINE || !REAL_HOUSING_CSV)(SUITE, () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "act-session-"));
    clone = join(root, "house-price");
    await cloneWorkingTree(REPO, clone);
    // The clone uses this checkout's installed dependencies instead of installing its own.
    await symlink(join(REPO, "node_modules"), join(clone, "node_modules"), "dir");
  });

  afterAll(async () => {
    // Whatever a failed step left running, and the images and volume the session made.
    if (clone) await runLine("npm run -s act -- down --reset");
    if (root) await rm(root, { recursive: true, force: true });
  }, 120_000);

  it("shows exactly the story's commands", async () => {
    expect(await readmeCommands()).toEqual(STORY.map((step) => step.command));
  });

  for (const step of STORY) {
    it(
      step.command,
      async () => {
        const { code, output } = await runLine(step.command);
        if (code !== 0) console.error(output);
        expect(code, `${step.command} exited with ${code}`).toBe(0);
        await step.check(output);
      },
      COMMAND_TIMEOUT_MS + 60_000,
    );
  }
});

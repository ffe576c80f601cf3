// What every action entry shares: one error boundary, artifact hand-over between jobs, summaries.
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { ArtifactNotFoundError, DefaultArtifactClient } from "@actions/artifact";
import * as core from "@actions/core";

/** True inside a GitHub Actions job (also under act), where artifacts can be used. */
export function inActions(): boolean {
  return process.env.GITHUB_ACTIONS === "true" && Boolean(process.env.ACTIONS_RUNTIME_TOKEN);
}

/** The one error boundary of an action entry: any thrown value fails the step with its message. */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}

/** Reads an input, falling back to `fallback` when it is empty. */
export function input(name: string, fallback = ""): string {
  return core.getInput(name).trim() || fallback;
}

/** Reads a numeric input, failing with the input's name and value when it is not a number. */
export function numberInput(name: string, fallback: number): number {
  const text = core.getInput(name).trim();
  if (text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`Invalid ${name} input: "${text}" is not a number`);
  return value;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Uploads every file of `dir` as the artifact `name` (only inside Actions); returns its id. */
export async function uploadDir(name: string, dir: string): Promise<number | undefined> {
  if (!name || !inActions()) return undefined;
  const files = await filesUnder(dir);
  const client = new DefaultArtifactClient();
  // A re-run of a failed job uploads a name its first attempt may have taken, which the artifact
  // service refuses: the old artifact goes first.
  await client.deleteArtifact(name).catch((error: unknown) => {
    if (!(error instanceof ArtifactNotFoundError)) throw error;
  });
  const { id } = await client.uploadArtifact(name, files, dir, { retentionDays: 7 });
  core.info(
    `Uploaded artifact ${name} (${files.length} files: ${files.map((file) => relative(dir, file)).join(", ")})`,
  );
  return id;
}

/** Downloads the artifact `name` of this run into `dir` (only inside Actions). */
export async function downloadDir(name: string, dir: string): Promise<void> {
  if (!name || !inActions()) return;
  const client = new DefaultArtifactClient();
  const { artifact } = await client.getArtifact(name);
  await client.downloadArtifact(artifact.id, { path: dir });
  core.info(`Downloaded artifact ${name} into ${dir}`);
}

/** Writes a job summary: a heading, a key/value table and optional markdown. */
export async function writeSummary(
  title: string,
  rows: [string, string][],
  markdown = "",
): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  core.summary.addHeading(title, 2).addTable([
    [
      { data: "", header: true },
      { data: "", header: true },
    ],
    ...rows,
  ]);
  if (markdown) core.summary.addRaw(markdown, true);
  await core.summary.write();
}

/** The registry and promotion target: GitHub when a token and GITHUB_REPOSITORY are at hand, else local git. */
export async function promotionTargetFromInputs() {
  const token = core.getInput("github-token").trim();
  if (token) core.setSecret(token);
  const { createPromotionTarget } = await import("../../lib/registry/create-registry.ts");
  return createPromotionTarget({ github: { token: token || undefined } });
}

/** Param overrides from the action's inputs named like the CLI aliases (trees, max-depth, ...). */
export async function paramsFromInputs() {
  const { loadParams, PARAM_ALIASES } = await import("../../lib/params/params.ts");
  const overrides = Object.fromEntries(
    Object.keys(PARAM_ALIASES).map((alias) => [alias, core.getInput(alias).trim() || undefined]),
  );
  return loadParams(input("params-file", "params.json"), overrides);
}

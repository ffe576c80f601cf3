// What every action entry shares: one error boundary, artifact hand-over between jobs, summaries.
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { ArtifactNotFoundError, DefaultArtifactClient } from "@actions/artifact";
import * as core from "@actions/core";
import { type RunContext, runContextFromEnv } from "../../lib/cli/run-context.ts";

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

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Uploads every file of `dir` as the artifact `name` (only inside Actions); returns its id. */
export async function uploadDir(
  name: string | undefined,
  dir: string,
): Promise<number | undefined> {
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
export async function downloadDir(name: string | undefined, dir: string): Promise<void> {
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

/** Appends markdown to the job summary (when there is one). */
export async function writeMarkdownSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(markdown, true).write();
}

/** The run context of this job: its commit and run, and the registry's GitHub settings with the
 * job's token (the `github-token` input; masked in the log). */
export function actionContext(token: string | undefined): RunContext {
  const context = runContextFromEnv();
  if (token) core.setSecret(token);
  return {
    ...context,
    registry: { ...context.registry, env: { ...context.registry.env, GITHUB_TOKEN: token } },
  };
}

/** The registry and promotion target: GitHub when a token and GITHUB_REPOSITORY are at hand, else local git. */
export async function promotionTarget(context: RunContext) {
  const { createPromotionTarget } = await import("../../lib/registry/create-registry.ts");
  return createPromotionTarget(context.registry);
}

// What the act-only stand-ins of GitHub Pages' actions share (the project's own code, not the real
// actions'): inputs and outputs as the runner passes them, the Pages address of a project site,
// and @actions/artifact from the job's installed dependencies (the workflow installs them before
// these steps run; act copies an action's folder away from the workspace, so a plain import would
// not find them).
import { appendFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export function input(name: string, fallback = ""): string {
  return (process.env[`INPUT_${name.toUpperCase()}`] ?? "").trim() || fallback;
}

export async function setOutput(name: string, value: string): Promise<void> {
  await appendFile(process.env.GITHUB_OUTPUT as string, `${name}=${value}\n`);
}

/** The address GitHub Pages gives this repository's site by default (no custom domain). */
export function pagesUrl(): URL {
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? "").split("/");
  if (!owner || !repo) throw new Error("GITHUB_REPOSITORY is not owner/repo");
  const host = `${owner.toLowerCase()}.github.io`;
  return new URL(repo.toLowerCase() === host ? `https://${host}/` : `https://${host}/${repo}/`);
}

/** @actions/artifact's client, from the workspace's node_modules. */
export async function artifactClient(): Promise<{
  uploadArtifact(
    name: string,
    files: string[],
    root: string,
    options?: object,
  ): Promise<{ id?: number; size?: number }>;
  getArtifact(name: string): Promise<{ artifact: { id: number; name: string; size: number } }>;
  downloadArtifact(id: number, options: { path: string }): Promise<{ downloadPath?: string }>;
}> {
  const dir = join(
    process.env.GITHUB_WORKSPACE ?? process.cwd(),
    "node_modules",
    "@actions",
    "artifact",
  );
  const manifest = JSON.parse(
    await readFile(join(dir, "package.json"), "utf8").catch(() => {
      throw new Error(
        `${dir} is missing: install the dependencies (npm run setup) before this step`,
      );
    }),
  );
  const entry = manifest.exports?.["."]?.import ?? manifest.main;
  const { DefaultArtifactClient } = await import(pathToFileURL(join(dir, entry)).href);
  return new DefaultArtifactClient();
}

/** One error boundary: any failure fails the step with its message. */
export async function runStandIn(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    console.log(`::error::${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

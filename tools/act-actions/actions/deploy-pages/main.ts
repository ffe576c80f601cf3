// act-only stand-in for actions/deploy-pages: downloads the run's `github-pages` artifact, unpacks
// its artifact.tar into a local "published" folder and writes manifest.json listing every file
// (path, bytes, sha256). The deploy job checks nothing out, so the artifact client
// (@actions/artifact, the version the project locks) is installed once from the npm registry into
// the runner's tool cache, as the setup-node stand-in does with Node.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ARTIFACT_CLIENT = "@actions/artifact@6.2.1";

function input(name: string, fallback: string): string {
  return (process.env[`INPUT_${name.toUpperCase()}`] ?? "").trim() || fallback;
}

/** @actions/artifact from the tool cache, installed there on first use. */
async function artifactClient() {
  const prefix = join(
    process.env.RUNNER_TOOL_CACHE || tmpdir(),
    "act-stand-ins",
    ARTIFACT_CLIENT.replace(/[@/]/g, "_"),
  );
  const dir = join(prefix, "node_modules/@actions/artifact");
  const read = () => readFile(join(dir, "package.json"), "utf8");
  const text = await read().catch(async () => {
    console.log(`Installing ${ARTIFACT_CLIENT} into ${prefix} (once per tool cache)`);
    await mkdir(prefix, { recursive: true });
    await run("npm", [
      "install",
      "--prefix",
      prefix,
      "--no-save",
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
      ARTIFACT_CLIENT,
    ]);
    return read();
  });
  const manifest = JSON.parse(text);
  const { DefaultArtifactClient } = await import(
    pathToFileURL(join(dir, manifest.exports?.["."]?.import ?? manifest.main)).href
  );
  return new DefaultArtifactClient();
}

/** The address GitHub Pages gives this repository's site by default (no custom domain). */
function pagesUrl(): string {
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? "").split("/");
  if (!owner || !repo) throw new Error("GITHUB_REPOSITORY is not owner/repo");
  const host = `${owner.toLowerCase()}.github.io`;
  return repo.toLowerCase() === host ? `https://${host}/` : `https://${host}/${repo}/`;
}

try {
  const name = input("artifact_name", "github-pages");
  const client = await artifactClient();
  const { artifact } = await client.getArtifact(name).catch((error: Error) => {
    throw new Error(
      `no artifact ${name} in this run (upload the site with upload-pages-artifact first): ${error.message}`,
    );
  });
  const download = await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), "pages-download-"));
  await client.downloadArtifact(artifact.id, { path: download });
  const root = join(
    process.env.PAGES_STAND_IN_DIR || join(process.env.RUNNER_TEMP || tmpdir(), "pages"),
    process.env.GITHUB_RUN_ID ?? "run",
  );
  // Unpacked aside, then swapped in: a failed deployment leaves the published site as it was.
  await mkdir(root, { recursive: true });
  const unpacked = await mkdtemp(join(root, ".site-"));
  await run("tar", ["-xf", join(download, "artifact.tar"), "-C", unpacked]);
  const files: { path: string; bytes: number; sha256: string }[] = [];
  for (const entry of await readdir(unpacked, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const bytes = await readFile(join(entry.parentPath, entry.name));
    files.push({
      path: relative(unpacked, join(entry.parentPath, entry.name)),
      bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  await rm(join(root, "site"), { recursive: true, force: true });
  await rename(unpacked, join(root, "site"));
  const pageUrl = pagesUrl();
  const manifest = {
    repository: process.env.GITHUB_REPOSITORY,
    runId: process.env.GITHUB_RUN_ID,
    sha: process.env.GITHUB_SHA,
    artifact: { id: artifact.id, name: artifact.name, size: artifact.size },
    pageUrl,
    publishedAt: new Date().toISOString(),
    files,
  };
  await writeFile(join(root, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(download, { recursive: true, force: true });
  await appendFile(process.env.GITHUB_OUTPUT as string, `page_url=${pageUrl}\n`);
  console.log(
    `Published ${files.length} files of artifact ${name} to ${join(root, "site")} (act stand-in for ${pageUrl})`,
  );
} catch (error) {
  console.log(`::error::${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}

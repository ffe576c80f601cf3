// act-only stand-in for actions/deploy-pages: the artifact's artifact.tar unpacked into a local
// "published" folder, with manifest.json listing every file (path, bytes, sha256).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const { artifactClient, input, pagesUrl, runStandIn, setOutput } = (await import(
  pathToFileURL(
    join(
      process.env.GITHUB_WORKSPACE ?? process.cwd(),
      "tools/act-actions/actions/pages-stand-in.ts",
    ),
  ).href
)) as typeof import("../pages-stand-in.ts");

await runStandIn(async () => {
  const name = input("artifact_name", "github-pages");
  const client = await artifactClient();
  const { artifact } = await client.getArtifact(name).catch((error: Error) => {
    throw new Error(
      `no artifact ${name} in this run (upload the site with upload-pages-artifact first): ${error.message}`,
    );
  });
  const download = await mkdtemp(join(process.env.RUNNER_TEMP ?? tmpdir(), "pages-download-"));
  await client.downloadArtifact(artifact.id, { path: download });
  const archive = join(download, "artifact.tar");
  const root = join(
    process.env.PAGES_STAND_IN_DIR || join(process.env.RUNNER_TEMP ?? tmpdir(), "pages"),
    process.env.GITHUB_RUN_ID ?? "run",
  );
  // Unpacked aside, then swapped in: a failed deployment leaves the published site as it was.
  await mkdir(root, { recursive: true });
  const unpacked = await mkdtemp(join(root, ".site-"));
  await promisify(execFile)("tar", ["-xf", archive, "-C", unpacked]);
  const files = [];
  for (const entry of await readdir(unpacked, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = await readFile(path);
    files.push({
      path: relative(unpacked, path),
      bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  await rm(join(root, "site"), { recursive: true, force: true });
  await rename(unpacked, join(root, "site"));
  const pageUrl = pagesUrl().href;
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
  await setOutput("page_url", pageUrl);
  console.log(
    `Published ${files.length} files of artifact ${name} to ${join(root, "site")} (act stand-in for ${pageUrl})`,
  );
});

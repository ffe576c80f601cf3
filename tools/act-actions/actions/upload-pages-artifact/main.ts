// act-only stand-in for actions/upload-pages-artifact: `tar` of the site folder (symbolic links
// followed: Pages serves files only) uploaded as the run's artifact `github-pages` with
// @actions/artifact. The workflows run it after installing the project's dependencies, so the
// client comes from the workspace's node_modules (act runs this file from a copy of its folder,
// where a plain import would not find them).
import { execFile } from "node:child_process";
import { appendFile, mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

function input(name: string, fallback: string): string {
  return (process.env[`INPUT_${name.toUpperCase()}`] ?? "").trim() || fallback;
}

async function artifactClient() {
  const dir = join(process.env.GITHUB_WORKSPACE ?? process.cwd(), "node_modules/@actions/artifact");
  const manifest = JSON.parse(
    await readFile(join(dir, "package.json"), "utf8").catch(() => {
      throw new Error(`${dir} is missing: install the dependencies before this step`);
    }),
  );
  const { DefaultArtifactClient } = await import(
    pathToFileURL(join(dir, manifest.exports?.["."]?.import ?? manifest.main)).href
  );
  return new DefaultArtifactClient();
}

try {
  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  const site = resolve(workspace, input("path", "_site/"));
  const name = input("name", "github-pages");
  const days = Number(input("retention-days", "1"));
  const isFolder = await stat(site).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (!isFolder) throw new Error(`path ${site} is not a folder: build the site before this step`);
  if (!Number.isInteger(days) || days < 1)
    throw new Error(
      `retention-days "${input("retention-days", "")}" is not a whole number of days`,
    );
  const packed = await mkdtemp(join(process.env.RUNNER_TEMP ?? tmpdir(), "pages-"));
  const archive = join(packed, "artifact.tar");
  await promisify(execFile)("tar", [
    "--dereference",
    "--exclude=.git",
    "-cf",
    archive,
    "-C",
    site,
    ".",
  ]);
  const client = await artifactClient();
  const { id, size } = await client.uploadArtifact(name, [archive], packed, {
    retentionDays: days,
  });
  await appendFile(process.env.GITHUB_OUTPUT as string, `artifact_id=${id ?? ""}\n`);
  console.log(`Uploaded ${site} as artifact ${name} (artifact.tar, ${size ?? "?"} bytes)`);
} catch (error) {
  console.log(`::error::${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}

// act-only stand-in for actions/upload-pages-artifact: `tar` of the site folder (symbolic links
// followed, as Pages serves files only), uploaded as the artifact `github-pages`.
import { execFile } from "node:child_process";
import { mkdtemp, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const { artifactClient, input, runStandIn, setOutput } = (await import(
  pathToFileURL(
    join(
      process.env.GITHUB_WORKSPACE ?? process.cwd(),
      "tools/act-actions/actions/pages-stand-in.ts",
    ),
  ).href
)) as typeof import("../pages-stand-in.ts");

await runStandIn(async () => {
  const site = resolve(process.env.GITHUB_WORKSPACE ?? process.cwd(), input("path", "_site/"));
  const name = input("name", "github-pages");
  const days = Number(input("retention-days", "1"));
  if (
    !(await stat(site).then(
      (info) => info.isDirectory(),
      () => false,
    ))
  )
    throw new Error(`path ${site} is not a folder: build the site before uploading it`);
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`retention-days "${input("retention-days")}" is not a whole number of days`);
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
  const { id, size } = await (await artifactClient()).uploadArtifact(name, [archive], packed, {
    retentionDays: days,
  });
  await setOutput("artifact_id", String(id ?? ""));
  console.log(`Uploaded ${site} as artifact ${name} (artifact.tar, ${size ?? "?"} bytes)`);
});

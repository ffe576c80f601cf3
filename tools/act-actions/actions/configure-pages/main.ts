// act-only stand-in for actions/configure-pages: the address GitHub Pages gives a project site by
// default, https://<owner>.github.io/<repo>/ (a custom domain would differ). Node's built-ins only.
import { appendFile } from "node:fs/promises";

async function setOutput(name: string, value: string): Promise<void> {
  await appendFile(process.env.GITHUB_OUTPUT as string, `${name}=${value}\n`);
}

try {
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? "").split("/");
  if (!owner || !repo) throw new Error("GITHUB_REPOSITORY is not owner/repo");
  const host = `${owner.toLowerCase()}.github.io`;
  const basePath = repo.toLowerCase() === host ? "" : `/${repo}`;
  await setOutput("base_url", `https://${host}${basePath}`);
  await setOutput("origin", `https://${host}`);
  await setOutput("host", host);
  await setOutput("base_path", basePath);
  console.log(`Pages site address (act stand-in): https://${host}${basePath}/`);
} catch (error) {
  console.log(`::error::${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}

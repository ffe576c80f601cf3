// What the workflow tests need around act: a throwaway clone holding the working tree, the GitHub
// stand-in holding its commits; act's JSON log is read back by tools/local-session/runner.ts.
import { copyFile, lstat, mkdir, readlink, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { findGoTool } from "../../.github/act.ts";
import { runGit } from "../../lib/registry/git.ts";

const IDENTITY_ENV = {
  GIT_AUTHOR_NAME: "e2e",
  GIT_AUTHOR_EMAIL: "e2e@example.invalid",
  GIT_COMMITTER_NAME: "e2e",
  GIT_COMMITTER_EMAIL: "e2e@example.invalid",
};

/**
 * Clones `source` into `dest` and commits its working tree there (tracked and untracked files
 * that git does not ignore, deletions included), so the clone's HEAD is what is on disk now.
 */
export async function cloneWorkingTree(source: string, dest: string): Promise<string> {
  await runGit(dirname(dest), ["clone", "-q", "--no-tags", source, dest]);
  const list = async (flag: string) =>
    (await runGit(source, ["ls-files", "-z", flag, "--exclude-standard"]))
      .split("\0")
      .filter(Boolean);
  const deleted = new Set(await list("--deleted"));
  const present = [...new Set([...(await list("--cached")), ...(await list("--others"))])].filter(
    (file) => !deleted.has(file),
  );
  for (const file of present) {
    const from = join(source, file);
    const to = join(dest, file);
    await mkdir(dirname(to), { recursive: true });
    await rm(to, { force: true });
    if ((await lstat(from)).isSymbolicLink()) await symlink(await readlink(from), to);
    else await copyFile(from, to);
  }
  for (const file of deleted) await rm(join(dest, file), { force: true });
  const git = (args: string[]) => runGit(dest, args, { env: IDENTITY_ENV });
  await git(["add", "-A"]);
  await git(["commit", "-q", "--allow-empty", "--no-verify", "-m", "working tree under test"]);
  return (await git(["rev-parse", "HEAD"])).trim();
}

/**
 * A Go-installed tool tests need (act, actionlint): its path, or null after printing why `tests`
 * skip. Under CI=true a missing tool throws instead: a CI run must not pass with fewer tests than
 * it shows.
 */
export async function requiredGoTool(
  name: string,
  install: string,
  tests: string,
): Promise<string | null> {
  const path = await findGoTool(name);
  if (path) return path;
  const reason = `${name} is not installed (${install})`;
  if (process.env.CI === "true") throw new Error(`${tests}: ${reason}, and CI=true`);
  console.warn(`${tests}: skipped, ${reason}`);
  return null;
}

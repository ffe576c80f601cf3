import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runGit } from "../../lib/registry/git.ts";

/** A throwaway git repository with one commit on `main`. */
export interface TempRepo {
  dir: string;
  /** The first commit's id. */
  commit: string;
  /** Commits `files` (path -> content) on the checked-out branch and returns the commit id. */
  commitFiles(files: Record<string, string>, message?: string): Promise<string>;
  git(args: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

/** Creates a git repository in a temp dir with a README committed. */
export async function createTempRepo(prefix = "registry-repo-"): Promise<TempRepo> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const git = (args: string[]) => runGit(dir, args);
  await git(["init", "-q", "-b", "main"]);
  await git(["config", "user.name", "Test User"]);
  await git(["config", "user.email", "test@example.invalid"]);
  await git(["config", "commit.gpgsign", "false"]);
  await git(["config", "tag.gpgsign", "false"]);
  async function commitFiles(files: Record<string, string>, message = "update"): Promise<string> {
    for (const [path, content] of Object.entries(files)) {
      const full = join(dir, path);
      await mkdir(join(full, ".."), { recursive: true });
      await writeFile(full, content);
      await git(["add", path]);
    }
    await git(["commit", "-q", "-m", message]);
    return (await git(["rev-parse", "HEAD"])).trim();
  }
  const commit = await commitFiles({ "README.md": "# test repo\n" }, "initial commit");
  return {
    dir,
    commit,
    commitFiles,
    git,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

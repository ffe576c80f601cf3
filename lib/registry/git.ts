import { execFile } from "node:child_process";

/** What a git invocation needs besides its arguments. */
export interface GitRunOptions {
  env?: Record<string, string>;
  /** Written to git's stdin. */
  input?: string | Uint8Array;
  /** Exit codes that are answers rather than failures (e.g. 1 for `merge-tree` conflicts). */
  okExitCodes?: number[];
}

/** A failed git invocation: names the command, its exit code and git's own words. */
export class GitError extends Error {
  exitCode: number | null;
  stderr: string;
  constructor(args: string[], cwd: string, exitCode: number | null, stderr: string) {
    super(`git ${args.join(" ")} (in ${cwd}) exited with ${exitCode}: ${stderr.trim()}`);
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Runs git in `cwd` without a shell and resolves with stdout (and the exit code). */
export function runGitWithCode(
  cwd: string,
  args: string[],
  options: GitRunOptions = {},
): Promise<{ stdout: string; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      args,
      {
        cwd,
        // Never let git prompt or pick up a pager; keep messages in English for error matching.
        env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", ...options.env },
        maxBuffer: 256 * 1024 * 1024,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, exitCode: 0 });
        const code = typeof error.code === "number" ? error.code : null;
        if (code !== null && options.okExitCodes?.includes(code)) {
          return resolve({ stdout, exitCode: code });
        }
        reject(new GitError(args, cwd, code, stderr || error.message));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Runs git in `cwd` and resolves with its stdout. */
export async function runGit(
  cwd: string,
  args: string[],
  options: GitRunOptions = {},
): Promise<string> {
  return (await runGitWithCode(cwd, args, options)).stdout;
}

/** The object id `rev` names, or null when it names nothing. */
export async function resolveRev(cwd: string, rev: string): Promise<string | null> {
  const { stdout, exitCode } = await runGitWithCode(cwd, ["rev-parse", "-q", "--verify", rev], {
    okExitCodes: [1, 128],
  });
  return exitCode === 0 ? stdout.trim() : null;
}

/** Identity used when the repository has none configured (e.g. a fresh CI checkout). */
export const FALLBACK_IDENTITY = { name: "model-registry", email: "model-registry@localhost" };

/** Env that gives git an author/committer identity when the repository lacks one. */
export async function identityEnv(cwd: string): Promise<Record<string, string>> {
  const { stdout, exitCode } = await runGitWithCode(cwd, ["config", "user.email"], {
    okExitCodes: [1],
  });
  if (exitCode === 0 && stdout.trim()) return {};
  return {
    GIT_AUTHOR_NAME: FALLBACK_IDENTITY.name,
    GIT_AUTHOR_EMAIL: FALLBACK_IDENTITY.email,
    GIT_COMMITTER_NAME: FALLBACK_IDENTITY.name,
    GIT_COMMITTER_EMAIL: FALLBACK_IDENTITY.email,
  };
}

/** A date as git's internal `<epoch seconds> +0000` form. */
export function gitDate(date: Date): string {
  return `${Math.floor(date.getTime() / 1000)} +0000`;
}

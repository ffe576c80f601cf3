// The run context the adapters (CLI and actions) hand to the stages: which commit and which
// Actions run produced a result, and how to reach the GitHub registry. Stages never read the
// environment themselves; this is the one place that reads GitHub's variables.
import type { RegistryConfig } from "../registry/create-registry.ts";

export interface RunContext {
  /** The commit being built: GITHUB_SHA inside Actions; null elsewhere (stages ask git). */
  commit: string | null;
  /** The Actions run, when there is one. */
  run: { id: string; url: string } | null;
  /** The registry's GitHub settings (token, repository, API URL) from the environment, and the
   * User-Agent that names the job asking (GitHub scopes each job's token to its permissions). */
  registry: Pick<RegistryConfig, "env"> & { github?: { userAgent?: string } };
}

/** The run context as the environment (GitHub Actions' variables, or none) describes it. */
export function runContextFromEnv(
  env: Record<string, string | undefined> = process.env,
): RunContext {
  const { GITHUB_SHA, GITHUB_RUN_ID, GITHUB_SERVER_URL, GITHUB_REPOSITORY } = env;
  return {
    commit: GITHUB_SHA || null,
    run:
      GITHUB_RUN_ID && GITHUB_REPOSITORY
        ? {
            id: GITHUB_RUN_ID,
            url: `${GITHUB_SERVER_URL ?? "https://github.com"}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`,
          }
        : null,
    registry: {
      ...(env.GITHUB_JOB ? { github: { userAgent: userAgent(env) } } : {}),
      env: {
        GITHUB_TOKEN: env.GITHUB_TOKEN,
        GITHUB_REPOSITORY: env.GITHUB_REPOSITORY,
        GITHUB_API_URL: env.GITHUB_API_URL,
      },
    },
  };
}

/** `house-price-pipeline job/<workflow file>/<job>`: which job of which workflow is asking. */
function userAgent(env: Record<string, string | undefined>): string {
  // GITHUB_WORKFLOW_REF is owner/repo/.github/workflows/<file>@<ref>.
  const file = /\/\.github\/workflows\/([^@/]+)@/.exec(env.GITHUB_WORKFLOW_REF ?? "")?.[1];
  return `house-price-pipeline job/${file ? `${file}/` : ""}${env.GITHUB_JOB}`;
}

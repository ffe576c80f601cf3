import { MODEL_NAME } from "../bundle/bundle.ts";
import type { RetryPolicy } from "./github-client.ts";
import { createLocalBackend } from "./local-backend.ts";
import { createLocalProposer } from "./local-proposer.ts";
import type { PromotionTarget } from "./proposal.ts";
import { registryOnBackend } from "./registry.ts";
import type { Registry } from "./types.ts";

// Picks where the registry lives: GitHub when a token and repository are at hand (as in a
// workflow), else the local repository, so everything also works offline.

export interface RegistryConfig {
  /** Model (GTO artifact) name; default `house-price`. */
  name?: string;
  /** Forces a backend; by default GitHub when GITHUB_TOKEN and GITHUB_REPOSITORY are set. */
  backend?: "local" | "github";
  /** Local backend: a directory inside the repository; default the current directory. */
  repoDir?: string;
  /** GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL, as the adapter read them (the CLI and
   * the actions pass the environment's); `github` wins over them. */
  env?: Record<string, string | undefined>;
  github?: {
    token?: string;
    /** `owner/repo`. */
    repository?: string;
    apiUrl?: string;
    retry?: Partial<RetryPolicy>;
    tagger?: { name: string; email: string };
    /** Names the caller, e.g. the Actions job (see run-context.ts). */
    userAgent?: string;
  };
  /** Clock for tag dates. */
  now?: () => Date;
}

/** Which backend `config` selects. */
export function chooseBackend(config: RegistryConfig = {}): "local" | "github" {
  if (config.backend) return config.backend;
  const env = config.env ?? {};
  const token = config.github?.token ?? env.GITHUB_TOKEN;
  const repository = config.github?.repository ?? env.GITHUB_REPOSITORY;
  return token && repository ? "github" : "local";
}

async function githubTarget(
  config: RegistryConfig,
  options: { name: string; now?: () => Date },
): Promise<PromotionTarget> {
  const env = config.env ?? {};
  const token = config.github?.token ?? env.GITHUB_TOKEN;
  const repository = config.github?.repository ?? env.GITHUB_REPOSITORY;
  if (!token || !repository) {
    const missing = [
      token ? null : "GITHUB_TOKEN",
      repository ? null : "GITHUB_REPOSITORY (owner/repo)",
    ].filter(Boolean);
    throw new Error(
      `the GitHub registry backend needs ${missing.join(" and ")}; set them or use the local backend`,
    );
  }
  // Loaded only when used: Octokit is heavy and the local backend never needs it.
  const { createGitHubClient } = await import("./github-client.ts");
  const { createGitHubBackend, parseRepository } = await import("./github-backend.ts");
  const { createGitHubProposer } = await import("./github-proposer.ts");
  const client = createGitHubClient({
    token,
    apiUrl: config.github?.apiUrl ?? env.GITHUB_API_URL,
    retry: config.github?.retry,
    userAgent: config.github?.userAgent,
  });
  const target = parseRepository(repository);
  return {
    registry: registryOnBackend(
      createGitHubBackend(client, target, { tagger: config.github?.tagger }),
      options,
    ),
    proposer: createGitHubProposer(client, target),
  };
}

/** The registry `config` describes (see chooseBackend). */
export async function createRegistry(config: RegistryConfig = {}): Promise<Registry> {
  return (await createPromotionTarget(config)).registry;
}

/** The registry and, on the same backend, where promotion and rollback changes are proposed. */
export async function createPromotionTarget(config: RegistryConfig = {}): Promise<PromotionTarget> {
  const options = { name: config.name ?? MODEL_NAME, now: config.now };
  if (chooseBackend(config) === "github") return githubTarget(config, options);
  const dir = config.repoDir ?? process.cwd();
  return {
    registry: registryOnBackend(await createLocalBackend(dir), options),
    proposer: await createLocalProposer(dir),
  };
}

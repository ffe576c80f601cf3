import { getOctokit } from "@actions/github";

// Octokit for the registry: waits out rate limits, retries server errors a bounded number of
// times, and turns every failure into an error that never contains the token.

export interface RetryPolicy {
  /** Retries of a request that failed with 5xx or a network error. */
  maxRetries: number;
  /** First backoff delay; doubles with each retry. */
  baseDelayMs: number;
  /** Cap on any single wait, rate-limit waits included. */
  maxDelayMs: number;
  /** Retries of a request refused by a rate limit (403/429). */
  maxRateLimitRetries: number;
  /** How to wait; tests pass one that records the delays. */
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 4,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxRateLimitRetries: 3,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface GitHubClientOptions {
  token: string;
  /** API base URL; default GITHUB_API_URL, then GitHub's public API. */
  apiUrl?: string;
  retry?: Partial<RetryPolicy>;
}

export type GitHubClient = ReturnType<typeof getOctokit>;

/** A failed GitHub API call, with its status; the message never contains the token. */
export class GitHubApiError extends Error {
  status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/** `text` with every occurrence of `secret` replaced by `***`. */
export function scrubSecret(text: string, secret: string): string {
  return secret ? text.split(secret).join("***") : text;
}

interface FailedRequest {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined> };
  request?: { method?: string; url?: string };
}

/** How long to wait before retrying, or null when the failure is final. */
export function retryDelay(
  error: FailedRequest,
  attempt: { server: number; rateLimit: number },
  policy: RetryPolicy,
  now = Date.now(),
): { ms: number; kind: "server" | "rateLimit" } | null {
  const status = error.status ?? 0;
  const headers = error.response?.headers ?? {};
  const retryAfter = headers["retry-after"];
  const remaining = headers["x-ratelimit-remaining"];
  const reset = headers["x-ratelimit-reset"];
  const rateLimited =
    status === 429 || (status === 403 && (retryAfter !== undefined || String(remaining) === "0"));
  if (rateLimited) {
    if (attempt.rateLimit >= policy.maxRateLimitRetries) return null;
    let ms = 60_000; // GitHub's advice when it gives no hint
    if (retryAfter !== undefined) {
      const seconds = Number(retryAfter);
      ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(String(retryAfter)) - now;
    } else if (reset !== undefined) {
      ms = Number(reset) * 1000 - now + 1000;
    }
    return { ms: Math.min(Math.max(ms, 0), policy.maxDelayMs), kind: "rateLimit" };
  }
  if (status >= 500 && attempt.server < policy.maxRetries) {
    return {
      ms: Math.min(policy.baseDelayMs * 2 ** attempt.server, policy.maxDelayMs),
      kind: "server",
    };
  }
  return null;
}

function describe(error: FailedRequest, fallback: { method?: string; url?: string }): string {
  const method = error.request?.method ?? fallback.method ?? "";
  let path = error.request?.url ?? fallback.url ?? "";
  try {
    path = new URL(path).pathname;
  } catch {
    // a route template, already readable
  }
  return `GitHub API ${method} ${decodeURIComponent(path)} failed with ${error.status ?? "no response"}: ${error.message ?? "unknown error"}`;
}

/** An Octokit (from @actions/github) with bounded retries and token-free errors. */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const scrub = (text: string) => scrubSecret(text, options.token);
  const octokit = getOctokit(options.token, {
    ...(options.apiUrl ? { baseUrl: options.apiUrl.replace(/\/+$/, "") } : {}),
    log: {
      debug: () => {},
      info: () => {},
      warn: (message: string) => console.warn(scrub(message)),
      error: (message: string) => console.error(scrub(message)),
    },
  });
  octokit.hook.wrap("request", async (request, requestOptions) => {
    const attempt = { server: 0, rateLimit: 0 };
    for (;;) {
      try {
        return await request(requestOptions);
      } catch (caught) {
        const error = caught as FailedRequest;
        const delay = retryDelay(error, attempt, policy);
        if (!delay) {
          const tries = attempt.server + attempt.rateLimit;
          const suffix = tries > 0 ? ` (after ${tries} ${tries === 1 ? "retry" : "retries"})` : "";
          // A new error: the original carries the request, whose headers hold the token.
          throw new GitHubApiError(
            scrub(`${describe(error, requestOptions)}${suffix}`),
            error.status ?? 0,
          );
        }
        attempt[delay.kind]++;
        await policy.sleep(delay.ms);
      }
    }
  });
  return octokit;
}

/** The HTTP status of a failed call, or 0. */
export function statusOf(error: unknown): number {
  return error instanceof GitHubApiError ? error.status : 0;
}

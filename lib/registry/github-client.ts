// Octokit for the registry, with GitHub's recommended manners: @octokit/plugin-throttling waits
// out primary and secondary rate limits (at least a minute when GitHub names no time) and spaces
// writes, @octokit/plugin-retry retries server errors, repeated reads are conditional (ETag /
// If-None-Match: a 304 costs no rate limit), and every failure becomes an error without the token.
import { getOctokit } from "@actions/github";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import Bottleneck from "bottleneck";

export interface RetryPolicy {
  /** Retries of a request that failed with 5xx (or 429 without a rate-limit verdict). */
  maxRetries: number;
  /** The unit of every wait, in ms: a backoff of n² units, a `retry-after: 3` of 3 units. 1000 on
   * GitHub; tests shrink it so a minute of GitHub's time passes in 60 ms. */
  unitMs: number;
  /** The longest wait for a rate limit, in seconds of GitHub's time; beyond it the call fails. */
  maxWaitSeconds: number;
  /** Retries after a rate limit. */
  maxRateLimitRetries: number;
  /** The least time between two writes (GitHub asks for a second, against secondary limits). */
  writeIntervalMs: number;
  /** The least time between two requests that notify people (pull requests, comments): 3 s. */
  notifyIntervalMs: number;
  /** Told about every rate-limit wait, in seconds of GitHub's time. */
  onWait?: (seconds: number, kind: "rate-limit" | "secondary") => void;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 4,
  unitMs: 1000,
  maxWaitSeconds: 15 * 60,
  maxRateLimitRetries: 3,
  writeIntervalMs: 1000,
  notifyIntervalMs: 3000,
};

export interface GitHubClientOptions {
  token: string;
  /** API base URL; default GitHub's public API. */
  apiUrl?: string;
  retry?: Partial<RetryPolicy>;
  /** Sent as the User-Agent (with the project's name): which job is asking. */
  userAgent?: string;
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
  request?: { method?: string; url?: string; request?: { retryCount?: number } };
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

/** Whether to wait `seconds` for a rate limit and try again (the plugin waits). */
export function shouldWaitOut(
  seconds: number,
  retryCount: number,
  policy: Pick<RetryPolicy, "maxRateLimitRetries" | "maxWaitSeconds">,
): boolean {
  return retryCount < policy.maxRateLimitRetries && seconds <= policy.maxWaitSeconds;
}

interface CachedRead {
  etag: string;
  response: unknown;
}

/** An Octokit (from @actions/github) with throttling, bounded retries, conditional reads and
 * token-free errors. */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const scrub = (text: string) => scrubSecret(text, options.token);
  const rateLimitHandler =
    (kind: "rate-limit" | "secondary") =>
    (seconds: number, _options: unknown, _octokit: unknown, retryCount: number) => {
      if (!shouldWaitOut(seconds, retryCount, policy)) return false;
      policy.onWait?.(seconds, kind);
      return true;
    };
  const octokit = getOctokit(
    options.token,
    {
      ...(options.apiUrl ? { baseUrl: options.apiUrl.replace(/\/+$/, "") } : {}),
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
      log: {
        debug: () => {},
        info: () => {},
        warn: (message: string) => console.warn(scrub(message)),
        error: (message: string) => console.error(scrub(message)),
      },
      retry: { retries: policy.maxRetries, retryAfterBaseValue: policy.unitMs },
      throttle: {
        onRateLimit: rateLimitHandler("rate-limit"),
        onSecondaryRateLimit: rateLimitHandler("secondary"),
        retryAfterBaseValue: policy.unitMs,
        write: spacedGroup(policy.writeIntervalMs),
        notifications: spacedGroup(policy.notifyIntervalMs),
      },
    },
    retry,
    throttling,
  );

  // Conditional reads: a GET repeated within this client sends the ETag it got, and a 304 (which
  // GitHub does not count against the rate limit) answers with the response kept from before.
  const reads = new Map<string, CachedRead>();
  octokit.hook.wrap("request", async (request, requestOptions) => {
    const streamed = requestOptions.request?.parseSuccessResponseBody === false;
    const key =
      requestOptions.method === "GET" && !streamed
        ? octokit.request.endpoint(requestOptions).url
        : null;
    const cached = key ? reads.get(key) : undefined;
    if (cached) requestOptions.headers["if-none-match"] = cached.etag;
    try {
      const response = await request(requestOptions);
      const etag = response.headers.etag;
      if (key && etag) reads.set(key, { etag, response });
      return response;
    } catch (caught) {
      const error = caught as FailedRequest;
      if (cached && error.status === 304)
        return cached.response as Awaited<ReturnType<typeof request>>;
      // plugin-retry counts the retries it made on the failed request.
      const tries = Number(error.request?.request?.retryCount ?? 0);
      const suffix = tries > 0 ? ` (after ${tries} ${tries === 1 ? "retry" : "retries"})` : "";
      // A new error: the original carries the request, whose headers hold the token.
      throw new GitHubApiError(
        scrub(`${describe(error, requestOptions)}${suffix}`),
        error.status ?? 0,
      );
    }
  });
  return octokit;
}

/** A throttling group: one request at a time, `intervalMs` apart (replaces the plugin's own, so
 * tests can space writes less than GitHub asks). */
function spacedGroup(intervalMs: number) {
  return new Bottleneck.Group({ maxConcurrent: 1, minTime: intervalMs });
}

/** The HTTP status of a failed call, or 0. */
export function statusOf(error: unknown): number {
  return error instanceof GitHubApiError ? error.status : 0;
}

import { createHash } from "node:crypto";
import type { Principal } from "./hub.ts";
import type { Settings } from "./store.ts";

// GitHub's primary rate limits: an hourly budget per user, per App installation, and for
// GITHUB_TOKEN one budget of 1,000 requests per hour per repository, shared by every run. REST
// requests and GraphQL points are counted apart (`x-ratelimit-resource: core` / `graphql`).
// A conditional request answered 304 costs nothing, as on GitHub.

export const RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";

export interface Budget {
  limit: number;
  used: number;
  /** Epoch seconds when the window resets. */
  reset: number;
  resource: "core" | "graphql";
}

export function createRateLimiter(settings: () => Settings, now = () => Date.now()) {
  const windows = new Map<string, { start: number; used: number }>();

  function key(principal: Principal, resource: string): string {
    // Every GITHUB_TOKEN of the repository draws on one budget.
    const who = principal.kind === "github_token" ? "github_token" : principal.actor;
    return `${resource}\0${who}`;
  }

  function window(principal: Principal, resource: Budget["resource"]) {
    const id = key(principal, resource);
    let current = windows.get(id);
    if (!current || now() - current.start >= 3_600_000) {
      current = { start: now(), used: 0 };
      windows.set(id, current);
    }
    return current;
  }

  function budget(principal: Principal, resource: Budget["resource"]): Budget {
    const current = window(principal, resource);
    return {
      limit: settings().rateLimits[principal.kind],
      used: current.used,
      reset: Math.ceil((current.start + 3_600_000) / 1000),
      resource,
    };
  }

  return {
    /** The budget after charging `cost`; `exceeded` when nothing was left to charge. */
    take(principal: Principal, resource: Budget["resource"], cost = 1) {
      const before = budget(principal, resource);
      if (before.used + cost > before.limit) return { ...before, exceeded: true };
      window(principal, resource).used += cost;
      return { ...budget(principal, resource), exceeded: false };
    },
    /** Gives back a charge (a 304 answer). */
    refund(principal: Principal, resource: Budget["resource"], cost = 1) {
      const current = window(principal, resource);
      current.used = Math.max(0, current.used - cost);
      return budget(principal, resource);
    },
    budget,
    reset() {
      windows.clear();
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

export function rateLimitHeaders(budget: Budget): Record<string, string> {
  return {
    "x-ratelimit-limit": String(budget.limit),
    "x-ratelimit-remaining": String(Math.max(0, budget.limit - budget.used)),
    "x-ratelimit-used": String(budget.used),
    "x-ratelimit-reset": String(budget.reset),
    "x-ratelimit-resource": budget.resource,
  };
}

/** GitHub's message when a budget is spent: installations (Apps, GITHUB_TOKEN) vs users. */
export function rateLimitMessage(principal: Principal): string {
  return principal.kind === "user"
    ? `API rate limit exceeded for user ID ${userId(principal.login)}.`
    : `API rate limit exceeded for installation ID ${userId(principal.actor)}.`;
}

function userId(name: string): number {
  return Number.parseInt(createHash("sha256").update(name).digest("hex").slice(0, 7), 16);
}

/** A weak ETag of a JSON body, as GitHub sends on GETs. */
export function etagOf(body: unknown): string {
  return `W/"${createHash("sha256").update(JSON.stringify(body)).digest("hex")}"`;
}

/** Whether an `If-None-Match` header matches `etag` (a list, `*`, weak or strong). */
export function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag));
}

/** GitHub's secondary rate limit answer. */
export function secondaryRateLimitBody(requestId: string) {
  return {
    message: `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
    documentation_url:
      "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
  };
}

import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { GitRepo } from "./git-repo.ts";
import type { Permissions, Requirement } from "./permissions.ts";
import type { Site } from "./shapes.ts";
import type { Cause, StateData, Store, TokenKind, TokenRecord } from "./store.ts";
import type { Triggers } from "./triggers.ts";

// What the parts of the local GitHub share: the repository, the state, the trigger model, and
// the shape of a route (its method, path, the permission GitHub requires, and its handler).

/** The caller of a request, from its token. */
export interface Principal {
  record: TokenRecord;
  kind: TokenKind;
  login: string;
  /** `user:<login>` or `app:<slug>` (a GITHUB_TOKEN is `app:github-actions`), for rulesets. */
  actor: string;
  permissions: Permissions;
  /** The job a run's GITHUB_TOKEN was used by, when the client named it. */
  job: string | null;
}

export function causeOf(principal: Principal): Cause {
  return { kind: principal.kind, actor: principal.actor, login: principal.login };
}

export interface ApiRequest {
  params: Record<string, string>;
  url: URL;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  principal: Principal;
  /** The request itself, for handlers that stream its body (uploads). */
  raw?: IncomingMessage;
  /** The fault rule that matched the request, when it changes how the handler behaves. */
  fault?: FaultRule;
}

/** A fault to inject: answer differently, cut an upload, or run something first. */
export interface FaultRule {
  method?: string;
  /** Matched against the request path (without the query). */
  path: string | RegExp;
  /** How many matching requests it affects (default 1). */
  times?: number;
  /** Answer with this instead of handling the request. */
  respond?: { status: number; headers?: Record<string, string>; body?: unknown };
  /** Answer with GitHub's secondary rate limit 403 (with `retry-after` when given). */
  secondaryRateLimit?: { retryAfter?: number };
  /** Upload only: store this many bytes as an `open` asset, then cut the connection. */
  interruptUpload?: { afterBytes: number };
  /** Runs before the request is handled normally, e.g. a competing run taking the same tag. */
  before?: () => Promise<void> | void;
  /** Answer 500 with a message that repeats the request's Authorization header, as a leaky proxy would. */
  echoAuthorization?: boolean;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** An answer outside the endpoint's OpenAPI description: checked against GitHub's error shape. */
  undeclared?: boolean;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Express path below `/repos/:owner/:repo`; `*name` takes the rest, slashes included. */
  path: string;
  /** The fine-grained permission GitHub requires (see GitHub's page for the endpoint). */
  permission: Requirement;
  /** The handler reads the request body itself (uploads stream it to a file). */
  streamsBody?: boolean;
  handler: (request: ApiRequest) => Promise<Reply>;
}

export interface Hub {
  site: Site;
  git: GitRepo;
  store: Store;
  state: StateData;
  triggers: Triggers;
  /** GitHub's page size cap (100), lowered in tests to exercise paging with few items. */
  maxPerPage: number;
}

export function str(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  return typeof value === "string" ? value : undefined;
}

/** GitHub's `page`/`per_page` paging with a `link` header. */
export function paginate<T>(hub: Hub, items: T[], url: URL): Reply {
  const perPage = Math.min(
    Math.max(1, Number(url.searchParams.get("per_page") ?? 30) || 30),
    100,
    hub.maxPerPage,
  );
  const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (target: number, rel: string) => {
    const next = new URL(url.toString());
    next.searchParams.set("page", String(target));
    next.searchParams.set("per_page", String(perPage));
    return `<${hub.site.apiUrl}${next.pathname}${next.search}>; rel="${rel}"`;
  };
  const links = [
    ...(page < last ? [link(page + 1, "next"), link(last, "last")] : []),
    ...(page > 1 ? [link(1, "first"), link(page - 1, "prev")] : []),
  ];
  return {
    status: 200,
    body: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length ? { link: links.join(", ") } : {},
  };
}

import type { Express, Request, Response } from "express";
import { z } from "zod";
import { HttpError } from "./git-repo.ts";
import { causeOf, type FaultRule, type Hub, type Principal } from "./hub.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { Settings } from "./store.ts";
import { mintToken, resolvePrincipal, type TokenSpec } from "./tokens.ts";
import { fullPayload } from "./triggers.ts";

// The stand-in's own endpoints, under /_local/ (never under GitHub's paths): mint tokens, change
// settings, read the recorded events and the runs GitHub would start, report runs' progress,
// inject faults. They answer a user token only (the repository's people, not its automation).

const level = z.enum(["none", "read", "write"]);

const tokenSpec = z
  .object({
    kind: z.enum(["user", "app", "github_token"]),
    login: z.string().min(1).optional(),
    app: z.string().min(1).optional(),
    permissions: z.record(z.string(), level).optional(),
    workflow: z.string().min(1).optional(),
    ref: z.string().min(1).optional(),
    runId: z.number().int().optional(),
  })
  .strict();

const settingsPatch = z
  .object({
    actionsCanCreatePullRequests: z.boolean(),
    defaultWorkflowPermissions: z.enum(["read", "write"]),
    immutableReleases: z.boolean(),
    tagRulesets: z.array(
      z
        .object({
          name: z.string().min(1),
          pattern: z.string().min(1),
          allowedActors: z.array(
            z.string().regex(/^(user|app):[^\s]+$/, "expected user:<login> or app:<slug>"),
          ),
        })
        .strict(),
    ),
    rateLimits: z
      .object({
        github_token: z.number().int().min(0),
        user: z.number().int().min(0),
        app: z.number().int().min(0),
      })
      .partial()
      .strict(),
  })
  .partial()
  .strict();

const runUpdate = z
  .object({
    status: z.enum(["in_progress", "completed"]),
    conclusion: z.string().optional(),
    jobs: z
      .array(z.object({ name: z.string().min(1), conclusion: z.string().min(1) }).strict())
      .optional(),
  })
  .strict();

const faultSpec = z
  .object({
    method: z.string().optional(),
    path: z.string().min(1).optional(),
    /** A regular expression source matched against the path. */
    pathPattern: z.string().min(1).optional(),
    times: z.number().int().min(1).optional(),
    respond: z
      .object({
        status: z.number().int(),
        headers: z.record(z.string(), z.string()).optional(),
        body: z.unknown().optional(),
      })
      .strict()
      .optional(),
    secondaryRateLimit: z
      .object({ retryAfter: z.number().int().min(0).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine(
    (value) => Boolean(value.path) !== Boolean(value.pathPattern),
    "give path or pathPattern",
  );

/** Applies a settings change (validated) and returns the settings. */
export function applySettings(hub: Hub, patch: unknown, limiter?: RateLimiter): Settings {
  const parsed = parse(settingsPatch, patch, "settings");
  const { rateLimits, ...rest } = parsed;
  Object.assign(hub.state.settings, rest);
  if (rateLimits) {
    Object.assign(hub.state.settings.rateLimits, rateLimits);
    limiter?.reset();
  }
  return hub.state.settings;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join(".") || what}: ${issue.message}`,
  );
  throw new HttpError(422, `invalid ${what}: ${problems.join("; ")}`);
}

export function mountLocalApi(
  app: Express,
  hub: Hub,
  options: { addFault: (rule: FaultRule) => void; limiter: RateLimiter; requests: () => unknown[] },
) {
  const { state } = hub;

  async function caller(req: Request): Promise<Principal> {
    const principal = await resolvePrincipal(
      hub,
      req.headers.authorization,
      req.headers["user-agent"],
    );
    if (!principal) throw new HttpError(401, "Bad credentials");
    if (principal.kind !== "user") {
      throw new HttpError(403, "the /_local/ endpoints answer a user token only");
    }
    return principal;
  }

  function local(
    handler: (
      req: Request,
      principal: Principal,
      body: unknown,
    ) => Promise<{ status: number; body?: unknown }>,
  ) {
    return async (req: Request, res: Response) => {
      try {
        const principal = await caller(req);
        const chunks: Buffer[] = [];
        for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = {};
        try {
          body = text ? JSON.parse(text) : {};
        } catch {
          throw new HttpError(400, "Problems parsing JSON");
        }
        // Pushes made straight to the bare repository count from here on, as the owner's.
        await hub.triggers.syncRefs(causeOf(principal));
        const reply = await handler(req, principal, body);
        await hub.store.save();
        res.status(reply.status);
        if (reply.body === undefined) res.end();
        else res.json(reply.body);
      } catch (error) {
        const status = error instanceof HttpError ? error.status : 500;
        res.status(status).json({ message: (error as Error).message });
      }
    };
  }

  app.post(
    "/_local/tokens",
    local(async (_req, _principal, body) => {
      const record = await mintToken(hub, parse(tokenSpec, body, "token") as TokenSpec);
      state.tokens.push(record);
      const { token, kind, login, permissions, workflow, sha, app: slug } = record;
      return { status: 201, body: { token, kind, login, permissions, workflow, sha, app: slug } };
    }),
  );
  app.get(
    "/_local/settings",
    local(async () => ({ status: 200, body: state.settings })),
  );
  app.patch(
    "/_local/settings",
    local(async (_req, _principal, body) => ({
      status: 200,
      body: applySettings(hub, body, options.limiter),
    })),
  );
  app.get(
    "/_local/events",
    local(async (req) => {
      const since = Number(new URL(req.url, "http://local").searchParams.get("since") ?? 0);
      const events = state.events.filter((event) => event.id > since);
      return {
        status: 200,
        body: events.map((event) => ({ ...event, payload: fullPayload(hub, event) })),
      };
    }),
  );
  app.get(
    "/_local/runs",
    local(async (req) => {
      const wanted = new URL(req.url, "http://local").searchParams.get("status");
      const runs = state.runs.filter((run) => !wanted || run.status === wanted);
      return { status: 200, body: runs.map((run) => withPayload(hub, run)) };
    }),
  );
  app.get(
    "/_local/runs/:id",
    local(async (req) => {
      const run = state.runs.find((item) => item.id === Number(req.params.id));
      if (!run) throw new HttpError(404, `no run ${req.params.id}`);
      return { status: 200, body: withPayload(hub, run) };
    }),
  );
  app.post(
    "/_local/runs/:id",
    local(async (req, _principal, body) => {
      const run = await hub.triggers.updateRun(
        Number(req.params.id),
        parse(runUpdate, body, "run update"),
      );
      return { status: 200, body: withPayload(hub, run) };
    }),
  );
  app.post(
    "/_local/sync",
    local(async (_req, principal) => ({
      status: 200,
      body: await hub.triggers.syncRefs(causeOf(principal)),
    })),
  );
  app.post(
    "/_local/faults",
    local(async (_req, _principal, body) => {
      const spec = parse(faultSpec, body, "fault");
      const { pathPattern, path, ...rest } = spec;
      options.addFault({ ...rest, path: pathPattern ? new RegExp(pathPattern) : (path as string) });
      return { status: 201 };
    }),
  );
  app.get(
    "/_local/requests",
    local(async () => ({ status: 200, body: options.requests() })),
  );
  app.post(
    "/_local/rate-limits/reset",
    local(async () => {
      options.limiter.reset();
      return { status: 204 };
    }),
  );
}

/** A run with the event payload GitHub would send, ready for `act --eventpath`. */
export function withPayload(hub: Hub, run: Hub["state"]["runs"][number]) {
  const event = hub.state.events.find((item) => item.id === run.eventId);
  return { ...run, cause: event?.cause ?? null, payload: event ? fullPayload(hub, event) : {} };
}

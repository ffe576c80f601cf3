import { spawn } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Express, Request, Response } from "express";
import { causeOf, type Hub, type Principal } from "./hub.ts";
import { satisfies } from "./permissions.ts";
import { resolvePrincipal } from "./tokens.ts";

// Git over HTTP at the repository's clone URL (`<apiUrl>/git/<owner>/<repo>.git`), served by git's
// own `git http-backend`, with GitHub's authentication: the token as the password (Basic, as
// actions/checkout sends it) or as a bearer/token header. Fetching needs contents: read, pushing
// contents: write, and a push is recorded with the token's kind, so a push made with a
// GITHUB_TOKEN starts no workflow run, as on GitHub. Tag rulesets and immutable releases' tags
// are enforced by a pre-receive hook (pre-receive.ts), with GitHub's GH013 message.

const HOOK = fileURLToPath(new URL("./pre-receive.ts", import.meta.url));

/** Writes the hooks folder the pushes use; returns its path. */
export async function installHooks(stateDir: string): Promise<string> {
  const dir = join(stateDir, "hooks");
  await mkdir(dir, { recursive: true });
  const script = join(dir, "pre-receive");
  await writeFile(script, `#!/bin/sh\nexec "${process.execPath}" "${HOOK}"\n`);
  await chmod(script, 0o755);
  return dir;
}

function secretOf(authorization: string | undefined): string | null {
  const basic = /^basic\s+(\S+)$/i.exec(authorization ?? "");
  if (basic) {
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    return decoded.slice(decoded.indexOf(":") + 1) || null;
  }
  return /^(?:token|bearer)\s+(\S+)$/i.exec(authorization ?? "")?.[1] ?? null;
}

/**
 * Runs `git http-backend` as a CGI program for one request and streams its answer; the answer is
 * ended by the caller, so a push is not done for the client before its events are recorded.
 */
function runBackend(req: Request, res: Response, env: Record<string, string>): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn("git", ["http-backend"], { env: { ...process.env, ...env } });
    let head: Buffer | null = Buffer.alloc(0);
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    child.stdout.on("data", (chunk: Buffer) => {
      if (!head) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf("\r\n\r\n");
      const lf = head.indexOf("\n\n");
      const end = crlf >= 0 ? crlf : lf;
      if (end < 0) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString().split(/\r?\n/)) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else if (name) headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + (crlf >= 0 ? 4 : 2)));
      head = null;
    });
    child.on("close", () => {
      if (head) res.status(500).write(`git http-backend failed: ${stderr}`);
      resolve();
    });
    req.pipe(child.stdin);
  });
}

export function mountGitHttp(
  app: Express,
  hub: Hub,
  options: {
    hooksDir: string;
    exclusive: (work: () => Promise<void>) => Promise<void>;
    ownerCause: ReturnType<typeof causeOf>;
  },
) {
  const { site, state } = hub;
  app.all("/git/:owner/:file/*rest", async (req: Request, res: Response) => {
    const rest = ([] as string[]).concat(req.params.rest).join("/");
    const url = new URL(req.originalUrl, site.apiUrl);
    const service = rest === "info/refs" ? url.searchParams.get("service") : rest;
    if (req.params.owner !== site.owner || req.params.file !== `${site.repo}.git`) {
      return void res.status(404).type("text").send("Repository not found.\n");
    }
    if (service !== "git-upload-pack" && service !== "git-receive-pack") {
      return void res
        .status(404)
        .type("text")
        .send("Not found: only the smart HTTP protocol is served.\n");
    }
    const secret = secretOf(req.headers.authorization);
    let principal: Principal | null = null;
    try {
      principal = secret
        ? await resolvePrincipal(hub, `token ${secret}`, req.headers["user-agent"])
        : null;
    } catch {
      principal = null;
    }
    if (!principal) {
      res.setHeader("www-authenticate", 'Basic realm="GitHub"');
      return void res.status(401).type("text").send("Invalid username or token.\n");
    }
    const pushing = service === "git-receive-pack";
    if (!satisfies(principal.permissions, pushing ? "contents:write" : "contents:read")) {
      return void res
        .status(403)
        .type("text")
        .send(`Permission to ${site.owner}/${site.repo}.git denied to ${principal.login}.\n`);
    }
    const actor = principal.actor;
    const rules = {
      restrictedTagPatterns: state.settings.tagRulesets
        .filter((ruleset) => !ruleset.allowedActors.includes(actor))
        .map((ruleset) => ruleset.pattern),
      protectedTags: state.releases
        .filter((release) => release.immutable)
        .map((release) => release.tag_name),
    };
    const env: Record<string, string> = {
      GIT_PROJECT_ROOT: join(hub.git.gitDir, ".."),
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: `/${site.repo}.git/${rest}`,
      REQUEST_METHOD: req.method,
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      // http-backend serves pushes only to an authenticated user.
      REMOTE_USER: principal.login,
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
      // The hooks enforce the rules; no gc runs behind the server's back after a push.
      GIT_CONFIG_COUNT: "3",
      GIT_CONFIG_KEY_0: "core.hooksPath",
      GIT_CONFIG_VALUE_0: options.hooksDir,
      GIT_CONFIG_KEY_1: "receive.autogc",
      GIT_CONFIG_VALUE_1: "false",
      GIT_CONFIG_KEY_2: "gc.auto",
      GIT_CONFIG_VALUE_2: "0",
      LOCAL_GITHUB_PUSH_RULES: JSON.stringify(rules),
    };
    if (req.headers["content-encoding"])
      env.HTTP_CONTENT_ENCODING = String(req.headers["content-encoding"]);
    if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);
    if (!(pushing && req.method === "POST")) {
      await runBackend(req, res, env);
      return void res.end();
    }
    const cause = causeOf(principal);
    await options.exclusive(async () => {
      await hub.triggers.syncRefs(options.ownerCause);
      await runBackend(req, res, env);
      // The push's ref changes are the pusher's events.
      await hub.triggers.syncRefs(cause);
      await hub.store.save();
    });
    res.end();
  });
}

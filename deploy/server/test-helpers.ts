// Helpers shared by the server's tests: a running server on 127.0.0.1 and bounded waiting.
import { silentLogger } from "./log.ts";
import { type AppOptions, type RunningServer, startServer } from "./server.ts";

/** Starts the service on a free port of 127.0.0.1, with a quick poll so reload tests stay short. */
export function startTestServer(options: AppOptions): Promise<RunningServer> {
  return startServer({
    port: 0,
    host: "127.0.0.1",
    log: silentLogger,
    modelPollMs: 200,
    ...options,
  });
}

/** POSTs `body` (JSON-encoded unless a string) and returns the status and parsed JSON answer. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: JSON.parse(text) as Record<string, unknown>,
    headers: response.headers,
  };
}

/** Resolves once `check` returns true; fails after `timeoutMs` with `what` in the message. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The model version /model reports, or null while none is loaded. */
export async function servedVersion(url: string): Promise<string | null> {
  const response = await fetch(`${url}/model`);
  if (response.status !== 200) return null;
  return ((await response.json()) as { version: string }).version;
}

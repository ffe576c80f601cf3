// The deployed API of a session: the service image deploy.yml built and smoke-tested, run as a
// container in registry mode (it follows the production stage of the local GitHub by itself and
// swaps models without a restart), or without a container engine the same server as a process.
import { spawn } from "node:child_process";
import { chmod, mkdir, open, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { waitForVersion } from "../../.github/scripts/smoke-test.ts";
import { UsageError } from "../../lib/cli/program.ts";
import { writeJsonAtomic } from "../../lib/io/files.ts";
import { freePort } from "../../lib/io/ports.ts";
import { type Engine, engineEnv, resolveEngine } from "../container/engine.ts";
import { runServiceContainer } from "../container/service-image.ts";
import { alive, type RunningHub, tail } from "./hub.ts";
import { REPO, readJson, type SessionPaths, stateId } from "./paths.ts";
import { hubRequest } from "./runner.ts";
import { sh } from "./shell.ts";

/** How often the service asks the registry for the production version. */
const POLL_MS = 2000;

export interface ServiceRecord {
  kind: "container" | "process";
  url: string;
  port: number;
  /** container: its name, engine and image. */
  name?: string;
  engine?: Engine;
  image?: string;
  /** process: its id and log. */
  pid?: number;
  log?: string;
  /** The local GitHub it follows. */
  apiUrl: string;
  startedAt: string;
}

/** The cache volume of the session's container (downloaded bundles survive a restart). */
export function cacheVolume(paths: SessionPaths): string {
  return `house-price-local-${stateId(paths)}-cache`;
}

async function containerRunning(engine: Engine, name: string): Promise<boolean> {
  const inspect = await sh({
    env: engineEnv(engine),
    nothrow: true,
  })`${engine} inspect --format {{.State.Running}} ${name}`;
  return inspect.stdout.trim() === "true";
}

/** The service of `paths` when it runs; null otherwise (a stale record is removed). */
export async function runningService(paths: SessionPaths): Promise<ServiceRecord | null> {
  const record = await readJson<ServiceRecord>(paths.serviceJson);
  if (!record) return null;
  const running =
    record.kind === "container"
      ? Boolean(record.engine && record.name) &&
        (await containerRunning(record.engine as Engine, record.name as string))
      : alive(record.pid ?? -1);
  if (running) return record;
  await rm(paths.serviceJson, { force: true });
  return null;
}

/** Fails with a message a person can act on when `port` is taken. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new UsageError(
              `port ${port} is in use, so ${what} cannot listen there: stop what uses it (ss -ltnp 'sport = :${port}' shows it), or choose another port with --port`,
            )
          : error,
      ),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

/**
 * Starts the service in registry mode against `hub`, with a read-only token of its own: the
 * container of `image` when a container engine is here, else `node deploy/server/index.ts`.
 */
export async function startService(
  paths: SessionPaths,
  hub: RunningHub,
  options: { image?: string; port?: number } = {},
): Promise<ServiceRecord> {
  const port = options.port ?? (await freePort());
  await assertPortFree(port, "the local service");
  await mkdir(paths.serviceDir, { recursive: true });
  const { token } = await hubRequest<{ token: string }>(hub, "POST", "/_local/tokens", {
    kind: "app",
    app: "local-service",
    permissions: { contents: "read" },
  });
  const tokenFile = join(paths.serviceDir, "registry-token");
  await writeFile(tokenFile, `${token}\n`);
  // The container's user (uid 1000) reads it through a read-only bind mount; it can only read tags
  // and releases of this local repository.
  await chmod(tokenFile, 0o644);
  const registry = {
    MODEL_SOURCE: "registry",
    REGISTRY_REPOSITORY: hub.repository,
    GITHUB_API_URL: hub.apiUrl,
    REGISTRY_POLL_MS: String(POLL_MS),
  };
  const engine = options.image ? await resolveEngine() : null;
  let record: ServiceRecord;
  if (engine && options.image) {
    const name = `house-price-local-${stateId(paths)}`;
    await sh({ env: engineEnv(engine), nothrow: true })`${engine} rm --force ${name}`;
    const container = await runServiceContainer(engine, options.image, {
      port,
      name,
      env: {
        ...registry,
        REGISTRY_TOKEN_FILE: "/run/secrets/registry-token",
        MODEL_CACHE_DIR: "/cache",
      },
      volumes: [`${tokenFile}:/run/secrets/registry-token:ro`, `${cacheVolume(paths)}:/cache`],
    });
    record = {
      kind: "container",
      url: container.url,
      port,
      name,
      engine,
      image: options.image,
      apiUrl: hub.apiUrl,
      startedAt: new Date().toISOString(),
    };
  } else {
    const log = join(paths.serviceDir, "service.log");
    const output = await open(log, "a");
    const child = spawn(process.execPath, ["deploy/server/index.ts"], {
      cwd: REPO,
      detached: true,
      stdio: ["ignore", output.fd, output.fd],
      env: {
        ...process.env,
        ...registry,
        REGISTRY_TOKEN_FILE: tokenFile,
        MODEL_CACHE_DIR: join(paths.serviceDir, "cache"),
        HOST: "127.0.0.1",
        PORT: String(port),
      },
    });
    child.unref();
    await output.close();
    record = {
      kind: "process",
      url: `http://127.0.0.1:${port}`,
      port,
      pid: child.pid,
      log,
      apiUrl: hub.apiUrl,
      startedAt: new Date().toISOString(),
    };
  }
  await writeJsonAtomic(paths.serviceJson, record);
  return record;
}

/** The service's log, last lines. */
export async function serviceLogs(record: ServiceRecord): Promise<string> {
  if (record.kind === "process") return record.log ? tail(record.log) : "";
  const logs = await sh({
    env: engineEnv(record.engine as Engine),
    nothrow: true,
  })`${record.engine as Engine} logs --tail 15 ${record.name as string}`;
  return `${logs.stdout}${logs.stderr}`.trimEnd();
}

/** Waits until the service reports `version` on /model; the error carries its log. */
export async function waitForService(
  record: ServiceRecord,
  version: string,
  timeoutMs = 90_000,
): Promise<void> {
  try {
    await waitForVersion(record.url, version, timeoutMs);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\nthe service's log ends:\n${await serviceLogs(record)}`,
    );
  }
}

/** GET /model of the service: its answer, or the reason there is none. */
export async function serviceModel(
  record: ServiceRecord,
): Promise<{ status: number; body: Record<string, unknown> } | { error: string }> {
  try {
    const response = await fetch(`${record.url}/model`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Stops the service of `paths` if it runs; true when it did. */
export async function stopService(paths: SessionPaths): Promise<boolean> {
  const record = await readJson<ServiceRecord>(paths.serviceJson);
  if (!record) return false;
  if (record.kind === "container" && record.engine && record.name) {
    const engine = sh({ env: engineEnv(record.engine), nothrow: true });
    await engine`${record.engine} stop -t 10 ${record.name}`;
    await engine`${record.engine} rm --force ${record.name}`;
  } else if (record.pid && alive(record.pid)) {
    process.kill(record.pid, "SIGTERM");
    const deadline = Date.now() + 15_000;
    while (alive(record.pid) && Date.now() < deadline) await sleep(100);
    if (alive(record.pid)) process.kill(record.pid, "SIGKILL");
  }
  await rm(paths.serviceJson, { force: true });
  return true;
}

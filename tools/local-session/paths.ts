// Where a local session keeps its state: everything under one folder of the checkout
// (`.local-github/`, gitignored), so `npm run act -- down --reset` removes all of it.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeJsonAtomic } from "../../lib/io/files.ts";

/** The checkout the session runs from (its commit is what gets pushed). */
export const REPO = fileURLToPath(new URL("../..", import.meta.url));

export interface SessionPaths {
  stateDir: string;
  /** The local GitHub's own files (tools/local-github/README.md): where it answers, the owner's token. */
  serverJson: string;
  ownerToken: string;
  /** What the local GitHub printed while running in the background. */
  serverLog: string;
  /** One act log per run: `<run id>-<workflow>.log`. */
  runsDir: string;
  /** act's clones of the runs' commits and its artifact server's files. */
  workDir: string;
  /** The local service: its record, read-only registry token, log and model cache. */
  serviceDir: string;
  serviceJson: string;
  /** What the session itself remembers (settings applied, images it built). */
  sessionJson: string;
}

export function sessionPaths(stateDir = join(REPO, ".local-github")): SessionPaths {
  return {
    stateDir,
    serverJson: join(stateDir, "server.json"),
    ownerToken: join(stateDir, "owner-token"),
    serverLog: join(stateDir, "server.log"),
    runsDir: join(stateDir, "runs"),
    workDir: join(stateDir, "work"),
    serviceDir: join(stateDir, "service"),
    serviceJson: join(stateDir, "service", "service.json"),
    sessionJson: join(stateDir, "session.json"),
  };
}

/** A short name that differs between state folders, for things outside them (container names). */
export function stateId(paths: SessionPaths): string {
  return createHash("sha256").update(paths.stateDir).digest("hex").slice(0, 8);
}

/** The log file of a run. */
export function runLogPath(paths: SessionPaths, run: { id: number; workflow: string }): string {
  const name = run.workflow.replace(/^.*\//, "").replace(/\.ya?ml$/, "");
  return join(paths.runsDir, `${run.id}-${name}.log`);
}

/** Reads a JSON file; null when it does not exist. */
export async function readJson<T>(path: string): Promise<T | null> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  return text === null ? null : (JSON.parse(text) as T);
}

/** What the session remembers between commands. */
export interface SessionRecord {
  /** The repository settings of "Set up on GitHub" have been applied once. */
  configured?: boolean;
  /** Images deploy.yml built in this session (removed by `down --reset`). */
  images?: string[];
}

export async function readSession(paths: SessionPaths): Promise<SessionRecord> {
  return (await readJson<SessionRecord>(paths.sessionJson)) ?? {};
}

export async function updateSession(
  paths: SessionPaths,
  change: (record: SessionRecord) => SessionRecord,
): Promise<SessionRecord> {
  const record = change(await readSession(paths));
  await writeJsonAtomic(paths.sessionJson, record);
  return record;
}

// act-only stand-in for actions/cache (the project's own code, not the real action's): restores and
// saves paths through act's cache server (ACTIONS_CACHE_URL, its v1 `_apis/artifactcache` API),
// as zstd-compressed tar archives. Like the real action, a cache that cannot be reached is a
// warning and a miss, never a failed step. Node's built-ins, tar and zstd only: it runs before the
// project's dependencies are installed.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { appendFile, mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";

const CHUNK_BYTES = 32 * 1024 * 1024;

export function input(name: string): string {
  return (process.env[`INPUT_${name.toUpperCase()}`] ?? "").trim();
}

/** Appends `name=value` to one of the runner's command files (GITHUB_OUTPUT, GITHUB_STATE). */
export async function setVariable(
  file: "GITHUB_OUTPUT" | "GITHUB_STATE",
  name: string,
  value: string,
) {
  await appendFile(process.env[file] as string, `${name}=${value}\n`);
}

export function warn(message: string) {
  console.log(`::warning::${message}`);
}

/** One error boundary for each entry: a thrown error fails the step with its message. */
export async function runStep(main: () => Promise<void>) {
  try {
    await main();
  } catch (error) {
    console.log(
      `::error::cache (act stand-in): ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exitCode = 1;
  }
}

export interface CacheSpec {
  /** The `path` input's lines, as written. */
  paths: string[];
  key: string;
  restoreKeys: string[];
}

/** Reads path, key and restore-keys; only plain paths (no globs), as this project uses. */
export function cacheSpec(): CacheSpec {
  const paths = input("path")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const key = input("key");
  if (paths.length === 0) throw new Error("path: give at least one path to cache");
  if (!key) throw new Error("key: give the cache key");
  if (key.includes(",")) throw new Error(`key "${key}": a cache key cannot contain a comma`);
  const glob = paths.find((path) => /[*?[]/.test(path));
  if (glob) throw new Error(`path "${glob}": the act stand-in takes plain paths, no globs`);
  const restoreKeys = input("restore-keys")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return { paths, key, restoreKeys };
}

const workspace = () => process.env.GITHUB_WORKSPACE ?? process.cwd();

/**
 * A path as tar should name it: a relative one relative to the workspace (`../x` included), so it
 * lands in the restoring job's workspace, which act puts in a new folder for every job; an
 * absolute one (or `~/…`) as is.
 */
function archivePath(path: string): string {
  if (/^~(?=$|\/)/.test(path)) return path.replace(/^~/, homedir());
  if (isAbsolute(path)) return path;
  return relative(workspace(), resolve(workspace(), path)) || ".";
}

/** Ties an archive to its paths and format, as the real action's cache version does. */
function cacheVersion(paths: string[]): string {
  return createHash("sha256")
    .update([...paths, "zstd", "act-stand-in"].join("|"))
    .digest("hex");
}

function cacheUrl(path: string): string {
  const base = process.env.ACTIONS_CACHE_URL;
  if (!base) throw new Error("ACTIONS_CACHE_URL is not set: act runs without its cache server");
  return `${base.replace(/\/?$/, "/")}_apis/artifactcache/${path}`;
}

async function request(method: string, url: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(url, {
    method,
    ...init,
    headers: {
      accept: "application/json;api-version=6.0-preview.1",
      authorization: `Bearer ${process.env.ACTIONS_RUNTIME_TOKEN ?? ""}`,
      ...init.headers,
    },
  });
  if (!response.ok) {
    throw new Error(
      `${method} ${new URL(url).pathname}: HTTP ${response.status} ${await response.text()}`,
    );
  }
  return response;
}

function tar(args: string[], cwd: string) {
  return promisify(execFile)("tar", args, { cwd, maxBuffer: 16 * 1024 * 1024 });
}

export interface Restored {
  /** The key of the restored entry (lower case, as act's server keeps keys), or null on a miss. */
  matchedKey: string | null;
  exact: boolean;
}

/** Looks up `spec` (key, then restore-keys by prefix) and unpacks the hit unless `lookupOnly`. */
export async function restoreCache(spec: CacheSpec, lookupOnly = false): Promise<Restored> {
  const keys = [spec.key, ...spec.restoreKeys].map(encodeURIComponent).join(",");
  let found: { archiveLocation: string; cacheKey: string } | null;
  try {
    const response = await request(
      "GET",
      cacheUrl(`cache?keys=${keys}&version=${cacheVersion(spec.paths)}`),
    );
    found = response.status === 204 ? null : ((await response.json()) as typeof found);
  } catch (error) {
    warn(`cache lookup failed, continuing without it: ${(error as Error).message}`);
    return { matchedKey: null, exact: false };
  }
  if (!found) return { matchedKey: null, exact: false };
  const exact = found.cacheKey.toLowerCase() === spec.key.toLowerCase();
  if (lookupOnly) return { matchedKey: found.cacheKey, exact };
  try {
    const store = unpackedStore(spec, found);
    if (store) await linkFromStore(spec, found.archiveLocation, store);
    else await extract(found.archiveLocation, workspace(), ["-P"]);
    console.log(`Restored ${spec.paths.join(", ")} from cache ${found.cacheKey}`);
  } catch (error) {
    warn(
      `restoring cache ${found.cacheKey} failed, continuing without it: ${(error as Error).message}`,
    );
    return { matchedKey: null, exact: false };
  }
  return { matchedKey: found.cacheKey, exact };
}

/** Streams the archive from the cache server straight into `tar -x` in `dir`. */
async function extract(archiveLocation: string, dir: string, flags: string[]) {
  const response = await request("GET", archiveLocation);
  const untar = spawn("tar", ["--zstd", "-x", ...flags, "-f", "-"], {
    cwd: dir,
    stdio: ["pipe", "inherit", "inherit"],
  });
  const exited = new Promise<number | null>((resolveExit, reject) => {
    untar.once("error", reject);
    untar.once("close", resolveExit);
  });
  await pipeline(Readable.fromWeb(response.body as never), untar.stdin);
  const code = await exited;
  if (code !== 0) throw new Error(`tar exited with ${code}`);
}

/**
 * Where the runner's tool cache keeps this cache entry unpacked, when all its paths are inside the
 * workspace; else null. Unpacking 18,000 files of node_modules for every job is most of a job's
 * setup under act, so each archive is unpacked once per machine and every restore hard-links it
 * into the job's workspace (the same file system: both live in act's action cache). The steps
 * here only add files to a restored node_modules, never rewrite one in place, so the shared copy
 * stays as it was unpacked. The folder may be deleted at any time.
 */
function unpackedStore(
  spec: CacheSpec,
  found: { archiveLocation: string; cacheKey: string },
): string | null {
  const toolCache = process.env.RUNNER_TOOL_CACHE;
  const entries = spec.paths.map(archivePath);
  if (!toolCache || entries.some((entry) => isAbsolute(entry) || entry.startsWith(".."))) {
    return null;
  }
  const id = new URL(found.archiveLocation).pathname.split("/").at(-1);
  const name = createHash("sha256")
    .update([found.cacheKey, cacheVersion(spec.paths), id].join("|"))
    .digest("hex")
    .slice(0, 32);
  return join(toolCache, "act-cache-unpacked", name);
}

async function linkFromStore(spec: CacheSpec, archiveLocation: string, store: string) {
  if (!(await stat(store).catch(() => null))) {
    await mkdir(dirname(store), { recursive: true });
    const staging = await mkdtemp(`${store}.unpacking-`);
    try {
      await extract(archiveLocation, staging, []);
      // One rename puts the whole copy in place; a job beside this one may have been first.
      await rename(staging, store).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  for (const entry of spec.paths.map(archivePath)) {
    const from = join(store, entry);
    if (!(await stat(from).catch(() => null))) continue;
    const to = join(workspace(), entry);
    await mkdir(dirname(to), { recursive: true });
    await promisify(execFile)("cp", ["--archive", "--link", "--force", "-T", from, to]);
  }
}

/** Archives the paths of `spec` and stores them under its key; returns false when nothing was saved. */
export async function saveCache(spec: CacheSpec): Promise<boolean> {
  const present: string[] = [];
  for (const path of spec.paths) {
    const entry = archivePath(path);
    if (await stat(resolve(workspace(), entry)).catch(() => null)) present.push(entry);
    else warn(`path ${path} does not exist; not cached`);
  }
  if (present.length === 0) return false;
  const dir = await mkdtemp(join(tmpdir(), "act-cache-"));
  try {
    const archive = join(dir, "cache.tzst");
    await tar(["--posix", "-I", "zstd -T0 -3", "-cPf", archive, ...present], workspace());
    const { size } = await stat(archive);
    const reserved = await request("POST", cacheUrl("caches"), {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: spec.key, version: cacheVersion(spec.paths), cacheSize: size }),
    });
    const { cacheId } = (await reserved.json()) as { cacheId: number };
    for (let start = 0; start < size; start += CHUNK_BYTES) {
      const end = Math.min(start + CHUNK_BYTES, size) - 1;
      await request("PATCH", cacheUrl(`caches/${cacheId}`), {
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `bytes ${start}-${end}/*`,
        },
        body: Readable.toWeb(createReadStream(archive, { start, end })) as never,
        duplex: "half",
      } as RequestInit);
    }
    await request("POST", cacheUrl(`caches/${cacheId}`), {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ size }),
    });
    console.log(
      `Saved ${spec.paths.join(", ")} as cache ${spec.key} (${(size / 1e6).toFixed(1)} MB)`,
    );
    return true;
  } catch (error) {
    warn(`saving cache ${spec.key} failed: ${(error as Error).message}`);
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sets the outputs the real action sets after a restore. */
export async function setRestoreOutputs(spec: CacheSpec, restored: Restored) {
  await setVariable("GITHUB_OUTPUT", "cache-hit", String(restored.exact));
  await setVariable("GITHUB_OUTPUT", "cache-primary-key", spec.key);
  await setVariable("GITHUB_OUTPUT", "cache-matched-key", restored.matchedKey ?? "");
}

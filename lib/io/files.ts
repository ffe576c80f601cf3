import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Worker } from "node:worker_threads";

/** A temp path beside `path` (same folder, so a rename onto `path` is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
}

/** Writes `data` to `path` atomically: to a temp file in the same folder, then rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Writes `value` as pretty JSON to `path` atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Runs `produce(tempPath)` and renames the temp file onto `path` only if it succeeds. */
export async function produceAtomic<T>(
  path: string,
  produce: (tempPath: string) => Promise<T>,
): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    const result = await produce(temp);
    await rename(temp, path);
    return result;
  } catch (error) {
    await rm(temp, { force: true, recursive: true });
    throw error;
  }
}

/** Bytes read at a time by sha256File. */
const HASH_READ_BYTES = 4 * 1024 * 1024;

/**
 * The hex sha256 of a file, read in 4 MiB pieces into one reused buffer: a stream's fresh buffer
 * per piece (and its default 64 KiB pieces) costs more than the hashing itself.
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(HASH_READ_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

/** Starting a thread costs about 40 ms, as long as hashing some 40 MB: smaller files are hashed here. */
const OFF_THREAD_FROM_BYTES = 32 * 1024 * 1024;

/**
 * sha256File on a worker thread of its own, for a large file hashed while this thread (and
 * polars' threads) do other work with it; the worker reads the file again, from the page cache.
 * A file smaller than `fromBytes` is hashed on this thread.
 */
export async function sha256FileOffThread(
  path: string,
  fromBytes = OFF_THREAD_FROM_BYTES,
): Promise<string> {
  if ((await stat(path)).size < fromBytes) return sha256File(path);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./sha256-worker.ts", import.meta.url), { workerData: path });
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) =>
      reject(new Error(`${path}: the hashing thread stopped (exit ${code})`)),
    );
  });
}

/** The hex sha256 of bytes or a string. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Builds a whole output folder in a temp folder beside `dir`, then swaps it into place,
 * so a failure leaves the previous `dir` (or none) and never a half-written one.
 */
export async function produceDirAtomic<T>(
  dir: string,
  produce: (tempDir: string) => Promise<T>,
): Promise<T> {
  await mkdir(dirname(dir), { recursive: true });
  const temp = tempPathFor(dir);
  await mkdir(temp);
  let result: T;
  try {
    result = await produce(temp);
  } catch (error) {
    await rm(temp, { force: true, recursive: true });
    throw error;
  }
  const old = `${temp}.old`;
  const hadOld = await rename(dir, old).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return false;
      throw error;
    },
  );
  await rename(temp, dir);
  if (hadOld) await rm(old, { force: true, recursive: true });
  return result;
}

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

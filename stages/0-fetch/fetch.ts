// Gets the California housing CSV: downloads it (or copies a local file), verifies its
// sha256 and only then puts it in place, so a broken download never looks like data.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { produceAtomic } from "../../lib/io/files.ts";

/** Where users download the dataset from (the public copy of the Hands-On ML book). */
export const HOUSING_URL =
  "https://raw.githubusercontent.com/ageron/handson-ml2/master/datasets/housing/housing.csv";
/** The sha256 of the exact housing.csv bytes the pipeline is built and tested on. */
export const HOUSING_SHA256 = "8a3727f4cf54ac1a327f69b1d5b4db54c5834ea81c6e4efc0d163300022a685e";
export const HOUSING_BYTES = 1_423_529;
export const DEFAULT_DATASET_PATH = "data/housing.csv";

export interface FetchOptions {
  /** Where the verified file ends up. */
  dest: string;
  /** Download from here (default HOUSING_URL); ignored when `from` is given. */
  url?: string;
  /** Copy this local file instead of downloading. */
  from?: string;
  /** The expected hex sha256 (default HOUSING_SHA256). */
  sha256?: string;
  /** Called as bytes arrive; `total` is null when the size is not known in advance. */
  onProgress?: (bytes: number, total: number | null) => void;
}

export interface FetchResult {
  path: string;
  sha256: string;
  bytes: number;
  /** The URL or local path the bytes came from. */
  source: string;
}

/** Downloads `url` (or copies `from`) to `dest` via a temp file, verifying the sha256 first. */
export async function fetchDataset(options: FetchOptions): Promise<FetchResult> {
  const expected = (options.sha256 ?? HOUSING_SHA256).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) {
    throw new Error(`sha256 "${options.sha256}" is not 64 hex digits`);
  }
  const opened = options.from
    ? await openLocal(options.from)
    : await openUrl(options.url ?? HOUSING_URL);
  return produceAtomic(options.dest, async (tempPath) => {
    const hash = createHash("sha256");
    let bytes = 0;
    try {
      await pipeline(
        opened.body,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            bytes += chunk.length;
            options.onProgress?.(bytes, opened.total);
            yield chunk;
          }
        },
        createWriteStream(tempPath),
      );
    } catch (error) {
      const expectedSize = opened.total === null ? "" : ` of ${opened.total} expected`;
      throw new Error(
        `${opened.source}: transfer broke off after ${bytes} bytes${expectedSize}: ${describe(error)}`,
        { cause: error },
      );
    }
    if (opened.total !== null && bytes !== opened.total) {
      throw new Error(
        `${opened.source}: got ${bytes} bytes, but ${opened.sizeFrom} said ${opened.total}`,
      );
    }
    const actual = hash.digest("hex");
    if (actual !== expected) {
      throw new Error(
        `${opened.source}: sha256 is ${actual} (${bytes} bytes), expected ${expected}; ` +
          "the file is corrupt or not the expected dataset, so it was not saved",
      );
    }
    return { path: options.dest, sha256: actual, bytes, source: opened.source };
  });
}

/** Fetches the dataset to `path` unless a file is already there (which is then used as is). */
export async function ensureDataset(
  path: string,
  options: Omit<FetchOptions, "dest"> = {},
): Promise<(FetchResult & { fetched: true }) | { path: string; fetched: false }> {
  const existing = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  if (existing) {
    if (!existing.isFile()) throw new Error(`${path} exists but is not a file`);
    return { path, fetched: false };
  }
  return { ...(await fetchDataset({ ...options, dest: path })), fetched: true };
}

interface OpenedSource {
  source: string;
  body: Readable;
  total: number | null;
  /** What told us `total`, for the error when fewer bytes arrive. */
  sizeFrom: string;
}

async function openLocal(path: string): Promise<OpenedSource> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      error.code === "ENOENT"
        ? `${path}: no such file (expected the housing CSV to copy)`
        : `${path}: cannot read it: ${error.message}`,
      { cause: error },
    );
  });
  if (!info.isFile()) throw new Error(`${path}: is not a file (expected the housing CSV to copy)`);
  return { source: path, body: createReadStream(path), total: info.size, sizeFrom: "its size" };
}

async function openUrl(url: string): Promise<OpenedSource> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`${url}: download failed: ${describe(error)}`, { cause: error });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`${url}: HTTP ${response.status} ${response.statusText}, expected 200 OK`);
  }
  // With a content-encoding, Content-Length counts compressed bytes, which fetch has already
  // decoded, so it cannot be compared to what we receive.
  const encoding = response.headers.get("content-encoding");
  const length = response.headers.get("content-length");
  const total = length !== null && (!encoding || encoding === "identity") ? Number(length) : null;
  return {
    source: url,
    body: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
    total: Number.isSafeInteger(total) ? total : null,
    sizeFrom: "Content-Length",
  };
}

/** The message of an error plus its cause's, e.g. "fetch failed (connect ECONNREFUSED ...)". */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}

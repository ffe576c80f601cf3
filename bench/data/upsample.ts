// Makes a large, deterministic housing CSV from the real one, for benchmarks at millions of rows.
import { createWriteStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { produceAtomic } from "../../lib/io/files.ts";

/** Bump when the generated rows change, so stale cached files are not reused. */
const GENERATOR_VERSION = 1;
/** Coordinates move by at most this many degrees: a few hundred metres. */
const JITTER_DEGREES = 0.005;
/** Share of rows made invalid on purpose, so both sides do real quarantine work. */
export const BAD_ROW_SHARE = 0.0005;

/** A seeded PRNG (mulberry32): the same seed gives the same rows on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SourceRow {
  longitude: number;
  latitude: number;
  /** The columns after latitude, joined as in the source. */
  rest: string;
}

/** Rows of the source CSV, split into the coordinates (which get jittered) and the rest. */
async function readSource(source: string): Promise<{ header: string; rows: SourceRow[] }> {
  const [header, ...lines] = (await readFile(source, "utf8")).split("\n");
  if (!header.startsWith("longitude,latitude,")) {
    throw new Error(`${source}: header "${header}" does not start with longitude,latitude`);
  }
  const rows = lines
    .filter((line) => line.length > 0)
    .map((line, index) => {
      const [longitude, latitude] = line.split(",", 2).map(Number);
      if (!Number.isFinite(longitude) || !Number.isFinite(latitude)) {
        throw new Error(`${source}, row ${index + 1}: coordinates "${line}" are not numbers`);
      }
      return {
        longitude,
        latitude,
        rest: line.slice(line.indexOf(",", line.indexOf(",") + 1) + 1),
      };
    });
  return { header, rows };
}

/** One deliberately invalid variant of a row: out of California, zero income or unknown category. */
function badRow(row: SourceRow, kind: number): string {
  const fields = row.rest.split(",");
  if (kind === 0) return `-130.5,${row.latitude},${row.rest}`;
  if (kind === 1)
    fields[5] = "0.0"; // median_income, the 6th column after latitude
  else fields[7] = "UNKNOWN"; // ocean_proximity
  return `${row.longitude},${row.latitude},${fields.join(",")}`;
}

/** Cycles through `rows`, jittering coordinates within the source's own bounding box. */
function* upsampledChunks(header: string, rows: SourceRow[], count: number, seed: number) {
  const random = seededRandom(seed);
  const bounds = {
    minLon: Math.min(...rows.map((row) => row.longitude)),
    maxLon: Math.max(...rows.map((row) => row.longitude)),
    minLat: Math.min(...rows.map((row) => row.latitude)),
    maxLat: Math.max(...rows.map((row) => row.latitude)),
  };
  const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
  const round4 = (value: number) => Math.round(value * 10_000) / 10_000;
  let chunk = `${header}\n`;
  for (let i = 0; i < count; i++) {
    const row = rows[i % rows.length];
    const longitude = round4(
      clamp(row.longitude + (random() * 2 - 1) * JITTER_DEGREES, bounds.minLon, bounds.maxLon),
    );
    const latitude = round4(
      clamp(row.latitude + (random() * 2 - 1) * JITTER_DEGREES, bounds.minLat, bounds.maxLat),
    );
    const bad = random();
    chunk +=
      bad < BAD_ROW_SHARE
        ? `${badRow(row, Math.floor((bad / BAD_ROW_SHARE) * 3))}\n`
        : `${longitude},${latitude},${row.rest}\n`;
    if (chunk.length >= 1 << 20) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk) yield chunk;
}

/**
 * Returns the path of a `rows`-row CSV upsampled from `source` in `cacheDir`, writing it
 * (streamed, atomically) only when it is not cached yet.
 */
export async function upsampleHousing(options: {
  source: string;
  rows: number;
  cacheDir: string;
  seed?: number;
}): Promise<{ path: string; cached: boolean; bytes: number }> {
  const seed = options.seed ?? 42;
  const path = join(
    options.cacheDir,
    `housing-${options.rows}-seed${seed}-v${GENERATOR_VERSION}.csv`,
  );
  const existing = await stat(path).catch(() => null);
  if (existing) return { path, cached: true, bytes: existing.size };
  const { header, rows } = await readSource(options.source);
  await produceAtomic(path, (temp) =>
    pipeline(
      Readable.from(upsampledChunks(header, rows, options.rows, seed)),
      createWriteStream(temp),
    ),
  );
  return { path, cached: false, bytes: (await stat(path)).size };
}

// Small housing CSVs for tests, and the real dataset's location.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const HEADER =
  "longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,median_house_value,ocean_proximity";

const PROXIMITY = ["<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY", "ISLAND"];

/**
 * The real dataset shared with the project (../shared/data/housing.csv), or null when absent, and
 * the tests that need it skip. Under CI=true its absence throws instead: CI fetches it (ci.yml,
 * .ci/run), and a CI run must not pass with fewer tests than it shows.
 */
export const REAL_HOUSING_CSV: string | null = (() => {
  const path = fileURLToPath(new URL("../../../shared/data/housing.csv", import.meta.url));
  if (existsSync(path)) return path;
  if (process.env.CI === "true") {
    throw new Error(
      `the real dataset ${path} is absent and CI=true; fetch it: npm run data:fetch -- --out ${path}`,
    );
  }
  return null;
})();

/** One plausible data line; `i` varies the values deterministically. */
export function housingLine(i: number): string {
  const longitude = (-122 + (i % 50) * 0.1).toFixed(2);
  const latitude = (34 + (i % 30) * 0.1).toFixed(2);
  const rooms = 800 + ((i * 37) % 3000);
  const bedrooms = i % 7 === 0 ? "" : String(100 + ((i * 13) % 500));
  const population = 300 + ((i * 17) % 2000);
  const households = 100 + ((i * 11) % 400);
  const income = (1 + ((i * 7) % 90) / 10).toFixed(4);
  const value = 50_000 + ((i * 7919) % 400_000);
  return [
    longitude,
    latitude,
    1 + (i % 52),
    rooms,
    bedrooms,
    population,
    households,
    income,
    value,
    PROXIMITY[i % PROXIMITY.length],
  ].join(",");
}

/** `line` with the field of `column` replaced by `value`. */
export function withField(line: string, column: string, value: string): string {
  const fields = line.split(",");
  fields[HEADER.split(",").indexOf(column)] = value;
  return fields.join(",");
}

/** A CSV text with `rows` plausible data lines. */
export function housingCsv(rows: number, header = HEADER): string {
  const lines = [header];
  for (let i = 0; i < rows; i++) lines.push(housingLine(i));
  return `${lines.join("\n")}\n`;
}

/** A fresh temp folder, removed by the returned cleanup. */
export async function tempDir(
  prefix = "house-price-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

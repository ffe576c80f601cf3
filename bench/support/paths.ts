// Where the benchmarks read and write: the checkout, .bench/ (git-ignored) and the dataset.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_DATASET_PATH, ensureDataset } from "../../stages/0-fetch/fetch.ts";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
/** Scratch space, caches, the Python venv and the reports of the latest runs. */
export const BENCH_DIR = join(REPO, ".bench");

/** The dataset shared beside the checkout on the project's machines. */
const SHARED_DATASET = join(REPO, "..", "shared", "data", "housing.csv");

/**
 * The housing CSV: `--source` when given; else the shared copy beside the checkout, HOUSING_CSV,
 * or data/housing.csv, which is downloaded and verified when missing (as `npm run pipeline` does).
 */
export async function benchDataset(source: string | undefined): Promise<string> {
  if (source) {
    if (!existsSync(source)) throw new Error(`--source ${source}: no such file`);
    return source;
  }
  if (existsSync(SHARED_DATASET)) return SHARED_DATASET;
  const path = process.env.HOUSING_CSV ?? join(REPO, DEFAULT_DATASET_PATH);
  const dataset = await ensureDataset(path);
  if (dataset.fetched) console.error(`bench: fetched ${path} (sha256 ${dataset.sha256})`);
  return path;
}

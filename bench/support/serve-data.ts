// What the serving benchmarks (serve, deploy) serve: the real data's features, and the seed-style
// anchor's training data and pickled scikit-learn forest, cached under .bench/serve by the
// features' sha256 so that both benches and later runs share them.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { $ } from "zx";
import { loadSplit } from "../../lib/bundle/dataset.ts";
import { sha256File } from "../../lib/io/files.ts";
import { FEATURES_FILES } from "../../lib/schema/features.ts";
import { runIngest } from "../../stages/1-ingest/ingest.ts";
import { runFeatures } from "../../stages/2-features/features.ts";
import { BENCH_DIR, REPO } from "./paths.ts";

export const SERVE_DIR = join(BENCH_DIR, "serve");
/** The seed-style FastAPI service; it also trains and pickles the anchor's forest. */
export const FASTAPI_SERVE = join(REPO, "bench", "serve", "fastapi_serve.py");
/** The anchor's forest seed, fastapi_serve.py's default. */
export const ANCHOR_SEED = 42;

export interface ServeFeatures {
  featuresDir: string;
  /** The first 12 hex digits of features.parquet's sha256: names the caches made from it. */
  key: string;
}

/** Ingest + features of the real data into .bench/serve/pipeline. */
export async function prepareFeatures(source: string, bench: string): Promise<ServeFeatures> {
  const pipeline = join(SERVE_DIR, "pipeline");
  console.error(`bench ${bench}: ingest + features of the real data…`);
  await runIngest({ input: source, outDir: join(pipeline, "ingest") });
  const featuresDir = join(pipeline, "features");
  await runFeatures({ ingestDir: join(pipeline, "ingest"), outDir: featuresDir });
  const key = (await sha256File(join(featuresDir, FEATURES_FILES.features))).slice(0, 12);
  return { featuresDir, key };
}

/**
 * The anchor's folder: the training split as plain binary files and the feature schema, which
 * fastapi_serve.py reads (written once per features).
 */
export async function anchorData({ featuresDir, key }: ServeFeatures): Promise<string> {
  const anchorDir = join(SERVE_DIR, `anchor-${key}`);
  if (!existsSync(join(anchorDir, "shape.json"))) {
    const { train, schema } = await loadSplit(featuresDir);
    await mkdir(anchorDir, { recursive: true });
    await writeFile(
      join(anchorDir, "train_x.bin"),
      new Uint8Array(train.x.buffer, train.x.byteOffset, train.x.byteLength),
    );
    await writeFile(
      join(anchorDir, "train_y.bin"),
      new Uint8Array(train.y.buffer, train.y.byteOffset, train.y.byteLength),
    );
    await writeFile(join(anchorDir, FEATURES_FILES.schema), JSON.stringify(schema));
    // Written last: its presence means the folder is complete.
    await writeFile(
      join(anchorDir, "shape.json"),
      JSON.stringify({ train_rows: train.nRows, features: train.nFeatures }),
    );
  }
  return anchorDir;
}

/** The anchor's pickled `trees`-tree forest in `anchorDir`, trained with `python` when missing. */
export async function anchorPickle(
  python: string,
  anchorDir: string,
  trees: number,
): Promise<string> {
  const path = join(anchorDir, `anchor-${trees}-${ANCHOR_SEED}.pkl`);
  if (!existsSync(path)) {
    console.error(`bench: training the anchor's ${trees}-tree scikit-learn forest…`);
    await $({
      stdio: ["ignore", "pipe", "inherit"],
    })`${python} ${FASTAPI_SERVE} ${anchorDir} --train-only --trees ${trees} --seed ${ANCHOR_SEED}`;
  }
  return path;
}

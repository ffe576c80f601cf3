// What a session needs before it starts anything, checked first so a newcomer gets one message
// saying what to install or pass, instead of an error from deep inside a job.
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ACT_VERSION, findGoTool } from "../../.github/act.ts";
import { UsageError } from "../../lib/cli/program.ts";
import { sha256File } from "../../lib/io/files.ts";
import { progressPrinter } from "../../lib/io/progress.ts";
import { DEFAULT_DATASET_PATH, ensureDataset, HOUSING_SHA256 } from "../../stages/0-fetch/fetch.ts";
import { REPO } from "./paths.ts";
import { sh } from "./shell.ts";

/** The act binary; a usage error saying how to install it when it is missing. */
export async function requireAct(warn: (line: string) => void): Promise<string> {
  const act = await findGoTool("act");
  if (!act) {
    throw new UsageError(
      [
        "act is not installed; it runs the workflows' jobs on this machine.",
        `Install it with Go: go install github.com/nektos/act@v${ACT_VERSION}`,
        "(it lands in $(go env GOPATH)/bin, which is searched too; `sh .ci/install-tools.sh` installs it with the other tools the tests use).",
      ].join("\n"),
    );
  }
  const version = await sh({ nothrow: true })`${act} --version`;
  const found = /(\d+\.\d+\.\d+)/.exec(version.stdout)?.[1];
  if (found !== ACT_VERSION) {
    warn(
      `warning: ${act} is act ${found ?? "of an unknown version"}; this project is tested with ${ACT_VERSION} (go install github.com/nektos/act@v${ACT_VERSION})`,
    );
  }
  return act;
}

/**
 * The housing CSV the ingest job copies: `given` (--data or HOUSING_CSV), checked to be the
 * dataset; else data/housing.csv, downloaded (sha256-verified) when it is not there yet.
 */
export async function resolveDataset(
  given: string | undefined,
  print: (line: string) => void,
): Promise<string> {
  if (given) {
    const path = resolve(given);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) {
      throw new UsageError(
        `the dataset ${given} (--data or HOUSING_CSV): no such file. Give the path of housing.csv, or leave both out to download it.`,
      );
    }
    const sha256 = await sha256File(path);
    if (sha256 !== HOUSING_SHA256) {
      throw new UsageError(
        `the dataset ${given}: sha256 ${sha256}, expected ${HOUSING_SHA256}: it is not the California housing CSV this project is built on (or it is damaged).`,
      );
    }
    return path;
  }
  const path = join(REPO, DEFAULT_DATASET_PATH);
  const progress = progressPrinter("dataset", "bytes");
  try {
    const result = await ensureDataset(path, { onProgress: progress.update });
    if (result.fetched) print(`dataset: downloaded ${DEFAULT_DATASET_PATH} (sha256 verified)`);
    return path;
  } catch (error) {
    throw new UsageError(
      `the dataset is not here and could not be downloaded: ${(error as Error).message}\nGive a local copy: --data PATH (or HOUSING_CSV=PATH), or copy it into place: npm run data:fetch -- --from PATH`,
    );
  } finally {
    progress.end();
  }
}

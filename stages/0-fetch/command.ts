import { Command } from "commander";
import { settingsOf, UsageError, withSettings } from "../../lib/cli/program.ts";
import { text } from "../../lib/cli/settings.ts";
import { progressPrinter } from "../../lib/io/progress.ts";
import {
  DEFAULT_DATASET_PATH,
  type FetchResult,
  fetchDataset,
  HOUSING_SHA256,
  HOUSING_URL,
} from "./fetch.ts";

const FETCH_SETTINGS = {
  out: text({ description: "where to save the CSV", value: "PATH", default: DEFAULT_DATASET_PATH }),
  from: text({ description: "copy this local file instead of downloading", value: "PATH" }),
  url: text({ description: `download from here (default: ${HOUSING_URL})`, value: "URL" }),
  sha256: text({ description: `expected sha256 (default: ${HOUSING_SHA256})`, value: "HEX" }),
};

/** `fetch`: downloads or copies the dataset, printing progress to stderr. */
export function fetchCommand(): Command {
  return withSettings(new Command("fetch"), FETCH_SETTINGS)
    .summary("download the California housing CSV (or copy a local file), verifying its sha256")
    .description(
      "Download the California housing CSV (or copy a local file), verifying its sha256.\n" +
        "The file is written to a temp path beside --out and renamed only when its sha256 matches,\n" +
        "so a failed or corrupt download never replaces an existing file.",
    )
    .action(async (_options, command: Command) => {
      const settings = settingsOf(FETCH_SETTINGS, command);
      if (settings.from && settings.url)
        throw new UsageError("give either --from or --url, not both");
      const progress = progressPrinter("fetch", "bytes");
      let result: FetchResult;
      try {
        result = await fetchDataset({
          dest: settings.out,
          from: settings.from,
          url: settings.url,
          sha256: settings.sha256,
          onProgress: progress.update,
        });
      } catch (error) {
        // These messages already say what went wrong and where; a stack trace adds nothing.
        throw new UsageError(`fetch: ${(error as Error).message}`);
      } finally {
        progress.end();
      }
      console.log(
        `${result.path} sha256 ${result.sha256} (${result.bytes} bytes from ${result.source})`,
      );
    });
}

// How an action reads its inputs: every setting of its spec, at once, before any work starts.
// Names are the spec's keys (the same as the CLI's flags); booleans go through getBooleanInput
// and required inputs are required, so the action fails with the input's name and what to change.
import * as core from "@actions/core";
import {
  readSettings,
  type SettingSpec,
  type SettingValues,
  text,
} from "../../lib/cli/settings.ts";

/** Reads and validates every input of `spec`. */
export function readInputs<S extends SettingSpec>(spec: S): SettingValues<S> {
  try {
    return readSettings(spec, (name, setting) =>
      setting.kind === "boolean"
        ? core.getBooleanInput(name, { required: setting.required })
        : core.getInput(name, { required: setting.required }),
    );
  } catch (error) {
    throw new Error(`Invalid input ${(error as Error).message}`);
  }
}

/** The artifact a job's output folder is uploaded as, for later jobs. */
export function artifactName(what: string) {
  return text({
    description: `when set, upload ${what} as an artifact with this name (only inside Actions)`,
    value: "NAME",
  });
}

/** An artifact of this run to download into a folder before the work starts. */
export function artifactToDownload(what: string) {
  return text({
    description: `when set, download this artifact of the run into ${what} first`,
    value: "NAME",
  });
}

/** The registry's token: the job's GITHUB_TOKEN by default (action.yml's default). */
export const GITHUB_TOKEN_INPUT = text({
  description:
    "token for the GitHub registry (tags, releases, pull requests); without one the local git registry is used",
  value: "TOKEN",
});

/** action.yml's default of github-token: the job's own token. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow expression, not a template
export const JOB_TOKEN = "${{ github.token }}";

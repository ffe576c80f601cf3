import type { Command } from "../../lib/cli/command.ts";
import { DEFAULT_PARAMS_FILE, loadParams } from "../../lib/params/params.ts";
import { createRegistry } from "../../lib/registry/create-registry.ts";
import { FEATURES_OPTION, PARAM_OPTIONS, paramOverrides } from "../3-train/command.ts";
import { evaluateCandidate } from "./candidate.ts";

export const evaluateCommand: Command = {
  name: "evaluate",
  summary:
    "Score the latest registered model on the hold-out, apply the gate, assign staging on pass.",
  options: {
    features: FEATURES_OPTION,
    "work-dir": {
      type: "string",
      value: "DIR",
      default: ".pipeline/evaluate",
      description: "bundles and report",
    },
    version: {
      type: "string",
      value: "VERSION",
      description: "evaluate this version (default: the latest)",
    },
    params: {
      type: "string",
      value: "FILE",
      default: DEFAULT_PARAMS_FILE,
      description: "params file",
    },
    threshold: PARAM_OPTIONS.threshold,
    tolerance: PARAM_OPTIONS.tolerance,
  },
  details:
    "The registry is GitHub when GITHUB_TOKEN and GITHUB_REPOSITORY are set, else this repository's tags.\nExits non-zero with the reason when the gate fails; the report is written either way.",
  async run(values) {
    const params = await loadParams(values.params as string, paramOverrides(values));
    const result = await evaluateCandidate({
      registry: await createRegistry(),
      featuresDir: values.features as string,
      workDir: values["work-dir"] as string,
      version: values.version as string | undefined,
      ...params.evaluate,
    });
    console.log(
      `evaluate: ${result.tag} passed (hold-out RMSE ${result.report.candidate.metrics.rmse.toFixed(0)}); assigned ${result.stagingTag}; report in ${result.reportDir}`,
    );
  },
};

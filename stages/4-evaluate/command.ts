import { Command } from "commander";
import { settingsOf, withSettings } from "../../lib/cli/program.ts";
import type { RunContext } from "../../lib/cli/run-context.ts";
import { loadParams, paramOverrides } from "../../lib/params/params.ts";
import { createRegistry } from "../../lib/registry/create-registry.ts";
import { evaluateCandidate } from "./candidate.ts";
import { EVALUATE_SETTINGS } from "./settings.ts";

export function evaluateCommand(context: RunContext): Command {
  return withSettings(new Command("evaluate"), EVALUATE_SETTINGS)
    .summary(
      "score a candidate on the hold-out, apply the gate, register it, assign staging on pass",
    )
    .description(
      "Score a trained bundle (--bundle-dir) or a registered version on the hold-out, apply the gate,\n" +
        "register the bundle with its report, and assign staging on pass.\n" +
        "The registry is GitHub when GITHUB_TOKEN and GITHUB_REPOSITORY are set, else this repository's tags.\n" +
        "Exits non-zero with the reason when the gate fails; the report is written either way.",
    )
    .action(async (_options, command: Command) => {
      const settings = settingsOf(EVALUATE_SETTINGS, command);
      const params = await loadParams(settings["params-file"], paramOverrides(settings));
      const result = await evaluateCandidate({
        registry: await createRegistry(context.registry),
        featuresDir: settings["features-dir"],
        bundleDir: settings["bundle-dir"],
        version: settings.version,
        workDir: settings["work-dir"],
        warn: (message) => console.warn(`evaluate: ${message}`),
        ...params.evaluate,
      });
      console.log(
        `evaluate: ${result.tag} passed (hold-out RMSE ${result.report.candidate.metrics.rmse.toFixed(0)}); assigned ${result.stagingTag}; report in ${result.reportDir}`,
      );
    });
}

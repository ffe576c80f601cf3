import { Command } from "commander";
import { settingsOf, withSettings } from "../../lib/cli/program.ts";
import type { RunContext } from "../../lib/cli/run-context.ts";
import { createRegistry } from "../../lib/registry/create-registry.ts";
import { DEPLOY_FILE } from "../../lib/registry/pointer.ts";
import { runDeploy } from "./deploy.ts";
import { DEPLOY_SETTINGS } from "./settings.ts";

export function deployCommand(context: RunContext): Command {
  return withSettings(new Command("deploy"), DEPLOY_SETTINGS)
    .summary(`deploy the version ${DEPLOY_FILE} points at where the server loads it`)
    .description(
      `Deploy the version ${DEPLOY_FILE} points at (or --version, for a rollback) where the server loads it.\n` +
        "Downloads and verifies the model (sha256), swaps DIR/current to it atomically and assigns production.",
    )
    .action(async (_options, command: Command) => {
      const settings = settingsOf(DEPLOY_SETTINGS, command);
      const result = await runDeploy({
        registry: await createRegistry(context.registry),
        version: settings.version,
        pointerFile: settings["pointer-file"],
        modelsDir: settings["models-dir"],
        link: settings.link,
        assign: settings.assign,
      });
      console.log(
        `deploy: ${result.tag} verified in ${result.dir} (sha256 ${result.sha256})${result.current ? `; live at ${result.current}` : ""}${result.assignmentTag ? `; assigned ${result.assignmentTag}` : "; production not assigned"}`,
      );
    });
}

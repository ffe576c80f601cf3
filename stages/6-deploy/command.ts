import type { Command } from "../../lib/cli/command.ts";
import { createRegistry } from "../../lib/registry/create-registry.ts";
import { DEPLOY_FILE } from "../../lib/registry/pointer.ts";
import { DEFAULT_MODELS_DIR, runDeploy } from "./deploy.ts";

export const deployCommand: Command = {
  name: "deploy",
  summary: `Deploy the version ${DEPLOY_FILE} points at (or --version, for a rollback) where the server loads it.`,
  options: {
    version: {
      type: "string",
      value: "VERSION",
      description: "deploy this version instead of the pointer's",
    },
    pointer: {
      type: "string",
      value: "FILE",
      default: DEPLOY_FILE,
      description: "the GitOps pointer file",
    },
    "models-dir": {
      type: "string",
      value: "DIR",
      default: DEFAULT_MODELS_DIR,
      description: "where models go; the server loads DIR/current",
    },
  },
  details:
    "Downloads and verifies the model (sha256), swaps DIR/current to it atomically and assigns production.",
  async run(values) {
    const result = await runDeploy({
      registry: await createRegistry(),
      version: values.version as string | undefined,
      pointerFile: values.pointer as string,
      modelsDir: values["models-dir"] as string,
    });
    console.log(
      `deploy: ${result.tag} is live at ${result.current} (sha256 ${result.sha256}); assigned ${result.assignmentTag}`,
    );
  },
};

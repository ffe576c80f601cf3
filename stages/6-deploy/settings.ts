import { flag, text } from "../../lib/cli/settings.ts";
import { DEPLOY_FILE } from "../../lib/registry/pointer.ts";
import { DEFAULT_MODELS_DIR } from "./deploy.ts";

/** What deploy takes: the CLI's options and the action's inputs, by the same names. */
export const DEPLOY_SETTINGS = {
  version: text({
    description: `deploy this registered version instead of the one ${DEPLOY_FILE} points at (a rollback)`,
    value: "VERSION",
  }),
  "pointer-file": text({
    description: "the GitOps pointer file a merged promotion changed",
    value: "FILE",
    default: DEPLOY_FILE,
  }),
  "models-dir": text({
    description: "where models go; the server loads DIR/current",
    value: "DIR",
    default: DEFAULT_MODELS_DIR,
  }),
  link: flag({
    description: "point DIR/current at the version, where a server in folder mode loads it",
    default: "true",
  }),
  assign: flag({
    description:
      "assign the production stage in the registry; off to only resolve and verify the bundle (before a smoke test)",
    default: "true",
  }),
};

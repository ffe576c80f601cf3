import { text } from "../../lib/cli/settings.ts";
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
};

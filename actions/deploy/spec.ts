import { DEPLOY_SETTINGS } from "../../stages/6-deploy/settings.ts";
import { GITHUB_TOKEN_INPUT, JOB_TOKEN } from "../common/inputs.ts";
import type { ActionSpec } from "../common/spec.ts";

export const DEPLOY_ACTION = {
  id: "deploy",
  name: "House-price deploy",
  description:
    "downloads the version deploy/production.json points at (or a given version, for a rollback), verifies its sha256, places it where the service loads it and assigns production",
  inputs: { ...DEPLOY_SETTINGS, "github-token": GITHUB_TOKEN_INPUT },
  expressionDefaults: { "github-token": JOB_TOKEN },
  outputs: {
    version: "the deployed version",
    tag: "its registration tag",
    "model-dir": "the folder the verified bundle was placed in",
    sha256: "sha256 of the deployed model file",
  },
  permissions: { contents: "write (assigns the production stage: a tag)" },
  example: `name: Deploy the model
uses: ./actions/deploy
with:
  version: \${{ inputs.version }} # empty: the version deploy/production.json points at`,
} satisfies ActionSpec;

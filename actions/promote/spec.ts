import { text } from "../../lib/cli/settings.ts";
import { artifactToDownload, GITHUB_TOKEN_INPUT, JOB_TOKEN } from "../common/inputs.ts";
import type { ActionSpec } from "../common/spec.ts";

export const PROMOTE_ACTION = {
  id: "promote",
  name: "House-price promote",
  description:
    "opens (or updates) the pull request that points deploy/production.json at a version that passed evaluation; locally it creates the branch and prints how to merge",
  inputs: {
    version: text({
      description: "the version to promote, e.g. v1.2.0",
      value: "VERSION",
      required: true,
    }),
    "report-dir": text({
      description: "folder with the evaluation report (report.md), the pull request's body",
      value: "DIR",
      default: ".pipeline/evaluate/report",
    }),
    "report-artifact": artifactToDownload("report-dir"),
    "ci-workflow": text({
      description:
        "the workflow to dispatch on the promotion branch once the pull request is open, so its required checks report on the head commit (GITHUB_TOKEN's pushes start no workflows); empty when the token is an App's, whose push starts it",
      value: "FILE",
      default: "ci.yml",
    }),
    "github-token": GITHUB_TOKEN_INPUT,
  },
  expressionDefaults: { "github-token": JOB_TOKEN },
  outputs: {
    branch: "the promotion branch, promote/house-price-vX.Y.Z",
    "pr-url": "URL of the pull request (empty locally)",
    "pr-number": "number of the pull request (empty locally)",
    dispatched: "the workflow dispatched for the pull request's checks, empty when none",
  },
  permissions: {
    contents: "write (pushes the promotion branch)",
    "pull-requests": "write (opens or updates the promotion pull request and its comment)",
    actions: "write (dispatches ci-workflow on the promotion branch)",
  },
  example: `name: Open the promotion pull request
uses: ./actions/promote
with:
  version: \${{ needs.evaluate.outputs.version }}
  report-artifact: evaluation`,
} satisfies ActionSpec;

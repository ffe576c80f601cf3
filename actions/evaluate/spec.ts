import { EVALUATE_SETTINGS } from "../../stages/4-evaluate/settings.ts";
import {
  artifactName,
  artifactToDownload,
  GITHUB_TOKEN_INPUT,
  JOB_TOKEN,
} from "../common/inputs.ts";
import type { ActionSpec } from "../common/spec.ts";

export const EVALUATE_ACTION = {
  id: "evaluate",
  name: "House-price evaluate",
  description:
    "scores the trained bundle (and the production version) on the persisted hold-out, applies the gate, registers the bundle as a new version with its report and evaluation in one release, and assigns staging on pass; fails with the reason otherwise",
  inputs: {
    ...EVALUATE_SETTINGS,
    "features-artifact": artifactToDownload("features-dir"),
    "model-artifact": artifactToDownload("bundle-dir"),
    "artifact-name": artifactName("the report folder (report.md, evaluation.json, plots)"),
    "github-token": GITHUB_TOKEN_INPUT,
  },
  expressionDefaults: { "github-token": JOB_TOKEN },
  outputs: {
    passed: "true when the candidate passed the gate",
    version: "the registered version, e.g. v1.2.0",
    tag: "the version's registration tag",
    created: "false when the same model was registered before and that version is reused",
    rmse: "the candidate's hold-out RMSE",
    "staging-tag": "the staging assignment tag, empty when the gate failed",
    "report-file": "path of the markdown report",
  },
  permissions: {
    contents:
      "write (registers the version: an annotated tag and a release with its files; assigns staging)",
  },
  example: `name: Evaluate and register the candidate
uses: ./actions/evaluate
with:
  features-artifact: features
  model-artifact: model
  bundle-dir: .pipeline/train
  artifact-name: evaluation
  threshold: \${{ inputs.threshold }} # empty: params.json's evaluate.rmseThreshold`,
} satisfies ActionSpec;

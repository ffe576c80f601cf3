import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as core from "@actions/core";
import { preparePromotion } from "../../stages/5-promote/promote.ts";
import { readInputs } from "../common/inputs.ts";
import {
  actionContext,
  downloadDir,
  promotionTarget,
  runAction,
  writeSummary,
} from "../common/runtime.ts";
import { PROMOTE_ACTION } from "./spec.ts";

async function main() {
  const inputs = readInputs(PROMOTE_ACTION.inputs);
  const context = actionContext(inputs["github-token"]);
  const { version } = inputs;
  await downloadDir(inputs["report-artifact"], inputs["report-dir"]);
  const report = await readFile(join(inputs["report-dir"], "report.md"), "utf8");
  const target = await promotionTarget(context);
  const proposal = await preparePromotion(target, {
    version,
    report,
    checksWorkflow: inputs["ci-workflow"],
  });
  core.setOutput("branch", proposal.branch);
  core.setOutput("pr-url", proposal.pullRequest?.url ?? "");
  core.setOutput("pr-number", proposal.pullRequest?.number ?? "");
  core.setOutput("dispatched", proposal.dispatched ?? "");
  const what = proposal.pullRequest
    ? `${proposal.pullRequest.created ? "opened" : "updated"} ${proposal.pullRequest.url}`
    : (proposal.instructions ?? `branch ${proposal.branch}`);
  core.info(`promotion of ${version}: ${what}`);
  await writeSummary(`Promotion of house-price ${version}`, [
    ["Branch", proposal.branch],
    ["Pull request", proposal.pullRequest?.url ?? "none (local)"],
    ["deploy/production.json", `\`${JSON.stringify(proposal.pointer)}\``],
    ["Previously in production", proposal.from ?? "none"],
  ]);
}

await runAction(main);

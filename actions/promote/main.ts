import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as core from "@actions/core";
import { preparePromotion } from "../../stages/5-promote/promote.ts";
import {
  downloadDir,
  input,
  promotionTargetFromInputs,
  runAction,
  writeSummary,
} from "../common/runtime.ts";

async function main() {
  const version = input("version");
  if (!version) throw new Error("Invalid version input: give the version to promote, e.g. v1.2.0");
  const reportDir = input("report-dir", ".pipeline/evaluate/report");
  await downloadDir(input("report-artifact"), reportDir);
  const report = await readFile(join(reportDir, "report.md"), "utf8");
  const target = await promotionTargetFromInputs();
  const proposal = await preparePromotion(target, { version, report });
  core.setOutput("branch", proposal.branch);
  core.setOutput("pr-url", proposal.pullRequest?.url ?? "");
  core.setOutput("pr-number", proposal.pullRequest?.number ?? "");
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

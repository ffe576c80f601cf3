import { STAGES } from "../../lib/bundle/bundle.ts";
import {
  DEPLOY_FILE,
  type DeployPointer,
  deployPointer,
  parseDeployPointer,
} from "../../lib/registry/pointer.ts";
import type { PromotionTarget, ProposalResult } from "../../lib/registry/proposal.ts";
import type { Lineage, ModelVersion, Registry } from "../../lib/registry/types.ts";

// Promotion and rollback as reviewable changes to deploy/production.json: a branch, a commit and
// (on GitHub) a pull request whose body is the report, with one comment found by a hidden marker.

export interface DeployProposal extends ProposalResult {
  kind: "promotion" | "rollback";
  pointer: DeployPointer;
  /** The version deploy/production.json pointed at before, if any. */
  from: string | null;
}

/** The marker of a model's promotion (or rollback) comment, e.g. `<!-- house-price-promotion -->`. */
export function proposalMarker(name: string, kind: DeployProposal["kind"]): string {
  return `<!-- ${name}-${kind} -->`;
}

async function deployable(registry: Registry, ref: string): Promise<ModelVersion> {
  const details = await registry.show(ref);
  if (details.deprecated)
    throw new Error(`${details.tag} is deprecated and cannot go to production`);
  if (details.release.state !== "published") {
    throw new Error(
      `${details.tag} cannot go to production: its release is ${details.release.state}` +
        (details.release.missingAssets.length
          ? ` (missing ${details.release.missingAssets.join(", ")})`
          : "") +
        "; run `registry register <bundle-dir>` with its bundle to complete it",
    );
  }
  return details;
}

function metricRow(
  label: string,
  pick: (lineage: Lineage) => number,
  versions: (ModelVersion | null)[],
): string {
  const cells = versions.map((version) =>
    version?.lineage ? pick(version.lineage).toFixed(2) : "–",
  );
  return `| ${label} | ${cells.join(" | ")} |`;
}

function comparisonComment(
  marker: string,
  heading: string,
  target: ModelVersion,
  current: ModelVersion | null,
): string {
  const columns = [
    `${target.version} (proposed)`,
    current ? `${current.version} (now)` : "now: none",
  ];
  return [
    marker,
    `### ${heading}`,
    "",
    `| | ${columns.join(" | ")} |`,
    "| --- | ---: | ---: |",
    metricRow("validation RMSE", (lineage) => lineage.metrics.validation.rmse, [target, current]),
    metricRow("validation MAE", (lineage) => lineage.metrics.validation.mae, [target, current]),
    metricRow("validation R²", (lineage) => lineage.metrics.validation.r2, [target, current]),
    "",
    `Merging points \`${DEPLOY_FILE}\` at \`${target.tag}\` (model sha256 \`${target.lineage?.model.sha256}\`, commit \`${target.commit.slice(0, 12)}\`).`,
    ...(target.lineage?.run ? [`Trained by ${target.lineage.run.url}.`] : []),
  ].join("\n");
}

async function currentDeployment(
  target: PromotionTarget,
  base: string | undefined,
): Promise<{ pointer: DeployPointer | null; version: ModelVersion | null }> {
  const pointer = parseDeployPointer(await target.proposer.readFile(DEPLOY_FILE, base));
  if (pointer) {
    const version = (await target.registry.list()).find(
      (candidate) => candidate.version === pointer.version,
    );
    return { pointer, version: version ?? null };
  }
  const staged = await target.registry.stageVersion(STAGES.production);
  return { pointer: null, version: staged?.version ?? null };
}

async function propose(
  target: PromotionTarget,
  kind: DeployProposal["kind"],
  version: ModelVersion,
  current: ModelVersion | null,
  options: { report: string; base?: string; checksWorkflow?: string },
): Promise<DeployProposal> {
  const pointer = deployPointer(version);
  const marker = proposalMarker(version.name, kind);
  const verb = kind === "promotion" ? "Promote" : "Roll back";
  const title =
    kind === "promotion"
      ? `Promote ${version.name} ${version.version} to production`
      : `Roll back ${version.name} production to ${version.version}`;
  const result = await target.proposer.propose({
    branch: `${kind === "promotion" ? "promote" : "rollback"}/${version.name}-${version.version}`,
    base: options.base,
    path: DEPLOY_FILE,
    content: `${JSON.stringify(pointer, null, 2)}\n`,
    commitMessage: title,
    title,
    body: options.report,
    checksWorkflow: options.checksWorkflow,
    marker,
    comment: comparisonComment(
      marker,
      `${verb} ${version.name} → ${version.version}`,
      version,
      current,
    ),
  });
  return { ...result, kind, pointer, from: current?.version ?? null };
}

/** Opens (or updates) the change that points deploy/production.json at `options.version`. */
export async function preparePromotion(
  target: PromotionTarget,
  options: { version: string; report: string; base?: string; checksWorkflow?: string },
): Promise<DeployProposal> {
  const version = await deployable(target.registry, options.version);
  const { version: current } = await currentDeployment(target, options.base);
  return propose(target, "promotion", version, current, options);
}

/** Opens (or updates) the change that points deploy/production.json back at the previous
 * production version, or at `options.to`. */
export async function prepareRollback(
  target: PromotionTarget,
  options: { to?: string; report?: string; base?: string; checksWorkflow?: string } = {},
): Promise<DeployProposal> {
  const { registry } = target;
  const { version: current, pointer } = await currentDeployment(target, options.base);
  const currentVersion = current?.version ?? pointer?.version ?? null;
  let to = options.to;
  if (!to) {
    const versions = await registry.list();
    const history = await registry.history(STAGES.production);
    const previous = history
      .filter(
        (event) => event.kind === "assignment" && event.version && event.version !== currentVersion,
      )
      .reverse()
      .map((event) => versions.find((version) => version.version === event.version))
      .find((version) => version && !version.deprecated);
    if (!previous) {
      throw new Error(
        `no earlier ${STAGES.production} version of ${registry.name} to roll back to (now: ${currentVersion ?? "none"}); set to, the version to roll back to`,
      );
    }
    to = previous.version;
  }
  const version = await deployable(registry, to);
  if (version.version === currentVersion) {
    throw new Error(
      `${version.tag} is already what ${DEPLOY_FILE} points at; set to, another version to roll back to`,
    );
  }
  const report =
    options.report ??
    [
      `## Roll back ${registry.name} to ${version.version}`,
      "",
      `Production serves ${currentVersion ?? "nothing"}; this change points \`${DEPLOY_FILE}\` at \`${version.tag}\`.`,
    ].join("\n");
  return propose(target, "rollback", version, current, { ...options, report });
}

// `npm run registry -- <subcommand>`: list, show, history, assign, deprecate, register, promote, rollback.
import { readFile } from "node:fs/promises";
import { MODEL_NAME, STAGES } from "../lib/bundle/bundle.ts";
import {
  type Command,
  helpText,
  type OptionSpec,
  runCommand,
  UsageError,
} from "../lib/cli/command.ts";
import { createPromotionTarget, type RegistryConfig } from "../lib/registry/create-registry.ts";
import type { ModelVersion, RegistryEvent } from "../lib/registry/types.ts";
import {
  type DeployProposal,
  preparePromotion,
  prepareRollback,
} from "../stages/5-promote/promote.ts";

const INVOCATION = "npm run registry --";

type Values = Record<string, string | boolean | undefined>;

const COMMON: Record<string, OptionSpec> = {
  json: { type: "boolean", description: "print JSON instead of a table" },
  model: {
    type: "string",
    value: "NAME",
    default: MODEL_NAME,
    description: "model (GTO artifact) name",
  },
  backend: {
    type: "string",
    value: "local|github",
    description:
      "where the registry lives (default: github when GITHUB_TOKEN and GITHUB_REPOSITORY are set, else local)",
  },
  repo: {
    type: "string",
    value: "DIR",
    description: "local repository (default: the current directory)",
  },
};

/** Rows as aligned columns under a header line. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column])))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

function config(values: Values): RegistryConfig {
  const backend = values.backend;
  if (backend !== undefined && backend !== "local" && backend !== "github") {
    throw new UsageError(`--backend must be "local" or "github", not "${backend}"`);
  }
  return {
    name: String(values.model ?? MODEL_NAME),
    backend,
    repoDir: values.repo as string | undefined,
  };
}

function when(iso: string): string {
  return iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "Z");
}

function rmse(version: ModelVersion): string {
  return version.lineage ? version.lineage.metrics.validation.rmse.toFixed(1) : "-";
}

function print(values: Values, json: unknown, text: string): void {
  console.log(values.json ? JSON.stringify(json, null, 2) : text);
}

function expectPositionals(
  command: string,
  positionals: string[],
  names: string[],
  optional = 0,
): void {
  if (positionals.length < names.length - optional || positionals.length > names.length) {
    throw new UsageError(
      `${command} takes ${names.map((name) => `<${name}>`).join(" ")}, got ${positionals.length ? positionals.join(" ") : "nothing"}.\nRun \`${INVOCATION} ${command} --help\` for details.`,
    );
  }
}

function eventRows(events: RegistryEvent[]): string[][] {
  return events.map((event) => [
    when(event.at),
    event.kind,
    event.version ?? "-",
    event.stage ?? "-",
    event.tag,
  ]);
}

function proposalText(proposal: DeployProposal): string {
  const lines = [
    `${proposal.kind === "promotion" ? "Promotion" : "Rollback"} of ${proposal.pointer.name} to ${proposal.pointer.version} (now: ${proposal.from ?? "none"})`,
    `  branch   ${proposal.branch} -> ${proposal.base} (${proposal.changed ? "new commit" : "unchanged"} ${proposal.commit.slice(0, 12)})`,
  ];
  if (proposal.pullRequest) {
    lines.push(
      `  pull     #${proposal.pullRequest.number} ${proposal.pullRequest.url} (${proposal.pullRequest.created ? "opened" : "updated"})`,
    );
  }
  if (proposal.comment)
    lines.push(
      `  comment  ${proposal.comment.url} (${proposal.comment.created ? "added" : "updated"})`,
    );
  if (proposal.instructions) lines.push("", proposal.instructions);
  return lines.join("\n");
}

const listCommand: Command = {
  name: "list",
  summary: "List the model's versions, oldest first",
  options: COMMON,
  async run(values, positionals) {
    expectPositionals("list", positionals, []);
    const { registry } = await createPromotionTarget(config(values));
    const versions = await registry.list();
    const rows = versions.map((version) => [
      version.version,
      when(version.registeredAt),
      version.commit.slice(0, 12),
      version.stages.join(",") || "-",
      rmse(version),
      version.deprecated ? "deprecated" : "active",
    ]);
    print(
      values,
      versions,
      versions.length
        ? formatTable(["VERSION", "REGISTERED", "COMMIT", "STAGES", "VAL RMSE", "STATUS"], rows)
        : `No versions of ${registry.name} in ${registry.location}.`,
    );
  },
};

const showCommand: Command = {
  name: "show",
  summary: "Show one version: lineage, stages and release files",
  positionals: "<version>",
  details: "<version> is v1.2.0, 1.2.0, house-price@v1.2.0 or latest.",
  options: COMMON,
  async run(values, positionals) {
    expectPositionals("show", positionals, ["version"]);
    const { registry } = await createPromotionTarget(config(values));
    const details = await registry.show(positionals[0]);
    const lineage = details.lineage;
    const lines = [
      `${details.tag}${details.deprecated ? "  (deprecated)" : ""}`,
      `  commit       ${details.commit}`,
      `  registered   ${when(details.registeredAt)}`,
      `  stages       ${details.stages.join(", ") || "-"}`,
    ];
    if (lineage) {
      const { train, oob, validation } = lineage.metrics;
      lines.push(
        `  model        ${lineage.model.file} ${lineage.model.bytes} bytes sha256 ${lineage.model.sha256}`,
        `  engine       ${lineage.engine.name} ${lineage.engine.version}`,
        `  rmse         train ${train.rmse.toFixed(1)}  oob ${oob ? oob.rmse.toFixed(1) : "n/a"}  validation ${validation.rmse.toFixed(1)}`,
        `  data         input ${lineage.data.inputSha256}`,
        `               features ${lineage.data.featuresSha256}`,
        `  schema       ${lineage.featureSchemaSha256} (${lineage.features.length} features)`,
        `  run          ${lineage.run?.url ?? "-"}`,
        `  params       ${JSON.stringify(lineage.params)}`,
      );
    }
    lines.push(
      `  release      ${details.release.state}${details.release.url ? ` ${details.release.url}` : ""}`,
    );
    if (details.release.missingAssets.length)
      lines.push(`  missing      ${details.release.missingAssets.join(", ")}`);
    if (details.release.assets.length) {
      const table = formatTable(
        ["ASSET", "BYTES", "STATE"],
        details.release.assets.map((asset) => [
          asset.name,
          String(asset.size),
          asset.complete ? "uploaded" : "partial",
        ]),
      );
      lines.push("", ...table.split("\n").map((line) => `  ${line}`));
    }
    print(values, details, lines.join("\n"));
  },
};

const historyCommand: Command = {
  name: "history",
  summary: "Registrations, assignments and deprecations in time order",
  options: {
    ...COMMON,
    stage: {
      type: "string",
      value: "STAGE",
      description: "only this stage's assignments, e.g. production",
    },
  },
  async run(values, positionals) {
    expectPositionals("history", positionals, []);
    const { registry } = await createPromotionTarget(config(values));
    const events = await registry.history(values.stage as string | undefined);
    print(
      values,
      events,
      events.length
        ? formatTable(["AT", "EVENT", "VERSION", "STAGE", "TAG"], eventRows(events))
        : "No events.",
    );
  },
};

const assignCommand: Command = {
  name: "assign",
  summary: "Assign a stage to a version (the version that held it is unassigned)",
  positionals: "<version> <stage>",
  options: COMMON,
  async run(values, positionals) {
    expectPositionals("assign", positionals, ["version", "stage"]);
    const { registry } = await createPromotionTarget(config(values));
    const assignment = await registry.assign(positionals[0], positionals[1]);
    print(
      values,
      assignment,
      `${assignment.version.tag} is in ${assignment.stage} (tag ${assignment.tag}).`,
    );
  },
};

const deprecateCommand: Command = {
  name: "deprecate",
  summary: "Deprecate (GTO: deregister) a version: never latest or assignable again",
  positionals: "<version>",
  options: COMMON,
  async run(values, positionals) {
    expectPositionals("deprecate", positionals, ["version"]);
    const { registry } = await createPromotionTarget(config(values));
    const event = await registry.deprecate(positionals[0]);
    print(values, event, `${registry.name} ${event.version} is deprecated (tag ${event.tag}).`);
  },
};

const registerCommand: Command = {
  name: "register",
  summary: "Register a model bundle (model file, manifest.json, metrics.json) as the next version",
  positionals: "<bundle-dir> [extra-asset...]",
  details:
    "Extra assets (report.md, plots) are attached to the version's release. Registering the same model again returns its version.",
  options: COMMON,
  async run(values, positionals) {
    if (positionals.length < 1)
      throw new UsageError(
        `register takes <bundle-dir> [extra-asset...].\nRun \`${INVOCATION} register --help\` for details.`,
      );
    const { registry } = await createPromotionTarget(config(values));
    const [bundleDir, ...assets] = positionals;
    const version = await registry.register(bundleDir, { assets });
    const uploaded = version.uploaded.length ? `; uploaded ${version.uploaded.join(", ")}` : "";
    print(
      values,
      version,
      `${version.created ? "Registered" : "Already registered:"} ${version.tag} on ${version.commit.slice(0, 12)}${uploaded}.`,
    );
  },
};

/** Options of the commands that propose a change to deploy/production.json. */
const PROPOSAL_OPTIONS: Command["options"] = {
  report: {
    type: "string",
    value: "FILE",
    description: "markdown report used as the pull request body",
  },
  base: {
    type: "string",
    value: "BRANCH",
    description: "branch to merge into (default: the repository's default / current branch)",
  },
};

const promoteCommand: Command = {
  name: "promote",
  summary: "Propose pointing deploy/production.json at a version (pull request, or local branch)",
  positionals: "<version>",
  options: {
    ...COMMON,
    ...PROPOSAL_OPTIONS,
  },
  async run(values, positionals) {
    expectPositionals("promote", positionals, ["version"]);
    const report = values.report
      ? await readFile(String(values.report), "utf8")
      : `Promote ${positionals[0]} to production.\n`;
    const proposal = await preparePromotion(await createPromotionTarget(config(values)), {
      version: positionals[0],
      report,
      base: values.base as string | undefined,
    });
    print(values, proposal, proposalText(proposal));
  },
};

const rollbackCommand: Command = {
  name: "rollback",
  summary: `Propose pointing deploy/production.json back at the previous ${STAGES.production} version`,
  options: {
    ...COMMON,
    to: {
      type: "string",
      value: "VERSION",
      description: "roll back to this version instead of the previous one",
    },
    ...PROPOSAL_OPTIONS,
  },
  async run(values, positionals) {
    expectPositionals("rollback", positionals, []);
    const report = values.report ? await readFile(String(values.report), "utf8") : undefined;
    const proposal = await prepareRollback(await createPromotionTarget(config(values)), {
      to: values.to as string | undefined,
      report,
      base: values.base as string | undefined,
    });
    print(values, proposal, proposalText(proposal));
  },
};

export const registrySubcommands: Command[] = [
  listCommand,
  showCommand,
  historyCommand,
  assignCommand,
  deprecateCommand,
  registerCommand,
  promoteCommand,
  rollbackCommand,
];

function overview(invocation: string): string {
  const width = Math.max(...registrySubcommands.map((command) => command.name.length)) + 2;
  return [
    `Usage: ${invocation} <subcommand> [args] [options]`,
    "",
    "Subcommands:",
    ...registrySubcommands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    "",
    `Run \`${invocation} <subcommand> --help\` for its arguments and options.`,
  ].join("\n");
}

/** Runs `argv` (`<subcommand> [args] [options]`); `--help` works per subcommand. */
export async function runRegistryCli(argv: string[], invocation = INVOCATION): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(overview(invocation));
    return;
  }
  const command = registrySubcommands.find((candidate) => candidate.name === name);
  if (!command) throw new UsageError(`unknown subcommand "${name}".\n\n${overview(invocation)}`);
  await runCommand(command, rest, invocation);
}

/** All subcommands behind one Command, for a dispatcher that takes Commands (options are the union). */
export const registryCommand: Command = {
  name: "registry",
  summary: "Model registry: versions as GTO tags, stages, promotion and rollback",
  positionals: "<subcommand> [args]",
  options: Object.assign({}, ...registrySubcommands.map((command) => command.options)),
  details: registrySubcommands
    .map((command) => helpText(command, `${INVOCATION}`).split("\n")[0])
    .join("\n"),
  async run(values, positionals) {
    const [name, ...rest] = positionals;
    const command = registrySubcommands.find((candidate) => candidate.name === name);
    if (!command)
      throw new UsageError(`unknown subcommand "${name ?? ""}".\n\n${overview(INVOCATION)}`);
    await command.run(values, rest);
  },
};

if (import.meta.main) {
  try {
    await runRegistryCli(process.argv.slice(2));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(
      `registry: ${process.env.DEBUG && error instanceof Error ? error.stack : message}`,
    );
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

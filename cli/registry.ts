// `npm run registry -- <subcommand>`: list, show, history, assign, deprecate, register, promote,
// rollback, site. Also `npm run stage -- registry <subcommand>`.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command, Option } from "commander";
import { MODEL_NAME, STAGES } from "../lib/bundle/bundle.ts";
import { runProgram, UsageError } from "../lib/cli/program.ts";
import { type RunContext, runContextFromEnv } from "../lib/cli/run-context.ts";
import { formatTable } from "../lib/cli/table.ts";
import { createPromotionTarget, type RegistryConfig } from "../lib/registry/create-registry.ts";
import type { SiteLinks } from "../lib/registry/site/site-data.ts";
import type { ModelVersion, Registry, RegistryEvent } from "../lib/registry/types.ts";
import {
  type DeployProposal,
  preparePromotion,
  prepareRollback,
} from "../stages/5-promote/promote.ts";

const INVOCATION = "npm run registry --";

type Values = Record<string, string | boolean | undefined>;

function config(values: Values, context: RunContext): RegistryConfig {
  const backend = values.backend;
  if (backend !== undefined && backend !== "local" && backend !== "github") {
    throw new UsageError(`--backend must be "local" or "github", not "${backend}"`);
  }
  return {
    ...context.registry,
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

/** The text of `registry show`. */
function showText(
  details: Awaited<
    ReturnType<Awaited<ReturnType<typeof createPromotionTarget>>["registry"]["show"]>
  >,
): string {
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
  return lines.join("\n");
}

/** A subcommand with the options every subcommand shares. */
function subcommand(name: string, summary: string, usage: string, details?: string): Command {
  const command = new Command(name)
    .summary(summary)
    .description(details ? `${summary}.\n${details}` : `${summary}.`)
    .usage(`${usage ? `${usage} ` : ""}[options]`)
    .argument("[args...]")
    .addOption(new Option("--json", "print JSON instead of a table"))
    .addOption(new Option("--model <NAME>", "model (GTO artifact) name").default(MODEL_NAME))
    .addOption(
      new Option(
        "--backend <local|github>",
        "where the registry lives (default: github when GITHUB_TOKEN and GITHUB_REPOSITORY are set, else local)",
      ),
    )
    .addOption(new Option("--repo <DIR>", "local repository (default: the current directory)"));
  return command;
}

/** The options of the commands that propose a change to deploy/production.json. */
function withProposalOptions(command: Command): Command {
  return command
    .addOption(new Option("--report <FILE>", "markdown report used as the pull request body"))
    .addOption(
      new Option(
        "--base <BRANCH>",
        "branch to merge into (default: the repository's default / current branch)",
      ),
    );
}

type Handler = (
  values: Values,
  args: string[],
  target: () => ReturnType<typeof createPromotionTarget>,
) => Promise<void>;

function handle(command: Command, context: RunContext, handler: Handler): Command {
  return command.action(async (args: string[], values: Values) => {
    await handler(values, args, () => createPromotionTarget(config(values, context)));
  });
}

/** The registry commands, named `name` in --help. */
export function registryCommand(context: RunContext, name = "registry"): Command {
  const program = new Command(name)
    .summary("the model registry: versions as GTO tags, stages, promotion and rollback")
    .usage("<subcommand> [options]")
    .argument("[subcommand]")
    .action((unknown?: string) => {
      throw new UsageError(
        `unknown subcommand "${unknown ?? ""}".\n\n${program.helpInformation()}`,
      );
    });

  program.addCommand(
    handle(
      subcommand("list", "List the model's versions, oldest first", ""),
      context,
      async (values, args, target) => {
        expectPositionals("list", args, []);
        const { registry } = await target();
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
    ),
  );

  program.addCommand(
    handle(
      subcommand(
        "show",
        "Show one version: lineage, stages and release files",
        "<version>",
        "<version> is v1.2.0, 1.2.0, house-price@v1.2.0 or latest.",
      ),
      context,
      async (values, args, target) => {
        expectPositionals("show", args, ["version"]);
        const { registry } = await target();
        const details = await registry.show(args[0]);
        print(values, details, showText(details));
      },
    ),
  );

  program.addCommand(
    handle(
      subcommand(
        "history",
        "Registrations, assignments and deprecations in time order",
        "",
      ).addOption(new Option("--stage <STAGE>", "only this stage's assignments, e.g. production")),
      context,
      async (values, args, target) => {
        expectPositionals("history", args, []);
        const { registry } = await target();
        const events = await registry.history(values.stage as string | undefined);
        print(
          values,
          events,
          events.length
            ? formatTable(["AT", "EVENT", "VERSION", "STAGE", "TAG"], eventRows(events))
            : "No events.",
        );
      },
    ),
  );

  program.addCommand(
    handle(
      subcommand(
        "assign",
        "Assign a stage to a version (the version that held it is unassigned)",
        "<version> <stage>",
      ),
      context,
      async (values, args, target) => {
        expectPositionals("assign", args, ["version", "stage"]);
        const { registry } = await target();
        const assignment = await registry.assign(args[0], args[1]);
        print(
          values,
          assignment,
          `${assignment.version.tag} is in ${assignment.stage} (tag ${assignment.tag}).`,
        );
      },
    ),
  );

  program.addCommand(
    handle(
      subcommand(
        "deprecate",
        "Deprecate (GTO: deregister) a version: never latest or assignable again",
        "<version>",
      ),
      context,
      async (values, args, target) => {
        expectPositionals("deprecate", args, ["version"]);
        const { registry } = await target();
        const event = await registry.deprecate(args[0]);
        print(values, event, `${registry.name} ${event.version} is deprecated (tag ${event.tag}).`);
      },
    ),
  );

  program.addCommand(
    handle(
      subcommand(
        "register",
        "Register a model bundle (model file, manifest.json, metrics.json) as the next version",
        "<bundle-dir> [extra-asset...]",
        "Extra assets (report.md, plots) are attached to the version's release. Registering the same model again returns its version.",
      ),
      context,
      async (values, args, target) => {
        if (args.length < 1)
          throw new UsageError(
            `register takes <bundle-dir> [extra-asset...].\nRun \`${INVOCATION} register --help\` for details.`,
          );
        const { registry } = await target();
        const [bundleDir, ...assets] = args;
        const version = await registry.register(bundleDir, { assets });
        const uploaded = version.uploaded.length ? `; uploaded ${version.uploaded.join(", ")}` : "";
        print(
          values,
          version,
          `${version.created ? "Registered" : "Already registered:"} ${version.tag} on ${version.commit.slice(0, 12)}${uploaded}.`,
        );
      },
    ),
  );

  program.addCommand(
    handle(
      withProposalOptions(
        subcommand(
          "promote",
          "Propose pointing deploy/production.json at a version (pull request, or local branch)",
          "<version>",
        ),
      ),
      context,
      async (values, args, target) => {
        expectPositionals("promote", args, ["version"]);
        const report = values.report
          ? await readFile(String(values.report), "utf8")
          : `Promote ${args[0]} to production.\n`;
        const proposal = await preparePromotion(await target(), {
          version: args[0],
          report,
          base: values.base as string | undefined,
        });
        print(values, proposal, proposalText(proposal));
      },
    ),
  );

  program.addCommand(
    handle(
      withProposalOptions(
        subcommand(
          "rollback",
          `Propose pointing deploy/production.json back at the previous ${STAGES.production} version`,
          "",
        ).addOption(
          new Option("--to <VERSION>", "roll back to this version instead of the previous one"),
        ),
      ),
      context,
      async (values, args, target) => {
        expectPositionals("rollback", args, []);
        const report = values.report ? await readFile(String(values.report), "utf8") : undefined;
        const proposal = await prepareRollback(await target(), {
          to: values.to as string | undefined,
          report,
          base: values.base as string | undefined,
        });
        print(values, proposal, proposalText(proposal));
      },
    ),
  );
  program.addCommand(
    handle(
      subcommand(
        "site",
        "Build the registry's static website (versions, model cards, compare, timeline), or serve it",
        "--out <DIR> | --serve",
        "Built from two bulk reads of the registry (versions with their lineage, and the events), whatever the number of versions. --out replaces the folder whole (it must be new, empty, or an earlier site); --serve serves the site on 127.0.0.1 until interrupted.",
      )
        .addOption(new Option("--out <DIR>", "build the site into this folder"))
        .addOption(
          new Option("--serve", "serve the site on 127.0.0.1 (built into --out, or a temp folder)"),
        )
        .addOption(
          new Option("--port <N>", "with --serve: the port (0 picks a free one)").default("8000"),
        )
        .addOption(
          new Option(
            "--repository-url <URL>",
            "the repository's web address, for release, commit and pull request links (default for the github backend: https://github.com/<owner/repo>)",
          ),
        ),
      context,
      async (values, args, target) => {
        expectPositionals("site", args, []);
        const out = values.out as string | undefined;
        if (!out && !values.serve)
          throw new UsageError(
            `site needs --out <DIR>, --serve, or both.\nRun \`${INVOCATION} site --help\` for details.`,
          );
        const port = Number(values.port);
        if (!/^\d+$/.test(String(values.port)) || port > 65_535)
          throw new UsageError(
            `--port must be a whole number from 0 to 65535, not "${values.port}"`,
          );
        const repositoryUrl = values["repository-url"] as string | undefined;
        if (repositoryUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(repositoryUrl))
          throw new UsageError(
            `--repository-url must be an http(s) address such as https://github.com/owner/repo, not "${repositoryUrl}"`,
          );
        const { registry } = await target();
        // Loaded only for this command: the generator pulls in vega-lite and express.
        const { buildRegistrySite } = await import("../lib/registry/site/generate.ts");
        const dir = out
          ? resolve(out)
          : join(await mkdtemp(join(tmpdir(), "registry-site-")), "site");
        const summary = await buildRegistrySite(registry, {
          outDir: dir,
          links: siteLinks(registry, repositoryUrl),
        });
        if (!values.serve) {
          print(
            values,
            {
              outDir: summary.outDir,
              versions: summary.versions,
              files: summary.files.length,
              bytes: summary.bytes,
            },
            `Built the site of ${summary.versions} version${summary.versions === 1 ? "" : "s"} of ${registry.name} into ${summary.outDir} (${summary.files.length} files, ${(summary.bytes / 1e6).toFixed(1)} MB).`,
          );
          return;
        }
        const { serveSite } = await import("../lib/registry/site/serve.ts");
        const server = await serveSite(dir, { port });
        print(
          values,
          { url: server.url, outDir: dir, versions: summary.versions },
          `Serving the site of ${summary.versions} version${summary.versions === 1 ? "" : "s"} of ${registry.name} at ${server.url} (Ctrl-C stops).`,
        );
        await new Promise<void>((done) => {
          process.once("SIGINT", done);
          process.once("SIGTERM", done);
        });
        await server.close();
        if (!out) await rm(join(dir, ".."), { recursive: true, force: true });
      },
    ),
  );
  return program;
}

/** Where a version page's release, commit and pull request links point. */
function siteLinks(registry: Registry, repositoryUrl: string | undefined): SiteLinks {
  if (registry.backend === "github")
    return {
      repositoryUrl: (repositoryUrl ?? `https://github.com/${registry.location}`).replace(
        /\/+$/,
        "",
      ),
      repositoryDir: null,
    };
  return {
    repositoryUrl: repositoryUrl?.replace(/\/+$/, "") ?? null,
    repositoryDir: registry.location,
  };
}

if (import.meta.main) {
  await runProgram(
    registryCommand(runContextFromEnv(), INVOCATION),
    process.argv.slice(2),
    "registry",
  );
}

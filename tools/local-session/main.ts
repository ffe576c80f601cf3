// `npm run act -- <command>`: the whole GitHub story on this machine. A local GitHub starts in the
// background (state in .local-github/), your commit is pushed to it as main, and act runs exactly
// the workflow runs GitHub would start: the pipeline, the promotion PR's checks, the deploy after a
// merge; the deployed service answers on a local port. See the README, "Run locally with act".
import { Command, Option } from "commander";
import { actProgram, parseInputs } from "../../.github/act.ts";
import { runProgram, UsageError } from "../../lib/cli/program.ts";
import { sessionPaths } from "./paths.ts";
import { consoleIo, down, merge, pipeline, prs, rollback, status } from "./session.ts";

const INVOCATION = "npm run act --";

function positiveInteger(what: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new UsageError(`${what} "${value}": expected a whole number from 1 to ${max}`);
    }
    return Number(value);
  };
}

function sessionProgram(): Command {
  const paths = sessionPaths();
  const io = consoleIo;
  const program = new Command(INVOCATION)
    .description(
      "Run the whole GitHub story on this machine: a local GitHub (started in the background, state in .local-github/), act running exactly the workflow runs GitHub would start, and the deployed service on a local port.",
    )
    .addHelpText(
      "after",
      [
        "",
        "A session, in order:",
        `  ${INVOCATION} pipeline trees=20   train and evaluate; prints the version, the gate's verdict and the PR`,
        `  ${INVOCATION} merge 1             merge it: deploy.yml runs, the service serves the version`,
        `  ${INVOCATION} status              registry, pull requests, runs with their logs, the service`,
        `  ${INVOCATION} down                stop everything (--reset also deletes .local-github/)`,
      ].join("\n"),
    );

  program
    .command("pipeline")
    .summary("push this commit as main, dispatch pipeline.yml, run what it starts")
    .description(
      [
        "Start the local GitHub if it is not running, push this checkout's commit to it as main (as its",
        "owner), dispatch pipeline.yml with the inputs given, and run with act every run that starts:",
        "the pipeline, then ci.yml on the promotion branch (promote dispatches it). Prints the version,",
        "the evaluation gate's verdict and the promotion pull request as #N with its URL.",
      ].join(" "),
    )
    .argument("[inputs...]", "pipeline.yml's inputs as NAME=VALUE: trees, depth, threshold, shards")
    .addOption(
      new Option(
        "--data <PATH>",
        "the housing CSV (default: HOUSING_CSV, else data/housing.csv, downloaded when missing)",
      ),
    )
    .action(async (pairs: string[], values: { data?: string }) => {
      await pipeline(paths, io, { inputs: parseInputs(pairs), data: values.data });
    });

  program
    .command("prs")
    .summary("list the open pull requests and their checks")
    .description("List the open pull requests of the local GitHub with their checks and URLs.")
    .action(async () => prs(paths, io));

  program
    .command("merge")
    .summary("merge pull request N, run what the merge starts, serve the deployed version")
    .description(
      [
        "Merge pull request N as the repository's owner. Its ci checks are required: when none has",
        "reported on its head yet, ci.yml runs first. The merge is a push to main, so deploy.yml runs",
        "(it builds the service image, smoke-tests it and assigns production); then the service",
        "(a container of that image in registry mode, or `node deploy/server/index.ts` without a",
        "container engine) answers on a local port with the new version. A service already running",
        "follows the production stage by itself.",
      ].join(" "),
    )
    .argument("<N>", "the pull request's number", positiveInteger("pull request number"))
    .addOption(
      new Option("--port <N>", "the service's port when it starts (default: a free one)").argParser(
        positiveInteger("--port", 65_535),
      ),
    )
    .action(async (number: number, values: { port?: number }) => {
      await merge(paths, io, number, { port: values.port });
    });

  program
    .command("rollback")
    .summary("open a pull request back to the previous production version")
    .description(
      [
        "Open, as the repository's owner, the pull request that points deploy/production.json back at",
        "the previous production version (or --to VERSION), and run its ci checks. Merge it with",
        `\`${INVOCATION} merge N\`.`,
      ].join(" "),
    )
    .addOption(new Option("--to <VERSION>", "roll back to this version, e.g. v1.0.0"))
    .action(async (values: { to?: string }) => {
      await rollback(paths, io, { to: values.to });
    });

  program
    .command("status")
    .summary("the registry, open pull requests, the last runs with their logs, the service")
    .description(
      "Show the local GitHub, the model registry (npm run registry -- list), the open pull requests with their checks, the last runs with their outcome and log file, and the service's /model.",
    )
    .action(async () => status(paths, io));

  program
    .command("down")
    .summary("stop the service and the local GitHub")
    .description(
      "Stop the service and the local GitHub. With --reset also delete the local state (.local-github/: repository, registry, pull requests, run logs) and the images and cache volume the session made.",
    )
    .addOption(new Option("--reset", "also delete the local state"))
    .action(async (values: { reset?: boolean }) => down(paths, io, { reset: values.reset }));

  program.addCommand(
    actProgram("run").summary(
      "run one workflow by hand with act, with the event you choose (the former `npm run act -- <workflow>`)",
    ),
  );
  return program;
}

const argv = process.argv.slice(2);
if (argv[0] === "deploy" || argv[0] === "ci" || /\.ya?ml$/.test(argv[0] ?? "")) {
  console.error(
    `act: "${argv[0]}" is a workflow; run one by hand with \`${INVOCATION} run ${argv.join(" ")}\`, or let \`${INVOCATION} merge N\` run deploy.yml as a merge starts it`,
  );
  process.exitCode = 2;
} else {
  await runProgram(sessionProgram(), argv);
}

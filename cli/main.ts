// The command line: `npm run stage -- <command> [options]`, `npm run pipeline`,
// `npm run data:fetch`, `npm run deploy`, `npm run registry -- <subcommand>`.
import { Command } from "commander";
import { runProgram } from "../lib/cli/program.ts";
import { runContextFromEnv } from "../lib/cli/run-context.ts";
import { fetchCommand } from "../stages/0-fetch/command.ts";
import { ingestCommand } from "../stages/1-ingest/command.ts";
import { featuresCommand } from "../stages/2-features/command.ts";
import { mergeCommand, trainCommand } from "../stages/3-train/command.ts";
import { evaluateCommand } from "../stages/4-evaluate/command.ts";
import { deployCommand } from "../stages/6-deploy/command.ts";
import { pipelineCommand } from "../stages/pipeline/command.ts";
import { registryCommand } from "./registry.ts";

const context = runContextFromEnv();
const program = new Command("npm run stage --")
  .description("The house-price pipeline's stages, one command each, in the order data flows.")
  .addCommand(fetchCommand())
  .addCommand(ingestCommand())
  .addCommand(featuresCommand())
  .addCommand(trainCommand(context))
  .addCommand(mergeCommand(context))
  .addCommand(evaluateCommand(context))
  .addCommand(deployCommand(context))
  .addCommand(pipelineCommand())
  .addCommand(registryCommand(context))
  .showHelpAfterError("(run with --help for the options)");

await runProgram(program, process.argv.slice(2));

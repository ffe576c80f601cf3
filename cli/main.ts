// The command line: `npm run stage -- <command> [options]`, `npm run pipeline`, `npm run data:fetch`.
import { type Command, runCommand, UsageError } from "../lib/cli/command.ts";
import { fetchCommand } from "../stages/0-fetch/fetch.ts";
import { ingestCommand } from "../stages/1-ingest/command.ts";
import { featuresCommand } from "../stages/2-features/command.ts";
import { mergeCommand, trainCommand } from "../stages/3-train/command.ts";
import { evaluateCommand } from "../stages/4-evaluate/command.ts";
import { deployCommand } from "../stages/6-deploy/command.ts";
import { pipelineCommand } from "../stages/pipeline/command.ts";

const COMMANDS: Command[] = [
  fetchCommand,
  ingestCommand,
  featuresCommand,
  trainCommand,
  mergeCommand,
  evaluateCommand,
  deployCommand,
  pipelineCommand,
];
const INVOCATION = "node cli/main.ts";

function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  return [
    `Usage: ${INVOCATION} <command> [options]   (npm run stage -- <command> [options])`,
    "",
    "Commands:",
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    "",
    `Run \`${INVOCATION} <command> --help\` for a command's options.`,
  ].join("\n");
}

const [name, ...argv] = process.argv.slice(2);
const command = COMMANDS.find((candidate) => candidate.name === name);
if (!name || name === "--help" || name === "-h") {
  console.log(overview());
  process.exitCode = name ? 0 : 2;
} else if (!command) {
  console.error(`Unknown command "${name}".\n\n${overview()}`);
  process.exitCode = 2;
} else {
  try {
    await runCommand(command, argv, INVOCATION);
  } catch (error) {
    // Messages are written for the user; the stack only helps when debugging the tool itself.
    const message = error instanceof Error ? error.message : String(error);
    console.error(
      `${name}: ${process.env.DEBUG && error instanceof Error ? error.stack : message}`,
    );
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

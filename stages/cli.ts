// The command line: `npm run stage -- <command> [options]`, `npm run pipeline`, `npm run data:fetch`.
import { type Command, runCommand, UsageError } from "./cli/command.ts";
import { fetchCommand } from "./data/fetch.ts";
import { deployCommand } from "./deploy/command.ts";
import { evaluateCommand } from "./evaluate/command.ts";
import { featuresCommand } from "./features/command.ts";
import { ingestCommand } from "./ingest/command.ts";
import { pipelineCommand } from "./pipeline/command.ts";
import { mergeCommand, trainCommand } from "./train/command.ts";

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
const INVOCATION = "node stages/cli.ts";

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

import { parseArgs } from "node:util";

/** One option of a command, as `node:util` parseArgs takes it, plus its help text. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  default?: string | boolean;
  description: string;
  /** Placeholder shown in help, e.g. PATH. */
  value?: string;
}

/** A CLI command: `npm run stage -- <name> [options]`. */
export interface Command {
  name: string;
  summary: string;
  /** Extra text shown after the options in --help. */
  details?: string;
  options: Record<string, OptionSpec>;
  positionals?: string;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<void>;
}

/** An error whose message is for the user: printed without a stack trace. */
export class UsageError extends Error {}

/** The --help text of a command. */
export function helpText(command: Command, invocation: string): string {
  const lines = [
    `Usage: ${invocation} ${command.name}${command.positionals ? ` ${command.positionals}` : ""} [options]`,
    "",
    command.summary,
    "",
    "Options:",
  ];
  const rows = Object.entries({
    ...command.options,
    help: { type: "boolean", short: "h", description: "show this help" } as OptionSpec,
  }).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`;
    const fallback = spec.default !== undefined ? ` (default: ${spec.default})` : "";
    return [flag, `${spec.description}${fallback}`];
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  for (const [flag, text] of rows) lines.push(`  ${flag.padEnd(width)}${text}`);
  if (command.details) lines.push("", command.details);
  return lines.join("\n");
}

/** Parses argv for `command` and runs it; --help prints its help. */
export async function runCommand(command: Command, argv: string[], invocation: string) {
  const options = Object.fromEntries(
    Object.entries(command.options).map(([name, spec]) => [
      name,
      {
        type: spec.type,
        ...(spec.short ? { short: spec.short } : {}),
        ...(spec.default !== undefined ? { default: spec.default } : {}),
      },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message}\nRun \`${invocation} ${command.name} --help\` for the options.`,
    );
  }
  if (parsed.values.help) {
    console.log(helpText(command, invocation));
    return;
  }
  await command.run(
    parsed.values as Record<string, string | boolean | undefined>,
    parsed.positionals,
  );
}

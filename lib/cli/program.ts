// The command line on commander: settings become options, and one error boundary turns any
// failure into a message and an exit code (2 for a usage mistake, 1 for a failed run).
import { type Command, CommanderError, Option } from "commander";
import { readSettings, SettingError, type SettingSpec, type SettingValues } from "./settings.ts";

/** An error whose message is for the user: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

/** Adds one `--name` option per setting (`--name`/`--no-name` for switches). */
export function withSettings(command: Command, spec: SettingSpec): Command {
  for (const [name, setting] of Object.entries(spec)) {
    const option =
      setting.kind === "boolean"
        ? new Option(`--${name}`, setting.description)
        : new Option(`--${name} <${setting.value ?? "VALUE"}>`, setting.description);
    if (setting.default !== undefined) option.default(setting.default);
    command.addOption(option);
    if (setting.kind === "boolean") command.addOption(new Option(`--no-${name}`).hideHelp());
  }
  return command;
}

/** The parsed settings of a command's options; a bad value is a usage error naming it. */
export function settingsOf<S extends SettingSpec>(spec: S, command: Command): SettingValues<S> {
  const options = command.opts();
  try {
    return readSettings(spec, (name) => {
      const value = options[camelCase(name)];
      return typeof value === "boolean" ? value : (value as string | undefined);
    });
  } catch (error) {
    if (error instanceof SettingError) throw new UsageError(`--${error.message}`);
    throw error;
  }
}

function camelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** Runs `program` on `argv` and sets the exit code: 0, 1 (the run failed) or 2 (usage). Errors
 * are printed as `<prefix>: message`, the prefix being the subcommand run (or `prefix`). */
export async function runProgram(program: Command, argv: string[], prefix?: string): Promise<void> {
  const invoked = program.commands.find((command) => command.name() === argv[0]);
  const label = prefix ?? invoked?.name() ?? program.name();
  const override = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exits are successes; commander already printed its own message.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const detail = process.env.DEBUG && error instanceof Error ? error.stack : message;
    console.error(`${label}: ${detail}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

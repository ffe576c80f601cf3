// The benchmarks' options: each bench declares them once, with what they mean, in a BenchHelp;
// benchArgs parses them and helpText writes `npm run bench -- <name> --help` from the same table.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type ParseArgsOptionDescriptor, parseArgs } from "node:util";

export interface BenchOption extends ParseArgsOptionDescriptor {
  /** What the option does, for --help. */
  description: string;
  /** Placeholder of a string option's value in --help, e.g. N or PATH. */
  value?: string;
}

export interface BenchHelp {
  /** One line: what the benchmark compares. */
  about: string;
  options: Record<string, BenchOption>;
}

/** A benchmark module, bench/<name>.ts. */
export interface Bench {
  help: BenchHelp;
  main(args: string[]): Promise<void>;
}

const BENCH_FOLDER = new URL("../", import.meta.url);

/** The benchmarks' names, sorted: every bench/<name>.ts but run.ts and the tests. */
export function benchNames(): string[] {
  return readdirSync(fileURLToPath(BENCH_FOLDER))
    .filter((file) => file.endsWith(".ts") && file !== "run.ts" && !file.endsWith(".test.ts"))
    .map((file) => file.slice(0, -3))
    .sort();
}

/** Imports bench/<name>.ts. */
export function loadBench(name: string): Promise<Bench> {
  return import(new URL(`${name}.ts`, BENCH_FOLDER).href) as Promise<Bench>;
}

/** A mistake on the command line: printed without a stack trace, exit code 2. */
export class BenchUsageError extends Error {}

/** The values of `args` by `options`; an unknown option or a missing value is a BenchUsageError. */
export function benchArgs<const O extends Record<string, BenchOption>>(options: O, args: string[]) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // node:util's parse errors (unknown option, missing value, stray argument) are the user's.
    if (String((error as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS_")) {
      throw new BenchUsageError((error as Error).message);
    }
    throw error;
  }
}

/** `npm run bench -- <name> --help`: the usage line, what it compares, each option. */
export function helpText(name: string, help: BenchHelp): string {
  const rows = Object.entries(help.options).map(([option, spec]) => {
    const flag = spec.type === "string" ? `--${option} ${spec.value ?? "VALUE"}` : `--${option}`;
    const fallback =
      spec.type === "string" && spec.default !== undefined ? ` (default: ${spec.default})` : "";
    return [flag, `${spec.description}${fallback}`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [
    `Usage: npm run bench -- ${name} [options]`,
    "",
    help.about,
    "",
    "Options:",
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
    `  ${"--help".padEnd(width)}  this text`,
    "",
    "The last line printed is one JSON object.",
  ].join("\n");
}

/** A whole-number option's value (underscores allowed, as in 2_000_000); below `min` is a BenchUsageError. */
export function wholeNumber(option: string, text: string, min = 1): number {
  const value = Number(text.replaceAll("_", ""));
  if (text.trim() === "" || !Number.isSafeInteger(value) || value < min) {
    throw new BenchUsageError(
      `--${option}: "${text}" is not allowed; expected a whole number >= ${min}`,
    );
  }
  return value;
}

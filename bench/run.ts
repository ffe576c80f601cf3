// `npm run bench -- <name> [options]`: runs bench/<name>.ts, whose last printed line is one JSON
// object; `npm run bench -- <name> --help` shows its options (each bench's `help`).
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type BenchHelp, BenchUsageError, helpText } from "./support/args.ts";

interface Bench {
  help: BenchHelp;
  main(args: string[]): Promise<void>;
}

const names = readdirSync(fileURLToPath(new URL(".", import.meta.url)))
  .filter((file) => file.endsWith(".ts") && file !== "run.ts" && !file.endsWith(".test.ts"))
  .map((file) => file.slice(0, -3))
  .sort();
const load = (name: string) => import(`./${name}.ts`) as Promise<Bench>;
const isHelp = (arg: string) => arg === "--help" || arg === "-h";
const [name, ...args] = process.argv.slice(2);

if (!name || isHelp(name)) {
  const abouts = await Promise.all(names.map(async (bench) => (await load(bench)).help.about));
  const width = Math.max(...names.map((bench) => bench.length));
  console.log(
    [
      "Usage: npm run bench -- <name> [options]   (npm run bench -- <name> --help: its options)",
      "",
      "Benchmarks:",
      ...names.map((bench, i) => `  ${bench.padEnd(width)}  ${abouts[i]}`),
    ].join("\n"),
  );
  process.exit(name ? 0 : 2);
}
if (!names.includes(name)) {
  console.error(`bench: unknown benchmark "${name}"; known: ${names.join(", ")}`);
  process.exit(2);
}
const bench = await load(name);
if (args.some(isHelp)) {
  console.log(helpText(name, bench.help));
  process.exit(0);
}
try {
  await bench.main(args);
} catch (error) {
  // A message for the user, not a stack trace (DEBUG=1 shows it); 2 for a usage mistake.
  const message = error instanceof Error ? error.message : String(error);
  console.error(
    `bench ${name}: ${process.env.DEBUG && error instanceof Error ? error.stack : message}`,
  );
  if (error instanceof BenchUsageError) {
    console.error(`Run \`npm run bench -- ${name} --help\` for the options.`);
  }
  process.exitCode = error instanceof BenchUsageError ? 2 : 1;
}

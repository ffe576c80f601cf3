// `npm run bench -- <name> [options]`: runs bench/<name>.ts, whose last printed line is one JSON
// object; `npm run bench -- <name> --help` shows its options (each bench's `help`).
import { BenchUsageError, benchNames, helpText, loadBench } from "./support/args.ts";

const names = benchNames();
const isHelp = (arg: string) => arg === "--help" || arg === "-h";
const [name, ...args] = process.argv.slice(2);

if (!name || isHelp(name)) {
  const abouts = await Promise.all(names.map(async (bench) => (await loadBench(bench)).help.about));
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
const bench = await loadBench(name);
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

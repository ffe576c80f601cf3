// `npm run bench -- <name> [args]`: runs bench/<name>.ts, whose last printed line is one JSON object.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const benches = readdirSync(fileURLToPath(new URL(".", import.meta.url)))
  .filter((file) => file.endsWith(".ts") && file !== "run.ts" && !file.endsWith(".test.ts"))
  .map((file) => file.slice(0, -3));
const [name, ...args] = process.argv.slice(2);

if (!name || name === "--help" || name === "-h") {
  console.log(`Usage: npm run bench -- <name> [options]\n\nBenchmarks: ${benches.join(", ")}`);
  process.exit(name ? 0 : 2);
}
if (!benches.includes(name)) {
  console.error(`bench: unknown benchmark "${name}"; known: ${benches.join(", ")}`);
  process.exit(2);
}
const bench = (await import(`./${name}.ts`)) as { main(args: string[]): Promise<void> };
await bench.main(args);

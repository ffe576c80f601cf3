// `npm run bench -- …` as a user types it: help for every benchmark, and command-line mistakes
// answered with a message and exit code 2 before any work starts. Real child processes.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { benchNames, loadBench } from "./support/args.ts";

const RUN = fileURLToPath(new URL("run.ts", import.meta.url));
const BENCHES = benchNames();
const helpOf = async (name: string) => (await loadBench(name)).help;

async function bench(...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [RUN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("npm run bench -- --help", () => {
  it("lists every benchmark with what it compares", async () => {
    const run = await bench("--help");
    expect(run.code).toBe(0);
    expect(BENCHES.length).toBeGreaterThanOrEqual(7);
    for (const name of BENCHES) {
      const help = await helpOf(name);
      expect(run.stdout).toContain(`${name}  `);
      expect(run.stdout).toContain(help.about);
    }
  });

  it.each(BENCHES)("%s --help shows every option it accepts, with its default", async (name) => {
    const help = await helpOf(name);
    const run = await bench(name, "--help");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: npm run bench -- ${name} [options]`);
    for (const [option, spec] of Object.entries(help.options)) {
      const line = run.stdout
        .split("\n")
        .find((text) => text.trimStart().startsWith(`--${option} `));
      expect(line, `--${option}`).toContain(spec.description);
      if (spec.type === "string" && spec.default !== undefined) {
        expect(line).toContain(`(default: ${spec.default})`);
      }
    }
  });
});

describe("command-line mistakes", () => {
  it.each([
    [["data", "--rows", "many"], /--rows: "many" is not allowed; expected a whole number >= 1/],
    [["data", "--bogus"], /Unknown option '--bogus'/],
    [["data", "--peers", "polars,spark2"], /--peers: "spark2" is not a peer/],
    [["train", "--repeat", "0"], /--repeat: "0" is not allowed/],
    [["serve", "--duration"], /--duration/],
    [
      ["deploy", "--poll-ms", "500"],
      /--poll-ms: "500" is not allowed; expected a whole number >= 1000/,
    ],
    [["data_ours", "--out", "x"], /--input CSV and --out DIR are required/],
  ])("%j: exit 2, what to change, no stack trace", async (args, message) => {
    const run = await bench(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain(`Run \`npm run bench -- ${args[0]} --help\` for the options.`);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stdout).toBe("");
  });

  it("an unknown benchmark names the known ones", async () => {
    const run = await bench("dta");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`bench: unknown benchmark "dta"; known: ${BENCHES.join(", ")}`);
  });
});

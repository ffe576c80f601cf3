import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatTable } from "../lib/cli/table.ts";
import { createTempRepo, type TempRepo } from "../test/support/git-repo.ts";
import { writeModelBundle } from "../test/support/model-bundle.ts";

const CLI = join(import.meta.dirname, "registry.ts");
let repo: TempRepo;

/** Runs the registry CLI as a user would, in the temp repository, without GitHub credentials. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, GITHUB_TOKEN: "", GITHUB_REPOSITORY: "" };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: repo.dir, env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

beforeEach(async () => {
  repo = await createTempRepo();
});

afterEach(async () => {
  await rm(`${repo.dir}-bundles`, { recursive: true, force: true });
  await repo.cleanup();
});

describe("registry CLI", () => {
  it("registers, lists, assigns, shows history and deprecates", async () => {
    for (const name of ["a", "b"]) {
      const bundle = await writeModelBundle(join(`${repo.dir}-bundles`, name), {
        commit: repo.commit,
        validationRmse: 50_000,
      });
      const registered = await cli("register", bundle.dir);
      expect(registered).toMatchObject({ code: 0, stderr: "" });
      expect(registered.stdout).toMatch(
        /^Registered house-price@v1\.\d\.0 on [0-9a-f]{12}; uploaded model\.bin, manifest\.json, metrics\.json\.$/m,
      );
    }
    expect((await cli("assign", "v1.0.0", "production")).stdout).toMatch(
      /^house-price@v1\.0\.0 is in production \(tag house-price#production#1\)\.$/m,
    );
    await cli("assign", "v1.1.0", "production");

    const table = (await cli("list")).stdout.trimEnd().split("\n");
    expect(table[0]).toMatch(/^VERSION\s+REGISTERED\s+COMMIT\s+STAGES\s+VAL RMSE\s+STATUS$/);
    expect(table[2]).toMatch(
      /^v1\.1\.0\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+[0-9a-f]{12}\s+production\s+50000\.0\s+active$/,
    );
    const listed = JSON.parse((await cli("list", "--json")).stdout);
    expect(
      listed.map((version: { version: string; stages: string[] }) => [
        version.version,
        version.stages,
      ]),
    ).toEqual([
      ["v1.0.0", []],
      ["v1.1.0", ["production"]],
    ]);

    const history = JSON.parse((await cli("history", "--stage", "production", "--json")).stdout);
    expect(
      history.map((event: { kind: string; version: string }) => `${event.kind} ${event.version}`),
    ).toEqual(["assignment v1.0.0", "assignment v1.1.0", "unassignment v1.0.0"]);
    const shown = await cli("show", "latest");
    expect(shown.stdout).toMatch(/^house-price@v1\.1\.0$/m);
    expect(shown.stdout).toMatch(/^ {2}release\s+published /m);

    const rollback = await cli("rollback");
    expect(rollback.stdout).toContain("Rollback of house-price to v1.0.0 (now: v1.1.0)");
    expect(rollback.stdout).toContain("git merge rollback/house-price-v1.0.0");
    expect((await cli("deprecate", "v1.0.0")).stdout).toMatch(
      /house-price v1\.0\.0 is deprecated \(tag house-price@v1\.0\.0!#\d+\)/,
    );
  });

  it("explains usage mistakes with exit code 2 and failures with exit code 1", async () => {
    const unknown = await cli("promoot");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('registry: unknown subcommand "promoot"');
    const missing = await cli("assign", "v1.0.0");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("assign takes <version> <stage>, got v1.0.0.");
    const absent = await cli("show", "v3.0.0");
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain(
      'registry: model house-price has no version "v3.0.0" (registered: none)',
    );
  });

  it("prints help for every subcommand", async () => {
    const overview = await cli("--help");
    for (const name of [
      "list",
      "show",
      "history",
      "assign",
      "deprecate",
      "register",
      "promote",
      "rollback",
    ]) {
      expect(overview.stdout).toMatch(new RegExp(`^ {2}${name} `, "m"));
      const help = await cli(name, "--help");
      expect(help.code).toBe(0);
      expect(help.stdout.split("\n")[0]).toMatch(new RegExp(`^Usage: npm run registry -- ${name}`));
    }
  });

  it("aligns table columns to the widest cell", () => {
    expect(
      formatTable(
        ["A", "LONG"],
        [
          ["xyz", "1"],
          ["q", "22"],
        ],
      ),
    ).toBe("A    LONG\nxyz  1\nq    22");
  });
});

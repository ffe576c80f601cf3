import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ACTIONS, writeActionDocs } from "./docs.ts";

const ROOT = join(import.meta.dirname, "..");

interface ActionYaml {
  inputs: Record<string, { required: boolean; default?: string }>;
  outputs: Record<string, unknown>;
}

describe("the actions' metadata and READMEs", () => {
  it("are what the specs generate (regenerate with `node actions/docs.ts`)", async () => {
    expect(await writeActionDocs(ROOT, true)).toEqual([]);
  });

  it("cover every action folder", async () => {
    const folders = (await readdir(join(ROOT, "actions"), { withFileTypes: true }))
      .filter((entry) => entry.isDirectory() && entry.name !== "common")
      .map((entry) => entry.name)
      .sort();
    expect(ACTIONS.map((spec) => spec.id).sort()).toEqual(folders);
  });

  it.each(ACTIONS.map((spec) => [spec.id]))(
    "%s: the README documents every input and output of action.yml, with the same defaults",
    async (id) => {
      const yaml = parse(
        await readFile(join(ROOT, "actions", id, "action.yml"), "utf8"),
      ) as ActionYaml;
      const readme = await readFile(join(ROOT, "actions", id, "README.md"), "utf8");
      for (const [name, input] of Object.entries(yaml.inputs)) {
        const row = readme.split("\n").find((line) => line.startsWith(`| \`${name}\``));
        expect(row, `input ${name} is not in the README`).toBeDefined();
        const cells = (row as string).split("|").map((text) => text.trim());
        expect(cells[2]).toBe(input.required ? "yes" : "no");
        expect(cells[3]).toBe(input.default === undefined ? "" : `\`${input.default}\``);
      }
      for (const name of Object.keys(yaml.outputs)) {
        expect(readme).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, "m"));
      }
      expect(readme).toContain(`uses: ./actions/${id}`);
    },
  );

  it.each(ACTIONS.map((spec) => [spec.id]))(
    "%s: main.ts reads its inputs only through readInputs",
    async (id) => {
      const main = await readFile(join(ROOT, "actions", id, "main.ts"), "utf8");
      expect(main).toContain("readInputs(");
      expect(main).not.toMatch(/core\.get(Boolean)?Input\(|=== "true"|process\.env\.GITHUB_/);
    },
  );
});

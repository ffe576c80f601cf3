// Writes every action's action.yml and README.md from its spec (actions/<id>/spec.ts), so the
// inputs main.ts reads, the metadata the runner reads and the docs people read cannot drift.
// `node actions/docs.ts` writes them; `--check` only reports which differ (the tests run it).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { writeFileAtomic } from "../lib/io/files.ts";
import type { ActionSpec } from "./common/spec.ts";
import { DEPLOY_ACTION } from "./deploy/spec.ts";
import { EVALUATE_ACTION } from "./evaluate/spec.ts";
import { FEATURES_ACTION } from "./features/spec.ts";
import { INGEST_ACTION } from "./ingest/spec.ts";
import { MERGE_ACTION } from "./merge/spec.ts";
import { PROMOTE_ACTION } from "./promote/spec.ts";
import { TRAIN_ACTION } from "./train/spec.ts";

export const ACTIONS: ActionSpec[] = [
  INGEST_ACTION,
  FEATURES_ACTION,
  TRAIN_ACTION,
  MERGE_ACTION,
  EVALUATE_ACTION,
  PROMOTE_ACTION,
  DEPLOY_ACTION,
];

const sentence = (text: string) => {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
};

/** action.yml of `spec`. */
export function actionYaml(spec: ActionSpec): string {
  const inputs = Object.fromEntries(
    Object.entries(spec.inputs).map(([name, setting]) => {
      const expression = spec.expressionDefaults?.[name];
      const fallback = expression ?? setting.default;
      return [
        name,
        {
          description: sentence(setting.description),
          required: Boolean(setting.required),
          ...(fallback !== undefined ? { default: fallback } : {}),
        },
      ];
    }),
  );
  const outputs = Object.fromEntries(
    Object.entries(spec.outputs).map(([name, description]) => [
      name,
      { description: sentence(description) },
    ]),
  );
  return `# Generated from spec.ts by \`node actions/docs.ts\`; edit the spec, not this file.\n${stringify(
    {
      name: spec.name,
      description: sentence(spec.description),
      inputs,
      outputs,
      runs: { using: "node24", main: "main.ts" },
    },
    { lineWidth: 0 },
  )}`;
}

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** A markdown table with aligned columns (as the formatter writes it). */
function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((header, column) =>
    Math.max(header.length, 3, ...rows.map((row) => row[column].length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((text, column) => text.padEnd(widths[column])).join(" | ")} |`;
  return [line(headers), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)];
}

/** README.md of `spec`. */
export function actionReadme(spec: ActionSpec): string {
  const permissions = Object.entries(spec.permissions);
  return [
    `<!-- Generated from spec.ts by \`node actions/docs.ts\`; edit the spec, not this file. -->`,
    `# ${spec.name}`,
    "",
    sentence(spec.description),
    "",
    "## Requirements",
    "",
    "The job installs the project first (`.github/actions/setup`), then runs this action on Node 24.",
    "",
    permissions.length
      ? [
          "Permissions the job needs:",
          "",
          "```yaml",
          "permissions:",
          ...permissions.map(([scope, level]) => `  ${scope}: ${level.split(" ")[0]}`),
          "```",
          "",
          ...permissions.map(([scope, level]) => `- \`${scope}\`: ${level}`),
        ].join("\n")
      : "No token permissions beyond the default `contents: read`.",
    "",
    "## Usage",
    "",
    "```yaml",
    `- ${spec.example.trim().split("\n").join("\n  ")}`,
    "```",
    "",
    "## Inputs",
    "",
    ...table(
      ["input", "required", "default", "description"],
      Object.entries(spec.inputs).map(([name, setting]) => {
        const fallback = spec.expressionDefaults?.[name] ?? setting.default;
        return [
          `\`${name}\``,
          setting.required ? "yes" : "no",
          fallback !== undefined ? `\`${cell(fallback)}\`` : "",
          cell(sentence(setting.description)),
        ];
      }),
    ),
    "",
    "## Outputs",
    "",
    ...table(
      ["output", "description"],
      Object.entries(spec.outputs).map(([name, description]) => [
        `\`${name}\``,
        cell(sentence(description)),
      ]),
    ),
    "",
  ].join("\n");
}

/** The generated files that differ from what is committed (all of them are written unless `check`). */
export async function writeActionDocs(root: string, check: boolean): Promise<string[]> {
  const stale: string[] = [];
  for (const spec of ACTIONS) {
    for (const [file, content] of [
      ["action.yml", actionYaml(spec)],
      ["README.md", actionReadme(spec)],
    ] as const) {
      const path = join(root, "actions", spec.id, file);
      const current = await readFile(path, "utf8").catch(() => null);
      if (current === content) continue;
      stale.push(path);
      if (!check) await writeFileAtomic(path, content);
    }
  }
  return stale;
}

if (import.meta.main) {
  const check = process.argv.includes("--check");
  const stale = await writeActionDocs(join(import.meta.dirname, ".."), check);
  for (const path of stale) console.log(`${check ? "stale" : "wrote"} ${path}`);
  if (check && stale.length > 0) {
    console.error("actions: regenerate with `node actions/docs.ts`");
    process.exitCode = 1;
  }
}

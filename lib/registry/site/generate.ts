// Builds the registry's static site into a folder: the pages, their data as JSON beside them, the
// compiled chart specs, the page scripts and styles, and vega's browser build. The folder is built
// aside and swapped in whole, so a failed build leaves the previous site as it was.
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { produceDirAtomic } from "../../io/files.ts";
import type { Registry } from "../types.ts";
import {
  comparePage,
  EVENTS_PER_FILE,
  overviewPage,
  type Page,
  timelinePage,
  versionFile,
  versionPage,
  versionsPage,
} from "./pages.ts";
import {
  buildSiteData,
  readSiteSource,
  type SiteData,
  type SiteLinks,
  type SiteSource,
  type VersionCard,
} from "./site-data.ts";

const ASSETS_DIR = fileURLToPath(new URL("assets/", import.meta.url));

/** The file that marks a folder as a generated site: a new build may replace only such a folder. */
export const SITE_MARKER = "site.json";

export interface SiteOptions {
  /** The folder to (re)build; it must be absent, empty, or a site built before. */
  outDir: string;
  links: SiteLinks;
  /** The build time shown on the pages (default now). */
  now?: Date;
}

export interface SiteSummary {
  outDir: string;
  versions: number;
  /** Every file written, relative to outDir. */
  files: string[];
  bytes: number;
}

/** Reads the registry (two bulk reads) and builds its site. */
export async function buildRegistrySite(
  registry: Registry,
  options: SiteOptions,
): Promise<SiteSummary> {
  return generateSite(await readSiteSource(registry), options);
}

/** Builds the site of `source` into `options.outDir`. */
export async function generateSite(source: SiteSource, options: SiteOptions): Promise<SiteSummary> {
  await assertReplaceable(options.outDir);
  const data = buildSiteData(source, options.links, options.now);
  const files = new Map<string, string | Uint8Array>();
  for (const page of pages(data)) files.set(page.path, page.html);
  files.set("data/versions.json", JSON.stringify(versionsIndex(data)));
  for (const card of data.cards) {
    files.set(`data/versions/${card.version}.json`, JSON.stringify(versionDetail(card)));
  }
  const newestFirst = [...data.stageEvents].reverse();
  for (let page = 0; page * EVENTS_PER_FILE < newestFirst.length; page++) {
    const chunk = newestFirst.slice(page * EVENTS_PER_FILE, (page + 1) * EVENTS_PER_FILE);
    files.set(
      `data/events/${page}.json`,
      JSON.stringify(
        chunk.map((event) => [
          Math.floor(Date.parse(event.at) / 1000),
          event.kind,
          event.stage,
          event.version,
          event.tag,
        ]),
      ),
    );
  }
  files.set(
    SITE_MARKER,
    `${JSON.stringify({ name: data.name, location: data.location, generatedAt: data.generatedAt, versions: data.cards.length }, null, 2)}\n`,
  );
  await copyAssets(files);
  let bytes = 0;
  await produceDirAtomic(options.outDir, async (dir) => {
    const folders = new Set([...files.keys()].map((file) => dirname(join(dir, file))));
    for (const folder of folders) await mkdir(folder, { recursive: true });
    const entries = [...files.entries()];
    // Bounded concurrency: thousands of small files, without thousands of open descriptors.
    const workers = Array.from({ length: 32 }, async () => {
      for (let entry = entries.pop(); entry; entry = entries.pop()) {
        const [file, content] = entry;
        bytes += typeof content === "string" ? Buffer.byteLength(content) : content.length;
        await writeFile(join(dir, file), content);
      }
    });
    await Promise.all(workers);
  });
  return { outDir: options.outDir, versions: data.cards.length, files: [...files.keys()], bytes };
}

function pages(data: SiteData): Page[] {
  return [
    overviewPage(data),
    versionsPage(data),
    comparePage(data),
    timelinePage(data),
    ...data.cards.map((card) => versionPage(data, card)),
  ];
}

/** Refuses to replace a folder that holds anything but a site built before (say, `--out .`). */
async function assertReplaceable(outDir: string): Promise<void> {
  const info = await stat(outDir).catch(() => null);
  if (!info) return;
  if (!info.isDirectory())
    throw new Error(`--out ${outDir} is a file; give a folder for the site (it is replaced whole)`);
  const entries = await readdir(outDir);
  if (entries.length === 0 || entries.includes(SITE_MARKER)) return;
  throw new Error(
    `--out ${outDir} is not empty and holds no ${SITE_MARKER} of an earlier site build; the site replaces its folder whole, so give a new or empty folder`,
  );
}

/** The page scripts, styles and vega's browser build (with its licence). */
async function copyAssets(files: Map<string, string | Uint8Array>): Promise<void> {
  for (const name of await readdir(ASSETS_DIR)) {
    if (name.endsWith(".d.ts")) continue;
    const content = await readFile(join(ASSETS_DIR, name));
    // The committed JSON is formatted for review; browsers get it compact.
    files.set(
      `assets/${name}`,
      name.endsWith(".json") ? JSON.stringify(JSON.parse(content.toString("utf8"))) : content,
    );
  }
  // vega's package exports only its module entry; its browser builds sit beside it.
  const vegaBuild = dirname(fileURLToPath(import.meta.resolve("vega")));
  files.set("assets/vega.min.js", await readFile(join(vegaBuild, "vega.min.js")));
  files.set("assets/vega.LICENSE.txt", await readFile(join(vegaBuild, "..", "LICENSE")));
}

/** The versions table's data: one compact row per version, params listed once. */
function versionsIndex(data: SiteData) {
  const params: string[] = [];
  const paramIndex = new Map<string, number>();
  const round = (value: number | undefined, digits = 0) =>
    value === undefined ? null : Number(value.toFixed(digits));
  const rows = data.cards.map((card) => {
    const text = card.params
      ? Object.entries(card.params)
          .map(
            ([name, value]) =>
              `${name}=${typeof value === "string" ? value : JSON.stringify(value)}`,
          )
          .join(" ")
      : "";
    let index = paramIndex.get(text);
    if (index === undefined) {
      index = params.push(text) - 1;
      paramIndex.set(text, index);
    }
    const gate = card.evaluation ? (card.evaluation.passed ? "passed" : "failed") : "unevaluated";
    return [
      card.version,
      Math.floor(Date.parse(card.registeredAt) / 1000),
      card.commit.slice(0, 12),
      card.data?.inputSha256.slice(0, 12) ?? "",
      index,
      round(card.holdout?.rmse),
      round(card.holdout?.mae),
      round(card.holdout?.r2, 4),
      card.stages.join(" "),
      `${card.deprecated ? "deprecated" : "active"} ${gate}`,
    ];
  });
  return {
    name: data.name,
    stages: data.stages,
    holders: Object.fromEntries(
      data.stages.map((stage) => [stage, data.changes.get(stage)?.at(-1)?.[1] ?? null]),
    ),
    columns: [
      "version",
      "registered",
      "commit",
      "data",
      "params",
      "rmse",
      "mae",
      "r2",
      "stages",
      "status",
    ],
    params,
    rows,
  };
}

/** What compare needs of one version. */
function versionDetail(card: VersionCard) {
  const evaluation = card.evaluation;
  return {
    version: card.version,
    page: `versions/${encodeURIComponent(versionFile(card.version))}`,
    registeredAt: card.registeredAt,
    deprecated: card.deprecated,
    stages: card.stages,
    engine: card.engine ? `${card.engine.name} ${card.engine.version}` : null,
    params: card.params,
    metrics: card.metrics,
    holdout: card.holdout,
    evaluation: evaluation
      ? {
          passed: evaluation.passed,
          reason: evaluation.reason,
          thresholds: evaluation.thresholds,
          production: evaluation.production
            ? { version: evaluation.production.version, rmse: evaluation.production.rmse }
            : null,
        }
      : null,
    segments: evaluation?.segments ?? null,
  };
}

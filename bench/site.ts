// `npm run bench -- site [--versions 1000] [--github-versions 1000] [--loads 5]`: the registry
// site for a registry of --versions synthetic versions (pipeline runs with their lineage and
// evaluation, stage assignments, failed gates, deregistrations, rollbacks; test/support/
// synthetic-registry.ts), read by the real registry code:
//   build_s           building the whole site (reading the registry included), median of 3 runs;
//   requests          GitHub API requests the build makes when the same kind of registry, of
//                     --github-versions versions, lives in the GitHub stand-in (real annotated tags
//                     in its git repository);
//   largest_page_kb   the heaviest page with everything it loads, vega's browser build aside;
//   load_ms_p95       p95 of loading each kind of page --loads times in headless Chromium, cache
//                     off, from navigation start until its scripts report it drawn.
// Targets (issue 13): build_s <= 3, load_ms_p95 <= 500, largest_page_kb <= 300 at 1,000 versions.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRegistry } from "../lib/registry/create-registry.ts";
import { buildRegistrySite } from "../lib/registry/site/generate.ts";
import { serveSite } from "../lib/registry/site/serve.ts";
import { CHROMIUM, launchChromium } from "../test/support/browser.ts";
import {
  importTags,
  syntheticRegistry,
  syntheticTags,
} from "../test/support/synthetic-registry.ts";
import { startLocalGitHub } from "../tools/local-github/server.ts";
import { type BenchHelp, benchArgs, wholeNumber } from "./support/args.ts";

const LINKS = { repositoryUrl: "https://github.com/octo-org/house-price", repositoryDir: null };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Builds the site of `count` in-memory versions three times, each into a new folder (as a CI
 * job does): wall and CPU seconds. The last build stays in `outDir`. */
async function measureBuild(count: number, outDir: string) {
  const registry = syntheticRegistry(count);
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let run = 0; run < 3; run++) {
    await rm(outDir, { recursive: true, force: true });
    const cpu = process.cpuUsage();
    const started = performance.now();
    await buildRegistrySite(registry, { outDir, links: LINKS });
    walls.push((performance.now() - started) / 1000);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / 1e6);
  }
  return { wall: median(walls), cpu: median(cpus), walls };
}

/** The GitHub API requests of one site build over `count` versions in the GitHub stand-in. */
async function measureRequests(count: number, outDir: string) {
  const standIn = await startLocalGitHub({ validate: false });
  try {
    const commit = await standIn.commitFiles(
      "main",
      { "README.md": "# house prices\n" },
      "initial",
    );
    const tags = syntheticTags(count, { commit: () => commit });
    await importTags(standIn.gitDir, tags);
    const registry = await createRegistry({
      backend: "github",
      github: { token: standIn.token, repository: standIn.repository, apiUrl: standIn.apiUrl },
    });
    const before = standIn.requests.length;
    const started = performance.now();
    await buildRegistrySite(registry, { outDir, links: LINKS });
    const seconds = (performance.now() - started) / 1000;
    const made = standIn.requests.slice(before);
    return {
      requests: made.length,
      tags: tags.length,
      seconds,
      byRoute: Object.entries(
        made.reduce<Record<string, number>>((routes, request) => {
          const route = `${request.method} ${request.path.replace(/\/git\/(tags|commits)\/[0-9a-f]+/, "/git/$1/:sha").replace(/matching-refs\/.*/, "matching-refs/:prefix")}`;
          routes[route] = (routes[route] ?? 0) + 1;
          return routes;
        }, {}),
      ),
    };
  } finally {
    await standIn.close();
  }
}

const PAGES = (count: number) => [
  ["overview", "index.html"],
  ["versions table", "versions/index.html?sort=rmse"],
  ["version page", `versions/v1.${Math.floor(count / 2)}.0.html`],
  ["compare", `compare.html?a=v1.${Math.floor(count / 3)}.0&b=v1.${count - 1}.0`],
  ["timeline", "timeline.html"],
];

interface PageRow {
  page: string;
  kb: number;
  vegaKb: number;
  cold: number[];
  warm: number[];
}

/** Loads each kind of page `loads` times with the browser's cache off (a first visit, vega's
 * build fetched and compiled again each time), then `loads` times with it on (the next pages of
 * a visit): load times and what each page fetched. */
async function measurePages(siteDir: string, count: number, loads: number) {
  const server = await serveSite(siteDir, { basePath: "/house-price/" });
  const browser = await launchChromium();
  const rows: PageRow[] = [];
  /** One load: milliseconds from navigation start until the page reports itself drawn. */
  async function load(path: string, cacheOff: boolean) {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: cacheOff });
    const sizes: Promise<[string, number]>[] = [];
    page.on("response", (response) =>
      sizes.push(
        response.body().then(
          (body) => [response.url(), body.length] as [string, number],
          () => [response.url(), 0],
        ),
      ),
    );
    await page.goto(`${server.url}${path}`);
    await page.waitForSelector("body[data-loaded='true']", { timeout: 60_000 });
    // A page without scripts is loaded when its document is.
    const drawn = await page.getAttribute("body", "data-loaded-ms");
    const ms = drawn
      ? Number(drawn)
      : Math.round(
          Number(
            await page.evaluate(
              'performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd',
            ),
          ),
        );
    const fetched = await Promise.all(sizes);
    await page.close();
    const isVega = (url: string) => url.endsWith("/vega.min.js");
    const sum = (list: [string, number][]) => list.reduce((total, [, n]) => total + n, 0);
    return {
      ms,
      bytes: sum(fetched.filter(([url]) => !isVega(url))),
      vegaBytes: sum(fetched.filter(([url]) => isVega(url))),
    };
  }
  try {
    for (const [label, path] of PAGES(count)) {
      const cold = [];
      for (let i = 0; i < loads; i++) cold.push(await load(path, true));
      await load(path, false); // fills the cache
      const warm = [];
      for (let i = 0; i < loads; i++) warm.push(await load(path, false));
      rows.push({
        page: label,
        kb: Math.max(...cold.map((run) => run.bytes)) / 1024,
        vegaKb: Math.max(...cold.map((run) => run.vegaBytes)) / 1024,
        cold: cold.map((run) => run.ms),
        warm: warm.map((run) => run.ms),
      });
    }
  } finally {
    await browser.close();
    await server.close();
  }
  return {
    rows,
    coldP95: percentile(
      rows.flatMap((row) => row.cold),
      95,
    ),
    warmP95: percentile(
      rows.flatMap((row) => row.warm),
      95,
    ),
  };
}

export const help = {
  about:
    "The registry site of synthetic versions: build time, GitHub API requests (stand-in), heaviest page, page loads in headless Chromium.",
  options: {
    versions: {
      type: "string",
      default: "1000",
      value: "N",
      description: "versions of the site built",
    },
    "github-versions": {
      type: "string",
      default: "1000",
      value: "N",
      description: "versions in the GitHub stand-in, for the request count",
    },
    loads: { type: "string", default: "5", value: "N", description: "loads of each kind of page" },
  },
} satisfies BenchHelp;

/** Runs the site benchmark; the last printed line is its JSON result. */
export async function main(args: string[]): Promise<void> {
  const values = benchArgs(help.options, args);
  const count = wholeNumber("versions", values.versions);
  const githubCount = wholeNumber("github-versions", values["github-versions"]);
  const loads = wholeNumber("loads", values.loads);
  const work = await mkdtemp(join(tmpdir(), "bench-site-"));
  try {
    console.log(`Building the site of ${count} synthetic versions (3 runs) ...`);
    const build = await measureBuild(count, join(work, "site"));
    console.log(
      `  median ${build.wall.toFixed(2)} s wall (runs ${build.walls.map((s) => s.toFixed(2)).join(", ")}), ${build.cpu.toFixed(2)} s CPU`,
    );

    console.log(`Reading ${githubCount} versions from the GitHub stand-in ...`);
    const github = await measureRequests(githubCount, join(work, "github-site"));
    console.log(
      `  ${github.requests} requests for ${github.tags} tags in ${github.seconds.toFixed(1)} s:`,
    );
    for (const [route, n] of github.byRoute) console.log(`    ${String(n).padStart(6)}  ${route}`);

    console.log(`Loading each kind of page ${loads} times in ${CHROMIUM}, cache off then on ...`);
    const pages = await measurePages(join(work, "site"), count, loads);
    console.log(
      "  page              weight (KB, vega aside)  + vega (KB)  cold p50 / max (ms)  warm p50 / max (ms)",
    );
    for (const row of pages.rows) {
      const span = (times: number[]) => `${median(times)} / ${Math.max(...times)}`.padStart(19);
      console.log(
        `  ${row.page.padEnd(16)}  ${row.kb.toFixed(1).padStart(23)}  ${row.vegaKb.toFixed(0).padStart(11)}  ${span(row.cold)}  ${span(row.warm)}`,
      );
    }
    const result = {
      versions: count,
      build_s: Number(build.wall.toFixed(2)),
      requests: Math.round((github.requests * count) / githubCount),
      largest_page_kb: Number(Math.max(...pages.rows.map((row) => row.kb)).toFixed(1)),
      load_ms_p95: pages.coldP95,
      load_ms_p95_warm: pages.warmP95,
      build_cpu_s: Number(build.cpu.toFixed(2)),
      requests_measured: { versions: githubCount, tags: github.tags, requests: github.requests },
    };
    if (githubCount !== count)
      console.log(
        `requests scaled from ${githubCount} to ${count} versions (${(github.requests / githubCount).toFixed(2)} per version)`,
      );
    console.log(JSON.stringify(result));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

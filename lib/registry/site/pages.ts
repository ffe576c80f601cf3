// The site's pages as HTML: a shared layout, then the overview, the versions table, one model card
// per version, compare and the production timeline. Relative links only, so the site works under
// any sub-path (GitHub Pages serves it at /<repo>/). Registry text goes through `html`, escaped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SAMPLE_RECORD } from "../../schema/features.ts";
import { formatMoney, formatR2, formatTime } from "./assets/shared.js";
import { type Html, html, jsonScript, link, trusted } from "./html.ts";
import {
  promotionBranch,
  promotionSearch,
  releaseLocation,
  type SiteData,
  type VersionCard,
} from "./site-data.ts";

/** How many versions the overview's trend shows. */
export const TREND_VERSIONS = 30;
/** How many versions the overview lists. */
export const LATEST_VERSIONS = 10;

type Section = "overview" | "versions" | "compare" | "timeline" | null;

interface PageOptions {
  data: SiteData;
  title: string;
  /** `""` for pages at the site's root, `"../"` for pages one folder down. */
  root: "" | "../";
  section: Section;
  body: Html;
  /** Page scripts under assets/ (ES modules). */
  scripts?: string[];
  /** What the page's scripts report ready (`charts`, `table`, ...): tests and the benchmark wait
   * for `<body data-loaded="true">`, set when all of them are. */
  needs?: string[];
  /** JSON for the page's scripts. */
  json?: Html;
  /** Data files (relative to the site's root) the page's scripts fetch first: fetched at once. */
  preload?: string[];
}

const ASSETS = fileURLToPath(new URL("assets/", import.meta.url));
const importsOf = new Map<string, string[]>();

/** The modules `scripts` import, directly or not: preloaded, so that the browser fetches them
 * beside the page's scripts instead of after them. */
function moduleGraph(scripts: string[]): string[] {
  const found = new Set<string>();
  const visit = (module: string) => {
    let imports = importsOf.get(module);
    if (!imports) {
      const text = readFileSync(join(ASSETS, module), "utf8");
      imports = [...text.matchAll(/^import [^;]*? from "\.\/([\w-]+\.js)";$/gms)].map((m) => m[1]);
      importsOf.set(module, imports);
    }
    for (const name of imports) {
      if (found.has(name) || scripts.includes(name)) continue;
      found.add(name);
      visit(name);
    }
  };
  for (const script of scripts) visit(script);
  return [...found];
}

/** A page's relative file name and its HTML. */
export interface Page {
  path: string;
  html: string;
}

const NAV: [Exclude<Section, null>, string, string][] = [
  ["overview", "Overview", "index.html"],
  ["versions", "Versions", "versions/index.html"],
  ["compare", "Compare", "compare.html"],
  ["timeline", "Timeline", "timeline.html"],
];

function layout(options: PageOptions): string {
  const { data, root } = options;
  const scripts = options.scripts ?? [];
  const needsCharts = options.needs?.includes("charts") ?? false;
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · ${data.name} model registry</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${root}assets/site.css">
${[...(needsCharts ? ["assets/chart-specs.json"] : []), ...(options.preload ?? [])].map(
  (file) => html`<link rel="preload" href="${root}${file}" as="fetch" crossorigin="anonymous">\n`,
)}${needsCharts ? html`<script src="${root}assets/vega.min.js" defer></script>\n` : ""}${moduleGraph(
  scripts,
).map(
  (module) => html`<link rel="modulepreload" href="${root}assets/${module}">\n`,
)}${scripts.map((script) => html`<script type="module" src="${root}assets/${script}"></script>\n`)}</head>
<body data-needs="${(options.needs ?? []).join(" ")}"${options.needs?.length ? "" : trusted(' data-loaded="true"')}>
<a class="skip" href="#main">Skip to the content</a>
<header class="top">
<p class="brand"><a href="${root}index.html">${data.name}</a> <span>model registry</span></p>
<nav aria-label="Site">
<ul>${NAV.map(
    ([section, label, href]) =>
      html`<li><a href="${root}${href}"${section === options.section ? trusted(' aria-current="page"') : ""}>${label}</a></li>`,
  )}</ul>
</nav>
</header>
<main id="main">
${options.body}
</main>
<footer>
<p>Generated ${formatTime(data.generatedAt)} from the ${data.backend === "github" ? "GitHub" : "local"} registry ${data.location}: git tags in the GTO format and their releases.</p>
</footer>
${options.json ?? ""}
</body>
</html>
`;
  return page.html;
}

/** A version page's file name under versions/. */
export function versionFile(version: string): string {
  return `${version}.html`;
}

/** A link to a version's page from a page at `root`. */
export function versionHref(root: "" | "../", version: string): string {
  return `${root}versions/${encodeURIComponent(version)}.html`;
}

function versionLink(root: "" | "../", version: string): Html {
  return link(versionHref(root, version), version);
}

function stageBadges(stages: string[]): Html {
  return html`${stages.map((stage) => html`<span class="badge stage-${stage === "production" ? "production" : stage === "staging" ? "staging" : "other"}">${stage}</span> `)}`;
}

function gateBadge(card: VersionCard): Html {
  if (!card.evaluation) return html`<span class="badge muted">not evaluated</span>`;
  return card.evaluation.passed
    ? html`<span class="badge pass">gate passed</span>`
    : html`<span class="badge fail">gate failed</span>`;
}

function statusBadge(card: VersionCard): Html {
  return card.deprecated ? html`<span class="badge muted">deprecated</span>` : html``;
}

function emptyRegistry(data: SiteData, root: "" | "../"): Html {
  return html`<section class="empty" aria-labelledby="empty-title">
<h2 id="empty-title">No versions yet</h2>
<p>No version of <strong>${data.name}</strong> is registered in ${data.location}. A version appears here once the pipeline registers one:</p>
<pre tabindex="0"><code>npm run pipeline        # locally: train, evaluate, register, promote, deploy
npm run registry -- list  # what the registry holds</code></pre>
<p>On GitHub the <code>pipeline</code> workflow registers versions and this site is rebuilt after it. <a href="${root}timeline.html">The timeline</a> will show stage assignments.</p>
</section>`;
}

/** The overview: the artifact, its stages now, the trend and the latest versions. */
export function overviewPage(data: SiteData): Page {
  const root = "";
  const newest = [...data.cards].reverse();
  const holders = data.stages.map((stage) => {
    const last = data.changes.get(stage)?.at(-1);
    return { stage, version: last?.[1] ?? null, since: last?.[2] ?? null };
  });
  const current = holders.filter((holder) => holder.version !== null);
  const trend = data.cards.filter((card) => card.holdout !== null).slice(-TREND_VERSIONS);
  const active = data.cards.filter((card) => !card.deprecated).length;
  const body = html`<h1>${data.name}</h1>
<p class="lead">${data.cards.length} version${data.cards.length === 1 ? "" : "s"} (${active} active) in the ${data.backend === "github" ? "GitHub" : "local"} registry <code>${data.location}</code>.</p>
${
  data.cards.length === 0
    ? emptyRegistry(data, root)
    : html`<section aria-labelledby="stages-title">
<h2 id="stages-title">Stages now</h2>
${
  current.length === 0
    ? html`<p>No version holds a stage yet.</p>`
    : html`<table class="data">
<caption class="visually-hidden">Which version holds each stage</caption>
<thead><tr><th scope="col">stage</th><th scope="col">version</th><th scope="col">since</th><th scope="col" class="num">hold-out RMSE</th><th scope="col">gate</th></tr></thead>
<tbody>${current.map((holder) => {
        const card = data.byVersion.get(holder.version as string) as VersionCard;
        return html`<tr><td>${stageBadges([holder.stage])}</td><td>${versionLink(root, card.version)}</td><td>${formatTime(holder.since as number)}</td><td class="num">${formatMoney(card.holdout?.rmse)}</td><td>${gateBadge(card)}</td></tr>`;
      })}</tbody>
</table>`
}
<p><a href="timeline.html">Every assignment over time</a>, and which version served at a given time.</p>
</section>
<section aria-labelledby="trend-title">
<h2 id="trend-title">Hold-out error over the last ${trend.length} version${trend.length === 1 ? "" : "s"}</h2>
${
  trend.length === 0
    ? html`<p class="missing">No version carries metrics yet (their tags hold no lineage).</p>`
    : html`<figure class="chart" data-chart="trend" data-values="trend" aria-labelledby="trend-caption">
<div class="chart-canvas"></div>
<figcaption id="trend-caption">RMSE and MAE on the hold-out per version, oldest left; the dashed line is the gate's RMSE threshold each version was evaluated with.</figcaption>
</figure>
<figure class="chart" data-chart="r2" data-values="r2" aria-labelledby="r2-caption">
<div class="chart-canvas"></div>
<figcaption id="r2-caption">R² on the hold-out per version.</figcaption>
</figure>`
}
</section>
<section aria-labelledby="latest-title">
<h2 id="latest-title">Latest versions</h2>
${versionsTable(root, newest.slice(0, LATEST_VERSIONS))}
<p><a href="versions/index.html">All ${data.cards.length} versions</a>, to sort and filter · <a href="compare.html">compare two versions</a></p>
</section>`
}`;
  const chartData = {
    trend: {
      metrics: trend.flatMap((card) => [
        { version: card.version, metric: "RMSE", value: card.holdout?.rmse },
        { version: card.version, metric: "MAE", value: card.holdout?.mae },
      ]),
      thresholds: trend
        .filter((card) => card.evaluation)
        .map((card) => ({
          version: card.version,
          threshold: card.evaluation?.thresholds.rmseThreshold,
        })),
    },
    r2: { r2: trend.map((card) => ({ version: card.version, r2: card.holdout?.r2 })) },
  };
  return {
    path: "index.html",
    html: layout({
      data,
      title: "Overview",
      root,
      section: "overview",
      body,
      scripts: trend.length ? ["charts.js"] : [],
      needs: trend.length ? ["charts"] : [],
      json: trend.length ? jsonScript("chart-data", chartData) : undefined,
    }),
  };
}

function versionsTable(root: "" | "../", cards: VersionCard[]): Html {
  return html`<table class="data">
<caption class="visually-hidden">Versions, newest first</caption>
<thead><tr><th scope="col">version</th><th scope="col">registered</th><th scope="col">stages</th><th scope="col" class="num">RMSE</th><th scope="col" class="num">MAE</th><th scope="col" class="num">R²</th><th scope="col">status</th></tr></thead>
<tbody>${cards.map(
    (card) =>
      html`<tr><td>${versionLink(root, card.version)}</td><td>${formatTime(card.registeredAt)}</td><td>${stageBadges(card.stages)}</td><td class="num">${formatMoney(card.holdout?.rmse)}</td><td class="num">${formatMoney(card.holdout?.mae)}</td><td class="num">${formatR2(card.holdout?.r2)}</td><td>${gateBadge(card)} ${statusBadge(card)}</td></tr>`,
  )}</tbody>
</table>`;
}

/** The versions table: the shell; assets/versions.js fills it from data/versions.json. */
export function versionsPage(data: SiteData): Page {
  const root = "../";
  const body = html`<h1>Versions</h1>
<p class="lead">Every version of ${data.name} with when, commit, data, params, hold-out metrics, stages and status. Sort by a column's heading, filter by stage, status or text; the address keeps the view, so a link shares it.</p>
${
  data.cards.length === 0
    ? emptyRegistry(data, root)
    : html`<form class="filters" role="search" aria-label="Filter versions" id="filters">
<div><label for="q">Text</label><input id="q" name="q" type="search" placeholder="version, commit, sha256, param…" autocomplete="off"></div>
<div><label for="stage">Stage</label><select id="stage" name="stage"><option value="">any</option>${data.stages.map((stage) => html`<option value="${stage}">${stage}</option>`)}<option value="none">none</option></select></div>
<div><label for="status">Status</label><select id="status" name="status"><option value="">any</option><option value="active">active</option><option value="deprecated">deprecated</option><option value="passed">gate passed</option><option value="failed">gate failed</option><option value="unevaluated">not evaluated</option></select></div>
</form>
<p id="count" role="status" aria-live="polite"></p>
<div class="table-scroll" tabindex="0" role="region" aria-label="Versions table">
<table class="data" id="versions">
<caption class="visually-hidden">Versions</caption>
<thead><tr>
<th scope="col" data-sort="version"><button type="button">version</button></th>
<th scope="col" data-sort="registered"><button type="button">registered</button></th>
<th scope="col">commit</th>
<th scope="col">data sha256</th>
<th scope="col">params</th>
<th scope="col" class="num" data-sort="rmse"><button type="button">RMSE</button></th>
<th scope="col" class="num" data-sort="mae"><button type="button">MAE</button></th>
<th scope="col" class="num" data-sort="r2"><button type="button">R²</button></th>
<th scope="col">stages</th>
<th scope="col">status</th>
</tr></thead>
<tbody></tbody>
</table>
</div>
<nav class="pager" aria-label="Pages of versions" id="pager"></nav>
<noscript><p>This table needs JavaScript. The <a href="../index.html">overview</a> lists the latest versions.</p></noscript>`
}`;
  return {
    path: "versions/index.html",
    html: layout({
      data,
      title: "Versions",
      root,
      section: "versions",
      body,
      scripts: data.cards.length ? ["versions.js"] : [],
      needs: data.cards.length ? ["table"] : [],
      preload: data.cards.length ? ["data/versions.json"] : [],
    }),
  };
}

function missing(text: string): Html {
  return html`<p class="missing"><strong>Missing:</strong> ${text}</p>`;
}

function sha(value: string | null | undefined): Html {
  return value ? html`<code class="sha">${value}</code>` : html`<span class="muted">unknown</span>`;
}

function metricsTable(card: VersionCard): Html {
  const metrics = card.metrics;
  const rows: [string, { rmse?: number; mae?: number; r2?: number } | null | undefined][] = [
    ["train", metrics?.train],
    ["out-of-bag", metrics?.oob],
    ["validation (training run)", metrics?.validation],
    ["hold-out (evaluation)", card.evaluation?.holdout],
  ];
  return html`<table class="data">
<caption class="visually-hidden">Metrics of ${card.version}</caption>
<thead><tr><th scope="col">split</th><th scope="col" class="num">RMSE</th><th scope="col" class="num">MAE</th><th scope="col" class="num">R²</th></tr></thead>
<tbody>${rows.map(
    ([label, score]) =>
      html`<tr><th scope="row">${label}</th><td class="num">${formatMoney(score?.rmse)}</td><td class="num">${formatMoney(score?.mae)}</td><td class="num">${formatR2(score?.r2)}</td></tr>`,
  )}</tbody>
</table>`;
}

function paramValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function paramsTable(card: VersionCard): Html {
  if (!card.params) return missing("no params recorded in the registration tag.");
  const entries = Object.entries(card.params);
  if (entries.length === 0) return html`<p>No params.</p>`;
  return html`<table class="data params">
<caption class="visually-hidden">Params of ${card.version}</caption>
<thead><tr><th scope="col">param</th><th scope="col">value</th></tr></thead>
<tbody>${entries.map(
    ([name, value]) =>
      html`<tr><th scope="row"><code>${name}</code></th><td><code>${paramValue(value)}</code></td></tr>`,
  )}</tbody>
</table>`;
}

function segmentsSection(card: VersionCard): Html {
  const evaluation = card.evaluation;
  if (!evaluation)
    return missing(
      "no evaluation recorded, so no per-segment errors. The version was registered without the evaluate stage, or by another tool.",
    );
  const production = evaluation.production;
  const entries = Object.entries(evaluation.segments);
  return html`<table class="data">
<caption class="visually-hidden">Hold-out error by ocean_proximity of ${card.version}</caption>
<thead><tr><th scope="col">ocean_proximity</th><th scope="col" class="num">rows</th><th scope="col" class="num">RMSE</th><th scope="col" class="num">MAE</th><th scope="col" class="num">R²</th>${production ? html`<th scope="col" class="num">production ${production.version} RMSE</th><th scope="col" class="num">change</th>` : ""}</tr></thead>
<tbody>${entries.map(([segment, score]) => {
    const before = production?.segments[segment];
    const delta = before ? score.rmse - before.rmse : null;
    return html`<tr><th scope="row">${segment}</th><td class="num">${score.rows}</td><td class="num">${formatMoney(score.rmse)}</td><td class="num">${formatMoney(score.mae)}</td><td class="num">${formatR2(score.r2)}</td>${
      production
        ? html`<td class="num">${formatMoney(before?.rmse)}</td><td class="num ${delta !== null && delta > 0 ? "worse" : "better"}">${delta === null ? "–" : html`${delta > 0 ? "worse" : "better"} by ${formatMoney(Math.abs(delta))}`}</td>`
        : ""
    }</tr>`;
  })}</tbody>
</table>
<figure class="chart" data-chart="segments" data-values="segments" aria-labelledby="segments-caption">
<div class="chart-canvas"></div>
<figcaption id="segments-caption">Hold-out RMSE by ocean_proximity${production ? html`, beside production ${production.version} when this version was evaluated` : ""}.</figcaption>
</figure>`;
}

function evaluationSection(card: VersionCard, root: "" | "../"): Html {
  const evaluation = card.evaluation;
  if (!evaluation)
    return missing(
      "no evaluation report: the registration tag records no evaluation (gate verdict, hold-out scores, residuals).",
    );
  const { thresholds, holdout, production } = evaluation;
  return html`<p class="verdict ${evaluation.passed ? "pass" : "fail"}">${evaluation.passed ? "Passed" : "Failed"} the evaluation gate${evaluation.passed ? "." : html`: ${evaluation.reason}`}</p>
<dl class="facts">
<dt>evaluated</dt><dd>${formatTime(evaluation.evaluatedAt)}</dd>
<dt>RMSE threshold</dt><dd>${formatMoney(thresholds.rmseThreshold)}</dd>
<dt>tolerance against production</dt><dd>${(thresholds.tolerance * 100).toFixed(1)}%</dd>
<dt>hold-out</dt><dd>${holdout.rows} rows: RMSE ${formatMoney(holdout.rmse)}, MAE ${formatMoney(holdout.mae)}, R² ${formatR2(holdout.r2)}</dd>
<dt>compared with</dt><dd>${production ? html`production ${versionLink(root, production.version)} (RMSE ${formatMoney(production.rmse)})` : "no version was in production: only the threshold applied"}</dd>
</dl>`;
}

function residualsSection(card: VersionCard): Html {
  if (!card.evaluation)
    return missing("no residual summary: it is part of the evaluation, which is not recorded.");
  return html`<div class="charts-row">
<figure class="chart" data-chart="residuals" data-values="residuals" aria-labelledby="residuals-caption">
<div class="chart-canvas"></div>
<figcaption id="residuals-caption">Residuals (predicted − actual price) on the hold-out, ${formatMoney(card.evaluation.residuals.binWidth)} wide bins.</figcaption>
</figure>
<figure class="chart" data-chart="calibration" data-values="calibration" aria-labelledby="calibration-caption">
<div class="chart-canvas"></div>
<figcaption id="calibration-caption">Calibration: mean actual against mean predicted price for each tenth of the hold-out, by prediction; the dashed diagonal is a perfect model.</figcaption>
</figure>
</div>`;
}

function importancesSection(card: VersionCard): Html {
  if (!card.featureImportances || Object.keys(card.featureImportances).length === 0)
    return missing(
      `no feature importances recorded${card.engine ? ` (engine ${card.engine.name} ${card.engine.version} may not report them)` : ""}.`,
    );
  return html`<figure class="chart" data-chart="importances" data-values="importances" aria-labelledby="importances-caption">
<div class="chart-canvas"></div>
<figcaption id="importances-caption">Impurity importance of each of the ${Object.keys(card.featureImportances).length} features.</figcaption>
</figure>`;
}

function externalLink(url: string | null, text: string): Html {
  return url ? html`<a href="${url}" rel="noopener">${text}</a>` : html`${text}`;
}

function lineageSection(data: SiteData, card: VersionCard, root: "" | "../"): Html {
  const run = card.run;
  return html`<dl class="facts">
<dt>tag</dt><dd><code>${card.tag}</code></dd>
<dt>commit</dt><dd>${data.links.repositoryUrl ? html`<a href="${data.links.repositoryUrl}/commit/${card.commit}"><code class="sha">${card.commit}</code></a>` : sha(card.commit)}</dd>
<dt>workflow run</dt><dd>${run ? (run.url ? externalLink(run.url, `run ${run.id}`) : html`run ${run.id} (its address is not a web link)`) : html`<span class="muted">none recorded (trained outside GitHub Actions)</span>`}</dd>
<dt>trained</dt><dd>${card.trainedAt ? formatTime(card.trainedAt) : html`<span class="muted">unknown</span>`}</dd>
<dt>registered</dt><dd>${formatTime(card.registeredAt)}</dd>
<dt>engine</dt><dd>${card.engine ? `${card.engine.name} ${card.engine.version}` : html`<span class="muted">unknown</span>`}</dd>
<dt>input data sha256</dt><dd>${sha(card.data?.inputSha256)}</dd>
<dt>features sha256</dt><dd>${sha(card.data?.featuresSha256)}</dd>
<dt>feature schema sha256</dt><dd>${sha(card.featureSchemaSha256)}</dd>
<dt>model</dt><dd>${card.model ? html`<code>${card.model.file}</code>, ${card.model.bytes.toLocaleString("en-US")} bytes, sha256 ${sha(card.model.sha256)}` : html`<span class="muted">unknown</span>`}</dd>
<dt>parent version</dt><dd>${card.previous ? html`${versionLink(root, card.previous)} (<a href="${root}compare.html?a=${encodeURIComponent(card.previous)}&amp;b=${encodeURIComponent(card.version)}">compare</a>)` : "none: the first version"}</dd>
</dl>`;
}

function linksSection(data: SiteData, card: VersionCard): Html {
  const release = releaseLocation(data.links, card.tag);
  const search = promotionSearch(data.links, data.name, card.version);
  const branch = promotionBranch(data.name, card.version);
  return html`<ul class="links">
<li>Release (model, manifest, metrics, report, plots): ${
    release && "url" in release
      ? html`<a href="${release.url}" rel="noopener">${card.tag}</a>`
      : release
        ? html`<code>${release.path}</code> in the local registry`
        : "unknown"
  }</li>
<li>Promotion: ${search ? html`<a href="${search}" rel="noopener">pull requests from <code>${branch}</code></a>` : html`branch <code>${branch}</code> of the local repository, when the version was promoted`}</li>
<li>Workflow run: ${card.run?.url ? html`<a href="${card.run.url}" rel="noopener">run ${card.run.id}</a>` : html`<span class="muted">none recorded</span>`}</li>
</ul>`;
}

function callSection(card: VersionCard): Html {
  const record = JSON.stringify(SAMPLE_RECORD);
  const serving = card.stages.includes("production");
  const python = JSON.stringify(SAMPLE_RECORD).replace(/"([a-z_]+)":/g, '"$1": ');
  return html`<p>${serving ? html`This version serves production now.` : html`To serve this version, deploy it first (a rollback does the same on GitHub: the <code>deploy</code> workflow with <code>version: ${card.version}</code>).`}</p>
<pre tabindex="0"><code>${serving ? "" : `npm run deploy -- --version ${card.version}\n`}npm run serve
curl -s localhost:8080/predict -H 'content-type: application/json' \\
  -d '${record}'
# {"predicted_price": …, "model_version": "${card.version}"}</code></pre>
<p>With MLflow's scoring client (the service also speaks MLflow's <code>/invocations</code> protocol):</p>
<pre tabindex="0"><code>import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

client = ScoringServerClient("127.0.0.1", 8080)
client.wait_server_ready()
frame = pd.DataFrame([${python}])
print(client.invoke(frame).get_predictions())</code></pre>`;
}

function historySection(card: VersionCard): Html {
  if (card.events.length === 0) return html`<p>No events.</p>`;
  return html`<table class="data">
<caption class="visually-hidden">Registry events of ${card.version}</caption>
<thead><tr><th scope="col">time</th><th scope="col">event</th><th scope="col">stage</th><th scope="col">tag</th><th scope="col">message</th></tr></thead>
<tbody>${card.events.map(
    (event) =>
      html`<tr><td>${formatTime(event.at)}</td><td>${event.kind}</td><td>${event.stage ?? "–"}</td><td><code>${event.tag}</code></td><td>${event.summary}</td></tr>`,
  )}</tbody>
</table>`;
}

/** The data a version page's charts draw. */
function versionChartData(card: VersionCard): Record<string, Record<string, unknown[]>> {
  const evaluation = card.evaluation;
  const charts: Record<string, Record<string, unknown[]>> = {};
  if (card.featureImportances)
    charts.importances = {
      importances: Object.entries(card.featureImportances).map(([feature, importance]) => ({
        feature,
        importance,
      })),
    };
  if (evaluation) {
    const production = evaluation.production;
    charts.segments = {
      segments: Object.entries(evaluation.segments).flatMap(([segment, score]) => [
        { segment, model: card.version, rmse: score.rmse },
        ...(production?.segments[segment]
          ? [
              {
                segment,
                model: `production ${production.version}`,
                rmse: production.segments[segment].rmse,
              },
            ]
          : []),
      ]),
    };
    const width = evaluation.residuals.binWidth;
    charts.residuals = {
      residuals: evaluation.residuals.bins.map((bin) => ({
        start: bin.start,
        end: bin.start + width,
        count: bin.count,
      })),
    };
    const points = evaluation.calibration;
    const values = points.flatMap((point) => [point.predicted, point.actual]);
    const low = Math.min(...values);
    const high = Math.max(...values);
    charts.calibration = {
      calibration: points,
      diagonal: values.length
        ? [
            { predicted: low, actual: low },
            { predicted: high, actual: high },
          ]
        : [],
    };
  }
  return charts;
}

/** One version's model card. */
export function versionPage(data: SiteData, card: VersionCard): Page {
  const root = "../";
  const charts = versionChartData(card);
  const hasCharts = Object.keys(charts).length > 0;
  const body = html`<p class="crumbs"><a href="index.html">Versions</a> / ${card.version}</p>
<h1>${data.name} ${card.version}</h1>
<p class="badges">${stageBadges(card.stages)}${gateBadge(card)} ${statusBadge(card)}</p>
${
  card.hasLineage
    ? ""
    : missing(
        "this version's registration tag carries no lineage: it was registered by another tool (such as plain gto), or its message is not valid lineage JSON. Params, metrics, data and model hashes and the evaluation are unknown.",
      )
}
${card.summary ? html`<p class="summary">${card.summary}</p>` : ""}
<nav aria-label="On this page" class="toc"><ul>
<li><a href="#params">Params and metrics</a></li><li><a href="#evaluation">Evaluation</a></li><li><a href="#segments">Segments</a></li><li><a href="#importances">Importances</a></li><li><a href="#residuals">Residuals</a></li><li><a href="#lineage">Lineage</a></li><li><a href="#links">Links</a></li><li><a href="#call">How to call it</a></li><li><a href="#history">History</a></li>
</ul></nav>
<section id="params" aria-labelledby="params-title">
<h2 id="params-title">Params and metrics</h2>
<div class="two-columns">
<div>${paramsTable(card)}</div>
<div>${card.metrics || card.evaluation ? metricsTable(card) : missing("no metrics recorded in the registration tag.")}</div>
</div>
</section>
<section id="evaluation" aria-labelledby="evaluation-title">
<h2 id="evaluation-title">Evaluation report</h2>
${evaluationSection(card, root)}
</section>
<section id="segments" aria-labelledby="segments-title">
<h2 id="segments-title">Errors by ocean_proximity</h2>
${segmentsSection(card)}
</section>
<section id="importances" aria-labelledby="importances-title">
<h2 id="importances-title">Feature importances</h2>
${importancesSection(card)}
</section>
<section id="residuals" aria-labelledby="residuals-title">
<h2 id="residuals-title">Residuals</h2>
${residualsSection(card)}
</section>
<section id="lineage" aria-labelledby="lineage-title">
<h2 id="lineage-title">Lineage</h2>
${lineageSection(data, card, root)}
</section>
<section id="links" aria-labelledby="links-title">
<h2 id="links-title">Release, promotion and run</h2>
${linksSection(data, card)}
</section>
<section id="call" aria-labelledby="call-title">
<h2 id="call-title">How to call it</h2>
${callSection(card)}
</section>
<section id="history" aria-labelledby="history-title">
<h2 id="history-title">History</h2>
${historySection(card)}
</section>`;
  return {
    path: `versions/${versionFile(card.version)}`,
    html: layout({
      data,
      title: card.version,
      root,
      section: "versions",
      body,
      scripts: hasCharts ? ["charts.js"] : [],
      needs: hasCharts ? ["charts"] : [],
      json: hasCharts ? jsonScript("chart-data", charts) : undefined,
    }),
  };
}

/** Compare: the shell; assets/compare.js fills it from data/. */
export function comparePage(data: SiteData): Page {
  const root = "";
  const body = html`<h1>Compare two versions</h1>
<p class="lead">Params side by side, the metrics' differences with the gate's verdict, and the change in each ocean_proximity segment. Pick a baseline (A) and a candidate (B); the address keeps the pair.</p>
${
  data.cards.length < 2
    ? html`<p class="missing">Comparing needs two versions; the registry has ${data.cards.length}.</p>`
    : html`<form id="pick" class="filters">
<div><label for="a">Baseline A</label><input id="a" name="a" list="version-list" autocomplete="off" required></div>
<div><label for="b">Candidate B</label><input id="b" name="b" list="version-list" autocomplete="off" required></div>
<div><button type="submit">Compare</button></div>
<datalist id="version-list"></datalist>
</form>
<p id="compare-status" role="status" aria-live="polite"></p>
<div id="comparison"></div>`
}`;
  return {
    path: "compare.html",
    html: layout({
      data,
      title: "Compare",
      root,
      section: "compare",
      body,
      scripts: data.cards.length < 2 ? [] : ["compare.js"],
      needs: data.cards.length < 2 ? [] : ["compare"],
      preload: data.cards.length < 2 ? [] : ["data/versions.json"],
    }),
  };
}

/** The production timeline: every stage event, the holders over time, and "who served at T". */
export function timelinePage(data: SiteData): Page {
  const root = "";
  const stages = data.stages;
  const hasEvents = data.stageEvents.length > 0;
  const body = html`<h1>Production timeline</h1>
<p class="lead">Every stage assignment over time, and which version held a stage at a time you pick.</p>
${
  !hasEvents
    ? html`<p class="missing">No stage has been assigned yet${data.cards.length === 0 ? ": the registry has no versions" : ""}.</p>`
    : html`<section aria-labelledby="ask-title">
<h2 id="ask-title">What served at a given time</h2>
<form id="ask" class="filters">
<div><label for="at">Time (UTC)</label><input id="at" name="at" type="datetime-local" step="1" required></div>
<div><label for="ask-stage">Stage</label><select id="ask-stage" name="stage">${stages.map((stage) => html`<option value="${stage}">${stage}</option>`)}</select></div>
<div><button type="submit">Ask</button></div>
</form>
<p id="answer" role="status" aria-live="polite"></p>
</section>
<section aria-labelledby="holders-title">
<h2 id="holders-title">Holders over time</h2>
<figure class="chart" data-chart="stages" data-values="stages" aria-labelledby="holders-caption">
<div class="chart-canvas"></div>
<figcaption id="holders-caption">Which version held each stage, as bars from its assignment to the next change (the latest ${HOLDS_IN_CHART} per stage).</figcaption>
</figure>
</section>
<section aria-labelledby="events-title">
<h2 id="events-title">Stage events</h2>
<p id="events-count" role="status" aria-live="polite"></p>
<div class="table-scroll" tabindex="0" role="region" aria-label="Stage events table">
<table class="data" id="events">
<caption class="visually-hidden">Stage events, newest first</caption>
<thead><tr><th scope="col">time</th><th scope="col">event</th><th scope="col">stage</th><th scope="col">version</th><th scope="col">tag</th></tr></thead>
<tbody></tbody>
</table>
</div>
<nav class="pager" aria-label="Pages of events" id="events-pager"></nav>
</section>`
}`;
  const timeline = {
    stages,
    changes: Object.fromEntries(stages.map((stage) => [stage, data.changes.get(stage) ?? []])),
    generatedAt: Date.parse(data.generatedAt),
    eventCount: data.stageEvents.length,
    eventPageSize: EVENTS_PER_FILE,
    holdsInChart: HOLDS_IN_CHART,
  };
  return {
    path: "timeline.html",
    html: layout({
      data,
      title: "Timeline",
      root,
      section: "timeline",
      body,
      scripts: hasEvents ? ["timeline.js"] : [],
      needs: hasEvents ? ["charts", "timeline"] : [],
      preload: hasEvents ? ["data/events/0.json"] : [],
      json: hasEvents ? jsonScript("timeline-data", timeline) : undefined,
    }),
  };
}

/** How many holds per stage the timeline's chart draws. */
export const HOLDS_IN_CHART = 200;

/** How many stage events each data/events/<n>.json holds (one page of the timeline's table). */
export const EVENTS_PER_FILE = 50;

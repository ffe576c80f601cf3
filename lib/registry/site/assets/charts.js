// Draws the page's charts: each `<figure data-chart=NAME data-values=KEY>` gets the compiled vega
// spec NAME from chart-specs.json and the data sets under KEY of the page's chart-data JSON.
import { markReady, pageJson, showError } from "./dom.js";

let specs = null;

async function chartSpecs() {
  specs ??= fetch(new URL("chart-specs.json", import.meta.url)).then((response) => {
    if (!response.ok) throw new Error(`chart-specs.json: ${response.status}`);
    return response.json();
  });
  return specs;
}

/** Draws chart `name` as SVG into `figure` with `datasets` ({name: rows}). */
export async function renderChart(figure, name, datasets) {
  const started = performance.now();
  const spec = (await chartSpecs())[name];
  if (!spec) throw new Error(`no chart named ${name}`);
  const canvas = figure.querySelector(".chart-canvas") ?? figure;
  const view = new window.vega.View(window.vega.parse(spec), {
    renderer: "svg",
    container: canvas,
    hover: true,
  });
  for (const [dataset, values] of Object.entries(datasets)) view.data(dataset, values);
  await view.runAsync();
  // The figure's caption describes the chart; the SVG inside is its picture.
  const svg = canvas.querySelector("svg");
  if (svg) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", figure.querySelector("figcaption")?.textContent ?? name);
  }
  // Visible in the browser's performance timeline (and read by the benchmark's breakdown).
  performance.measure(`chart ${name}`, { start: started });
  return view;
}

async function renderPageCharts() {
  const data = pageJson("chart-data");
  if (!data) return;
  for (const figure of document.querySelectorAll("figure[data-chart][data-values]")) {
    try {
      await renderChart(figure, figure.dataset.chart, data[figure.dataset.values] ?? {});
    } catch (error) {
      showError(figure, error);
    }
  }
  markReady("charts");
}

await renderPageCharts();

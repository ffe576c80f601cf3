// Compare: two versions side by side (?a=baseline&b=candidate): the params that differ, the
// metrics' differences with the gate's verdict for B against A in production, and each
// ocean_proximity segment's change.

import { fetchJson, h, markReady, readQuery, showError, writeQuery } from "./dom.js";
import { formatDelta, formatMoney, formatPercentDelta, formatR2, gateRules } from "./shared.js";

const form = document.getElementById("pick");
const statusLine = document.getElementById("compare-status");
const output = document.getElementById("comparison");

const details = new Map();

/** A version's compare data (data/versions/<version>.json), fetched once. */
function detail(version) {
  if (!details.has(version)) {
    const loading = fetchJson(`data/versions/${encodeURIComponent(version)}.json`);
    // A failed fetch is not kept: asking again fetches again.
    loading.catch(() => details.delete(version));
    details.set(version, loading);
  }
  return details.get(version);
}

function heading(level, text, id) {
  return h(`h${level}`, { id }, text);
}

function table(caption, headers, rows) {
  return h(
    "table",
    { class: "data" },
    h("caption", { class: "visually-hidden" }, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((header, i) =>
          h(
            "th",
            { scope: "col", class: i > 0 && header.num ? "num" : null },
            header.text ?? header,
          ),
        ),
      ),
    ),
    h("tbody", {}, rows),
  );
}

function paramText(value) {
  return value === undefined ? "–" : typeof value === "string" ? value : JSON.stringify(value);
}

function paramsDiff(a, b) {
  if (!a.params || !b.params)
    return h(
      "p",
      { class: "missing" },
      `Missing: ${!a.params ? a.version : b.version} records no params.`,
    );
  const names = [...new Set([...Object.keys(a.params), ...Object.keys(b.params)])];
  const changed = names.filter((name) => paramText(a.params[name]) !== paramText(b.params[name]));
  return h(
    "div",
    {},
    h(
      "p",
      {},
      changed.length
        ? `${changed.length} of ${names.length} params differ.`
        : "The params are the same.",
    ),
    table(
      `Params of ${a.version} and ${b.version}`,
      ["param", `A ${a.version}`, `B ${b.version}`, "changed"],
      names.map((name) =>
        h(
          "tr",
          { class: changed.includes(name) ? "changed" : null },
          h("th", { scope: "row" }, h("code", {}, name)),
          h("td", {}, h("code", {}, paramText(a.params[name]))),
          h("td", {}, h("code", {}, paramText(b.params[name]))),
          h("td", {}, changed.includes(name) ? "yes" : ""),
        ),
      ),
    ),
  );
}

const METRICS = [
  ["hold-out RMSE", (v) => v.holdout?.rmse, "money", true],
  ["hold-out MAE", (v) => v.holdout?.mae, "money", true],
  ["hold-out R²", (v) => v.holdout?.r2, "r2", false],
  ["train RMSE", (v) => v.metrics?.train.rmse, "money", true],
  ["out-of-bag RMSE", (v) => v.metrics?.oob?.rmse, "money", true],
];

function metricsDiff(a, b) {
  return table(
    `Metrics of ${a.version} and ${b.version}`,
    [
      "metric",
      { text: `A ${a.version}`, num: true },
      { text: `B ${b.version}`, num: true },
      { text: "B − A", num: true },
      { text: "change", num: true },
    ],
    METRICS.map(([label, pick, kind, lowerIsBetter]) => {
      const left = pick(a);
      const right = pick(b);
      const known = typeof left === "number" && typeof right === "number";
      const delta = known ? right - left : null;
      const better =
        delta === null || delta === 0 ? "" : delta < 0 === lowerIsBetter ? "better" : "worse";
      const format = kind === "r2" ? formatR2 : formatMoney;
      return h(
        "tr",
        {},
        h("th", { scope: "row" }, label),
        h("td", { class: "num" }, format(left)),
        h("td", { class: "num" }, format(right)),
        h("td", { class: `num ${better}` }, formatDelta(delta, kind)),
        h(
          "td",
          { class: `num ${better}` },
          known ? `${formatPercentDelta(left, right)}${better ? ` ${better}` : ""}` : "–",
        ),
      );
    }),
  );
}

function verdict(a, b) {
  const thresholds = b.evaluation?.thresholds ?? a.evaluation?.thresholds ?? null;
  const rmse = b.holdout?.rmse ?? null;
  const production =
    typeof a.holdout?.rmse === "number" ? { version: a.version, rmse: a.holdout.rmse } : null;
  const rules = gateRules(rmse, production, thresholds);
  const recorded = (version) =>
    version.evaluation
      ? `${version.version} ${version.evaluation.passed ? "passed" : "failed"} the gate when it was evaluated${version.evaluation.production ? ` against production ${version.evaluation.production.version}` : ""}${version.evaluation.passed ? "" : `: ${version.evaluation.reason}`}.`
      : `${version.version} records no evaluation.`;
  const passed = rules.length > 0 && rules.every((rule) => rule.passed);
  return h(
    "div",
    {},
    rules.length === 0
      ? h(
          "p",
          { class: "missing" },
          "Missing: the gate needs B's hold-out RMSE and the thresholds of an evaluation; neither version records them.",
        )
      : h(
          "div",
          {},
          h(
            "p",
            { class: `verdict ${passed ? "pass" : "fail"}`, id: "gate-verdict" },
            `B as the candidate against A in production: ${passed ? "passes" : "fails"} the gate.`,
          ),
          h(
            "ul",
            { class: "rules" },
            rules.map((rule) =>
              h(
                "li",
                { class: rule.passed ? "pass" : "fail" },
                `${rule.passed ? "pass" : "fail"}: ${rule.name} (${rule.detail})`,
              ),
            ),
          ),
        ),
    h("p", {}, recorded(a), " ", recorded(b)),
  );
}

function segmentsDiff(a, b) {
  if (!a.segments || !b.segments)
    return h(
      "p",
      { class: "missing" },
      `Missing: ${!a.segments ? a.version : b.version} records no per-segment errors (no evaluation).`,
    );
  const names = [...new Set([...Object.keys(a.segments), ...Object.keys(b.segments)])];
  return table(
    `RMSE by ocean_proximity of ${a.version} and ${b.version}`,
    [
      "ocean_proximity",
      { text: "rows", num: true },
      { text: `A ${a.version} RMSE`, num: true },
      { text: `B ${b.version} RMSE`, num: true },
      { text: "B − A", num: true },
      { text: "change", num: true },
    ],
    names.map((name) => {
      const left = a.segments[name];
      const right = b.segments[name];
      const delta = left && right ? right.rmse - left.rmse : null;
      const better = delta === null || delta === 0 ? "" : delta < 0 ? "better" : "worse";
      return h(
        "tr",
        { "data-segment": name },
        h("th", { scope: "row" }, name),
        h("td", { class: "num" }, String((right ?? left)?.rows ?? "–")),
        h("td", { class: "num" }, formatMoney(left?.rmse)),
        h("td", { class: "num" }, formatMoney(right?.rmse)),
        h("td", { class: `num ${better}` }, formatDelta(delta)),
        h(
          "td",
          { class: `num ${better}` },
          delta === null
            ? "–"
            : `${formatPercentDelta(left.rmse, right.rmse)}${better ? ` ${better}` : ""}`,
        ),
      );
    }),
  );
}

async function show(a, b) {
  output.replaceChildren();
  if (!a || !b) {
    statusLine.textContent = "Pick two versions.";
    return;
  }
  const [left, right] = await Promise.all([detail(a), detail(b)]);
  statusLine.textContent = `A ${left.version} against B ${right.version}.`;
  output.append(
    h(
      "p",
      {},
      "A: ",
      h("a", { href: left.page }, left.version),
      " · B: ",
      h("a", { href: right.page }, right.version),
    ),
    h(
      "section",
      { "aria-labelledby": "params-diff" },
      heading(2, "Params", "params-diff"),
      paramsDiff(left, right),
    ),
    h(
      "section",
      { "aria-labelledby": "metrics-diff" },
      heading(2, "Metrics and the gate", "metrics-diff"),
      metricsDiff(left, right),
      verdict(left, right),
    ),
    h(
      "section",
      { "aria-labelledby": "segments-diff" },
      heading(2, "Error by ocean_proximity", "segments-diff"),
      segmentsDiff(left, right),
    ),
  );
}

try {
  // The pair in the address is fetched beside the index, not after it (a bad name fails quietly
  // here and is replaced by the defaults below).
  const asked = readQuery();
  for (const version of [asked.a, asked.b]) if (version) detail(version).catch(() => {});
  const index = await fetchJson("data/versions.json");
  const versions = index.rows.map((row) => row[0]);
  document
    .getElementById("version-list")
    .replaceChildren(...[...versions].reverse().map((version) => h("option", { value: version })));
  const query = readQuery();
  // By default: the latest version against the one in production (or the one before it).
  const latest = versions.at(-1);
  const production = index.holders.production;
  const a = versions.includes(query.a)
    ? query.a
    : production && production !== latest
      ? production
      : versions.at(-2);
  const b = versions.includes(query.b) ? query.b : latest;
  form.a.value = a;
  form.b.value = b;
  writeQuery({ a, b });
  await show(a, b);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const [nextA, nextB] = [form.a.value.trim(), form.b.value.trim()];
    const unknown = [nextA, nextB].filter((version) => !versions.includes(version));
    if (unknown.length) {
      statusLine.textContent = `Unknown version: ${unknown.join(", ")}.`;
      return;
    }
    writeQuery({ a: nextA, b: nextB }, true);
    await show(nextA, nextB).catch((error) => showError(output, error));
  });
  window.addEventListener("popstate", () => {
    const next = readQuery();
    form.a.value = next.a ?? "";
    form.b.value = next.b ?? "";
    show(next.a, next.b).catch((error) => showError(output, error));
  });
} catch (error) {
  showError(output, error);
}
markReady("compare");

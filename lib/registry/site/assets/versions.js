// The versions table: rows from data/versions.json, filtered by text, stage and status, sorted by a
// column, in pages of PAGE_SIZE rows. The view lives in the address (?q=&stage=&status=&sort=&page=)
// so that a link or a reload shows the same rows.

import {
  fetchJson,
  h,
  markReady,
  readQuery,
  renderPager,
  showError,
  versionHref,
  writeQuery,
} from "./dom.js";
import { formatMoney, formatR2, formatTime } from "./shared.js";

const PAGE_SIZE = 50;
const SORTS = ["version", "registered", "rmse", "mae", "r2"];

const form = document.getElementById("filters");
const table = document.getElementById("versions");
const body = table.querySelector("tbody");
const count = document.getElementById("count");
const pager = document.getElementById("pager");

/** Rows as objects, with the text a search matches. */
function decode(index) {
  return index.rows.map((row, order) => {
    const [version, registered, commit, data, params, rmse, mae, r2, stages, status] = row;
    const paramText = index.params[params] ?? "";
    return {
      order,
      version,
      registered,
      commit,
      data,
      params: paramText,
      rmse,
      mae,
      r2,
      stages: stages ? stages.split(" ") : [],
      status: status.split(" "),
      text: `${version} ${commit} ${data} ${paramText} ${stages} ${status}`.toLowerCase(),
    };
  });
}

function readState() {
  const query = readQuery();
  const sort = query.sort ?? "-version";
  return {
    q: query.q ?? "",
    stage: query.stage ?? "",
    status: query.status ?? "",
    sort: SORTS.includes(sort.replace(/^-/, "")) ? sort : "-version",
    page: Math.max(1, Number.parseInt(query.page ?? "1", 10) || 1),
  };
}

function matches(row, state) {
  if (
    state.stage === "none"
      ? row.stages.length > 0
      : state.stage && !row.stages.includes(state.stage)
  )
    return false;
  if (state.status && !row.status.includes(state.status)) return false;
  const words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
  return words.every((word) => row.text.includes(word));
}

function compare(field) {
  if (field === "version") return (a, b) => a.order - b.order;
  // Unknown values (versions without metrics) sort last either way.
  return (a, b) => {
    const left = a[field];
    const right = b[field];
    if (left === null || right === null) return left === right ? 0 : left === null ? 1 : -1;
    return left - right || a.order - b.order;
  };
}

function sorted(rows, sort) {
  const field = sort.replace(/^-/, "");
  const order = compare(field);
  const descending = sort.startsWith("-");
  return [...rows].sort((a, b) => {
    const result = order(a, b);
    const missing = a[field] === null || b[field] === null;
    return descending && !missing ? -result : result;
  });
}

function cell(content, className) {
  return h("td", className ? { class: className } : {}, content);
}

function row(version) {
  return h(
    "tr",
    {},
    h("td", {}, h("a", { href: versionHref("../", version.version) }, version.version)),
    cell(formatTime(version.registered * 1000)),
    cell(h("code", {}, version.commit)),
    cell(version.data ? h("code", {}, version.data) : "–"),
    cell(version.params ? h("code", { class: "params" }, version.params) : "–"),
    cell(formatMoney(version.rmse), "num"),
    cell(formatMoney(version.mae), "num"),
    cell(formatR2(version.r2), "num"),
    cell(
      version.stages.map((stage) =>
        h("span", { class: `badge stage-${stageClass(stage)}` }, stage),
      ),
    ),
    cell(version.status.join(", ")),
  );
}

function stageClass(stage) {
  return stage === "production" || stage === "staging" ? stage : "other";
}

function render(rows, state) {
  const shown = sorted(
    rows.filter((version) => matches(version, state)),
    state.sort,
  );
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const page = Math.min(state.page, pages);
  body.replaceChildren(...shown.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE).map(row));
  count.textContent =
    shown.length === rows.length
      ? `${rows.length} versions`
      : `${shown.length} of ${rows.length} versions match`;
  for (const header of table.querySelectorAll("th[data-sort]")) {
    const field = header.dataset.sort;
    const direction =
      state.sort === field ? "ascending" : state.sort === `-${field}` ? "descending" : null;
    if (direction) header.setAttribute("aria-sort", direction);
    else header.removeAttribute("aria-sort");
  }
  renderPager(pager, page, pages, (next) => update({ page: next }, true));
}

let rows = [];
let state = readState();

function update(change, push = false) {
  state = { ...state, ...change };
  writeQuery(
    {
      q: state.q,
      stage: state.stage,
      status: state.status,
      sort: state.sort === "-version" ? "" : state.sort,
      page: state.page > 1 ? state.page : "",
    },
    push,
  );
  render(rows, state);
}

function showState() {
  form.q.value = state.q;
  form.stage.value = state.stage;
  form.status.value = state.status;
}

try {
  rows = decode(await fetchJson("../data/versions.json"));
  showState();
  form.addEventListener("submit", (event) => event.preventDefault());
  form.q.addEventListener("input", () => update({ q: form.q.value, page: 1 }));
  form.stage.addEventListener("change", () => update({ stage: form.stage.value, page: 1 }));
  form.status.addEventListener("change", () => update({ status: form.status.value, page: 1 }));
  for (const header of table.querySelectorAll("th[data-sort]")) {
    header.querySelector("button").addEventListener("click", () => {
      const field = header.dataset.sort;
      // First click: the most useful direction (newest, smallest error, largest R²); then flip.
      const first =
        field === "version" || field === "registered" || field === "r2" ? `-${field}` : field;
      const flipped = first.startsWith("-") ? field : `-${field}`;
      update({ sort: state.sort === first ? flipped : first, page: 1 }, true);
    });
  }
  window.addEventListener("popstate", () => {
    state = readState();
    showState();
    render(rows, state);
  });
  render(rows, state);
} catch (error) {
  showError(count, error);
}
markReady("table");

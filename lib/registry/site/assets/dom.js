// Small helpers of the page scripts. Text always goes in as text nodes (never as markup): registry
// text is untrusted, and this keeps it inert whatever it holds.

/** An element with attributes (`on…` keys as listeners) and children (strings become text). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function")
      element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** JSON fetched relative to the page. */
export async function fetchJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${response.statusText}`);
  return response.json();
}

/** The JSON of a `<script type="application/json" id=…>` element of the page. */
export function pageJson(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : null;
}

/** Marks one of the page's parts (`data-needs`) ready; the page is loaded once all are. */
export function markReady(part) {
  const body = document.body;
  const done = new Set((body.dataset.ready ?? "").split(" ").filter(Boolean));
  done.add(part);
  body.dataset.ready = [...done].join(" ");
  const needs = (body.dataset.needs ?? "").split(" ").filter(Boolean);
  if (needs.every((need) => done.has(need)) && body.dataset.loaded !== "true") {
    // Milliseconds since navigation started: what the benchmark reports as the page's load time.
    body.dataset.loadedMs = String(Math.round(performance.now()));
    body.dataset.loaded = "true";
  }
}

/** The page address's query, as an object of strings. */
export function readQuery() {
  return Object.fromEntries(new URLSearchParams(window.location.search));
}

/** Puts `state` (empty values left out) into the address, so that a link shares the view. */
export function writeQuery(state, push = false) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(state)) {
    if (value !== "" && value !== null && value !== undefined) query.set(name, String(value));
  }
  const text = query.toString();
  const url = `${window.location.pathname}${text ? `?${text}` : ""}`;
  if (url === `${window.location.pathname}${window.location.search}`) return;
  if (push) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}

/** A link to a version's page from a page at `root` ("" or "../"). */
export function versionHref(root, version) {
  return `${root}versions/${encodeURIComponent(version)}.html`;
}

/** Previous / next buttons and "page N of M" into `nav`; `go(page)` shows another page. */
export function renderPager(nav, page, pages, go) {
  nav.replaceChildren();
  if (pages <= 1) return;
  nav.append(
    h("button", { type: "button", disabled: page <= 1, onclick: () => go(page - 1) }, "Previous"),
    h("span", { class: "page-of" }, `page ${page} of ${pages}`),
    h("button", { type: "button", disabled: page >= pages, onclick: () => go(page + 1) }, "Next"),
  );
}

/** Shows an error in the page (and the console), for a failed load. */
export function showError(container, error) {
  console.error(error);
  container.append(h("p", { class: "missing", role: "alert" }, `Could not load: ${error.message}`));
}

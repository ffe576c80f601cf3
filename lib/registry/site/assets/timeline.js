// The timeline: "which version held a stage at T" (?at=2025-01-02T10:00:00&stage=production, in
// UTC), the holders as bars over time, and the stage events newest first, a page of them at a time
// (data/events/<n>.json).
import { renderChart } from "./charts.js";
import {
  fetchJson,
  h,
  markReady,
  pageJson,
  readQuery,
  renderPager,
  showError,
  versionHref,
  writeQuery,
} from "./dom.js";
import { formatTime, holderAt } from "./shared.js";

const data = pageJson("timeline-data");
const form = document.getElementById("ask");
const answer = document.getElementById("answer");

/** `2025-01-02T10:00:00` (a datetime-local value, taken as UTC) as milliseconds; NaN if invalid. */
function parseUtc(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return Number.NaN;
  return Date.parse(`${value}Z`);
}

function toInput(ms) {
  return new Date(ms).toISOString().slice(0, 19);
}

function ask(at, stage) {
  const time = parseUtc(at);
  answer.replaceChildren();
  if (Number.isNaN(time)) {
    answer.textContent = "Give a time as YYYY-MM-DDTHH:MM:SS (UTC).";
    return;
  }
  const changes = data.changes[stage] ?? [];
  const holder = holderAt(changes, time);
  const when = formatTime(time);
  if (holder) {
    answer.append(
      `At ${when}, ${stage} was held by `,
      h(
        "a",
        { href: versionHref("", holder.version), "data-version": holder.version },
        holder.version,
      ),
      ` (assigned ${formatTime(holder.since)}).`,
    );
  } else if (changes.length === 0 || time < changes[0][0]) {
    answer.textContent = `At ${when}, no version held ${stage} yet: it was first assigned ${changes.length ? formatTime(changes[0][0]) : "never"}.`;
  } else {
    answer.textContent = `At ${when}, no version held ${stage}.`;
  }
}

/** The stages' holds as bars: from each change to the next (the last one to the build time). */
function holds() {
  const rows = [];
  for (const stage of data.stages) {
    const changes = data.changes[stage] ?? [];
    const stageRows = [];
    changes.forEach(([at, version, since], index) => {
      if (version === null) return;
      const to = index + 1 < changes.length ? changes[index + 1][0] : data.generatedAt;
      stageRows.push({
        stage,
        version,
        from: at,
        to: Math.max(to, at + 1000),
        since: formatTime(since),
      });
    });
    rows.push(...stageRows.slice(-data.holdsInChart));
  }
  return rows;
}

const eventsBody = document.querySelector("#events tbody");
const eventsCount = document.getElementById("events-count");
const eventsPager = document.getElementById("events-pager");
const eventPages = Math.max(1, Math.ceil(data.eventCount / data.eventPageSize));

async function showEvents(page) {
  const rows = await fetchJson(`data/events/${page - 1}.json`);
  eventsBody.replaceChildren(
    ...rows.map(([at, kind, stage, version, tag]) =>
      h(
        "tr",
        {},
        h("td", {}, formatTime(at * 1000)),
        h("td", {}, kind),
        h("td", {}, stage ?? "–"),
        h("td", {}, version ? h("a", { href: versionHref("", version) }, version) : "–"),
        h("td", {}, h("code", {}, tag)),
      ),
    ),
  );
  const first = (page - 1) * data.eventPageSize + 1;
  eventsCount.textContent = `${data.eventCount} stage events; ${first}–${first + rows.length - 1} shown, newest first.`;
  renderPager(eventsPager, page, eventPages, (next) => {
    writeQuery({ ...readQuery(), page: next > 1 ? next : "" }, true);
    showEvents(next).catch((error) => showError(eventsCount, error));
  });
}

try {
  const query = readQuery();
  const stage = data.stages.includes(query.stage) ? query.stage : data.stages[0];
  form.stage.value = stage;
  form.at.value = query.at ?? toInput(data.generatedAt);
  ask(form.at.value, stage);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    writeQuery({ ...readQuery(), at: form.at.value, stage: form.stage.value }, true);
    ask(form.at.value, form.stage.value);
  });
  window.addEventListener("popstate", () => {
    const next = readQuery();
    if (next.at) form.at.value = next.at;
    if (next.stage) form.stage.value = next.stage;
    ask(form.at.value, form.stage.value);
  });
  // The events' page and the chart load side by side.
  await Promise.all([
    showEvents(Math.min(eventPages, Math.max(1, Number.parseInt(query.page ?? "1", 10) || 1))),
    renderChart(document.querySelector('figure[data-chart="stages"]'), "stages", {
      holds: holds(),
    }),
  ]);
} catch (error) {
  showError(answer, error);
}
markReady("timeline");
markReady("charts");

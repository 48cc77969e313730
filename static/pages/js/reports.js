// The reports (/reports/, docs/reports.md): the queue's figures per interval of a range, as two
// charts (each with its numbers as a table, shown on request) and the agents' work. The choices
// live in the address bar, so a report can be bookmarked and shared; "Today" stays today. A bar,
// or an interval in the table, opens the history of the calls that started waiting in it.
// Charts by uPlot, served from our own static files (scripts/vendor-charts.sh).

import uPlot from "../../vendor/uplot-1.6.32/uPlot.esm.js";
import { api } from "./api.js";
import { h, setText, show } from "./dom.js";
import { seconds } from "./localize.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const $ = (id) => document.getElementById(id);
const form = $("report-choice");
const errorBox = $("report-error");
const CHOICES = ["range", "since", "until", "interval", "queue", "agent", "tz"];
const BROWSER_TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || data.server_tz;
// Days back from today, for each range but "dates"; and the interval each starts with.
const RANGES = { today: [0, 0], yesterday: [-1, -1], "7d": [-6, 0], "30d": [-29, 0] };
const INTERVAL_FOR = { today: "1h", yesterday: "1h", "7d": "1d", "30d": "1d", dates: "1d" };
// Told apart with the common kinds of colour blindness too (Okabe and Ito), and by place: answered left, abandoned right.
const COLOURS = { offered: "#a9bcd8", answered: "#007a5a", abandoned: "#c24e00", level: "#2563c9", wait: "#875300" };

let charts = [];

// --- the choices: form ↔ address bar ↔ API ----------------------------------------------------------------

function dayIn(tz, plusDays = 0) {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
  const [y, m, d] = today.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + plusDays)).toISOString().slice(0, 10);
}

function fillZones() {
  const zones = [...new Set([BROWSER_TZ, data.server_tz, "UTC"])];
  form.elements.tz.replaceChildren(...zones.map((zone) => h("option", { value: zone }, zone)));
}

// A range other than "dates" is counted from today, wherever the report is opened.
function applyRange() {
  const days = RANGES[form.elements.range.value];
  if (!days) return;
  form.elements.since.value = dayIn(form.elements.tz.value, days[0]);
  form.elements.until.value = dayIn(form.elements.tz.value, days[1]);
}

function choicesFromForm() {
  const choices = new URLSearchParams();
  for (const name of CHOICES) {
    const value = form.elements[name].value.trim();
    if (value) choices.set(name, value);
  }
  return choices;
}

function fillForm(choices) {
  const range = choices.get("range") || (choices.get("since") ? "dates" : "today");
  form.elements.range.value = range in RANGES || range === "dates" ? range : "today";
  const zone = choices.get("tz");
  if (zone && ![...form.elements.tz.options].some((option) => option.value === zone)) {
    form.elements.tz.append(h("option", { value: zone }, zone));
  }
  form.elements.tz.value = zone || BROWSER_TZ;
  form.elements.since.value = choices.get("since") || "";
  form.elements.until.value = choices.get("until") || "";
  form.elements.interval.value = choices.get("interval") || INTERVAL_FOR[form.elements.range.value];
  form.elements.queue.value = choices.get("queue") || "";
  form.elements.agent.value = choices.get("agent") || "";
  applyRange();
}

function apiQuery(choices) {
  const query = new URLSearchParams(choices);
  query.delete("range");
  return query;
}

// --- words and numbers ----------------------------------------------------------------------------------

function formatter(tz, options) {
  return new Intl.DateTimeFormat([], { timeZone: tz, ...options });
}

// What each interval is called: its local time (and day, over several days), the clock's offset
// where an hour happens twice (the day the clocks go back).
function intervalLabels(report) {
  const daily = report.interval === "1d";
  const days = new Set(report.rows.map((row) => row.start.slice(0, 10)));
  const options = daily ? { weekday: "short", month: "short", day: "numeric" }
    : { hour: "2-digit", minute: "2-digit", ...(days.size > 1 ? { month: "short", day: "numeric" } : {}) };
  const plain = report.rows.map((row) => formatter(report.tz, options).format(new Date(row.start)));
  const twice = new Set(plain.filter((label, i) => plain.indexOf(label) !== i));
  const zoned = formatter(report.tz, { ...options, timeZoneName: "short" });
  return plain.map((label, i) => (twice.has(label) ? zoned.format(new Date(report.rows[i].start)) : label));
}

function tickLabels(report) {
  const tz = report.tz;
  if (report.interval === "1d") return report.rows.map((row) => formatter(tz, { month: "short", day: "numeric" }).format(new Date(row.start)));
  return report.rows.map((row) => formatter(tz, { hour: "2-digit", minute: "2-digit" }).format(new Date(row.start)));
}

const percent = (value) => (value === null || value === undefined ? "—" : `${value.toFixed(1)}%`);
const count = (value) => (value === null || value === undefined ? "—" : String(value));

function historyLink(report, i) {
  const params = new URLSearchParams({
    waited_since: report.rows[i].start,
    waited_until: i + 1 < report.rows.length ? report.rows[i + 1].start : report.until,
  });
  if (report.queue) params.set("queue", report.queue);
  if (report.agent) params.set("agent", report.agent);
  return `${data.urls.history}?${params}`;
}

// --- the page -------------------------------------------------------------------------------------------

function renderTotals(report) {
  const show = { offered: count, answered: count, abandoned: count, service_level_percent: percent,
    average_wait_seconds: seconds, average_handle_seconds: seconds };
  for (const [name, format] of Object.entries(show)) {
    setText(document.querySelector(`[data-total="${name}"] dd`), format(report.totals[name]));
  }
  const span = formatter(report.tz, { dateStyle: "medium", timeStyle: "short" });
  setText($("report-span"), `${span.format(new Date(report.since))} to ${span.format(new Date(report.until))}, `
    + `${report.tz}, ${report.rows.length} interval${report.rows.length === 1 ? "" : "s"}`);
}

function renderTables(report, labels) {
  $("volume-rows").replaceChildren(...report.rows.map((row, i) => h("tr", {},
    h("th", { scope: "row" }, h("a", { href: historyLink(report, i), title: "Its calls in the history" }, labels[i])),
    h("td", { class: "num" }, count(row.offered)),
    h("td", { class: "num" }, count(row.answered)),
    h("td", { class: "num" }, count(row.abandoned)))));
  $("level-rows").replaceChildren(...report.rows.map((row, i) => h("tr", {},
    h("th", { scope: "row" }, labels[i]),
    h("td", { class: "num" }, percent(row.service_level_percent)),
    h("td", { class: "num" }, seconds(row.average_wait_seconds)),
    h("td", { class: "num" }, seconds(row.average_handle_seconds)))));
}

function renderAgents(report) {
  $("agent-rows").replaceChildren(...report.agents.map((agent) => h("tr", {},
    h("th", { scope: "row" }, agent.name),
    h("td", { class: "num" }, count(agent.handled)),
    h("td", { class: "num" }, seconds(agent.talk_seconds)),
    h("td", { class: "num" }, seconds(agent.hold_seconds)),
    h("td", { class: "num" }, seconds(agent.wrap_up_seconds)),
    h("td", { class: "num" }, percent(agent.occupancy_percent)))));
  show($("agents-empty"), report.agents.length === 0);
}

function summaries(report, labels) {
  const busiest = report.rows.reduce((best, row, i) => (row.offered > report.rows[best].offered ? i : best), 0);
  const t = report.totals;
  setText($("volume-summary"), `Bar chart of ${report.rows.length} intervals: ${t.offered} offered, ${t.answered} `
    + `answered, ${t.abandoned} abandoned${t.offered ? `; the busiest, ${labels[busiest]}, had `
    + `${report.rows[busiest].offered} offered` : ""}. "Show as a table" gives every number.`);
  setText($("level-summary"), `Line chart of the service level (${percent(t.service_level_percent)} over the range) `
    + `and the average wait (${seconds(t.average_wait_seconds)}) per interval. "Show as a table" gives every number.`);
}

// --- charts ---------------------------------------------------------------------------------------------

function chartWidth(el) {
  return Math.max(240, el.clientWidth);
}

function xAxis(ticks) {
  return {
    values: (u, splits) => splits.map((i) => (Number.isInteger(i) && ticks[i] !== undefined ? ticks[i] : "")),
    space: 56, grid: { show: false }, stroke: "#5a6473",
  };
}

function volumeChart(report, labels, ticks) {
  const el = $("volume-chart");
  const n = report.rows.length;
  const bars = (size, align) => uPlot.paths.bars({ size: [size, Infinity, 1], align });
  const chart = new uPlot({
    width: chartWidth(el), height: 240,
    scales: { x: { time: false, range: [-0.5, n - 0.5] }, y: { range: (u, min, max) => [0, Math.max(4, max)] } },
    axes: [xAxis(ticks), { stroke: "#5a6473", values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? v : "")) }],
    series: [
      { label: "Interval", value: (u, i) => (i === null ? "—" : labels[i]) },
      ...[["Offered", COLOURS.offered, 0.86, 0], ["Answered", COLOURS.answered, 0.4, -1],
        ["Abandoned", COLOURS.abandoned, 0.4, 1]].map(([label, colour, size, align]) => ({
        label, fill: colour, stroke: colour, width: 0, paths: bars(size, align), points: { show: false },
        value: (u, v) => count(v),
      })),
    ],
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    legend: { live: true },
  }, [report.rows.map((_, i) => i), ...["offered", "answered", "abandoned"].map((k) => report.rows.map((r) => r[k]))], el);
  // A bar opens the history of its calls (the table's links do the same from the keyboard).
  chart.over.addEventListener("click", () => {
    if (chart.cursor.idx !== null && chart.cursor.idx !== undefined) window.location.assign(historyLink(report, chart.cursor.idx));
  });
  return chart;
}

function levelChart(report, labels, ticks) {
  const el = $("level-chart");
  const n = report.rows.length;
  return new uPlot({
    width: chartWidth(el), height: 240,
    scales: { x: { time: false, range: [-0.5, n - 0.5] }, "%": { range: [0, 100] },
      s: { range: (u, min, max) => [0, Math.max(30, max || 0)] } },
    axes: [
      xAxis(ticks),
      { scale: "%", stroke: COLOURS.level, values: (u, splits) => splits.map((v) => `${v}%`) },
      { scale: "s", side: 1, stroke: COLOURS.wait, grid: { show: false }, values: (u, splits) => splits.map((v) => seconds(v)) },
    ],
    series: [
      { label: "Interval", value: (u, i) => (i === null ? "—" : labels[i]) },
      { label: "Service level", scale: "%", stroke: COLOURS.level, width: 2, value: (u, v) => percent(v),
        points: { show: true, size: 5 } },
      { label: "Average wait", scale: "s", stroke: COLOURS.wait, width: 2, dash: [6, 4], value: (u, v) => seconds(v),
        points: { show: true, size: 5 } },
    ],
    cursor: { drag: { x: false, y: false } },
  }, [report.rows.map((_, i) => i), report.rows.map((r) => r.service_level_percent), report.rows.map((r) => r.average_wait_seconds)], el);
}

function renderCharts(report, labels) {
  for (const chart of charts) chart.destroy();
  const ticks = tickLabels(report);
  charts = [volumeChart(report, labels, ticks), levelChart(report, labels, ticks)];
}

new ResizeObserver(() => {
  for (const chart of charts) {
    const width = chartWidth(chart.root.parentElement);
    if (Math.abs(width - chart.width) > 1) chart.setSize({ width, height: chart.height });
  }
}).observe($("volume-chart").parentElement);

for (const button of document.querySelectorAll("button[aria-controls$='-table']")) {
  button.addEventListener("click", () => {
    const table = $(button.getAttribute("aria-controls"));
    const open = table.hidden;
    table.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "Hide the table" : "Show as a table";
  });
}

// --- loading --------------------------------------------------------------------------------------------

async function load(choices) {
  show(errorBox, false);
  form.setAttribute("aria-busy", "true");
  const query = apiQuery(choices);
  $("report-csv").href = `${data.urls.report}?${query}&format=csv`;
  try {
    const report = await api.report(query);
    const labels = intervalLabels(report);
    renderTotals(report);
    renderTables(report, labels);
    renderAgents(report);
    summaries(report, labels);
    renderCharts(report, labels);
    document.body.dataset.report = "shown";
  } catch (error) {
    errorBox.textContent = `The report could not be made. ${error.message}`;
    show(errorBox, true);
  } finally {
    form.removeAttribute("aria-busy");
  }
}

function submit() {
  const choices = choicesFromForm();
  if (choices.toString() !== window.location.search.slice(1)) window.history.pushState(null, "", `?${choices}`);
  load(choices);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
});
form.elements.range.addEventListener("change", () => {
  applyRange();
  form.elements.interval.value = INTERVAL_FOR[form.elements.range.value] || form.elements.interval.value;
  submit();
});
for (const name of ["since", "until"]) {
  form.elements[name].addEventListener("change", () => {
    form.elements.range.value = "dates";
    if (form.elements.since.value && form.elements.until.value) submit();
  });
}
for (const name of ["interval", "queue", "agent", "tz"]) {
  form.elements[name].addEventListener("change", () => {
    applyRange();
    submit();
  });
}

window.addEventListener("popstate", () => {
  const choices = new URLSearchParams(window.location.search);
  fillForm(choices);
  load(choicesFromForm());
});

fillZones();
fillForm(new URLSearchParams(window.location.search));
load(choicesFromForm());

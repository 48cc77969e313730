// The wall's queue (docs/routing.md): callers waiting for an agent, longest first, with who each
// is offered to; and the day's figures from the server's stats (the snapshot's `stats`, then
// `stats.updated`). Waiting times tick on the page from each call's waiting_since.

import { h, reconcile, setAttr, setText, show } from "./dom.js";
import { duration, durationWords, prettyAddress } from "./format.js";

export const isWaiting = (call) => call.status === "waiting";

export function waitingCalls(calls) {
  const since = (c) => Date.parse(c.waiting_since || c.started_at);
  return calls.filter(isWaiting).sort((a, b) => since(a) - since(b) || a.id - b.id);
}

const $ = (id) => document.getElementById(id);

function figure(name) {
  return document.querySelector(`[data-stat="${name}"] dd`);
}

function setSeconds(el, seconds) {
  const known = typeof seconds === "number";
  setText(el, known ? duration(seconds * 1000) : "—");
  setAttr(el, "title", known ? durationWords(seconds * 1000) : "not known yet");
}

/** `calls` and `stats`: the wall's, or one queue's when the wall is filtered (queueStats). */
export function renderQueue(store, { calls = store.liveCalls(), stats = store.stats } = {}) {
  const waiting = waitingCalls(calls);

  // Figures the page can count itself come from the calls it holds; the day's come from stats.
  setText(figure("waiting"), String(stats && !waiting.length ? stats.waiting ?? 0 : waiting.length));
  const longest = figure("longest_wait");
  let since = null;
  if (waiting.length) since = waiting[0].waiting_since || waiting[0].started_at;
  else if (stats && stats.waiting && typeof stats.longest_wait_seconds === "number") {
    since = new Date(stats.received - stats.longest_wait_seconds * 1000).toISOString();
  }
  setAttr(longest, "data-since", since);
  if (!since) setText(longest, "—");
  for (const name of ["answered_today", "abandoned_today"]) {
    setText(figure(name), stats && typeof stats[name] === "number" ? String(stats[name]) : "—");
  }
  const level = stats ? stats.service_level_percent : null;
  setText(figure("service_level_percent"), typeof level === "number" ? `${Math.round(level)}%` : "—");
  setSeconds(figure("average_wait_seconds"), stats ? stats.average_wait_seconds : null);
  setSeconds(figure("average_handle_seconds"), stats ? stats.average_handle_seconds : null);
  setText($("queue-note"), stats ? "" : "figures load with the first update");

  const list = $("waiting-calls");
  reconcile(list, waiting.map((c) => c.id), "callId", () => {
    const row = h("li", { class: "waiting-row" });
    row.parts = {
      caller: h("span", { class: "addr waiting-caller" }),
      wait: h("span", { class: "timer waiting-time", role: "timer" }),
      offer: h("span", { class: "waiting-offer" }),
    };
    row.append(h("div", { class: "waiting-who" }, row.parts.caller, row.parts.offer), row.parts.wait);
    return row;
  });
  for (const call of waiting) {
    const row = list.querySelector(`[data-call-id="${call.id}"]`);
    const customers = call.members.filter((m) => m.role === "customer" && m.state !== "left");
    const caller = customers.map((m) => prettyAddress(m.address)).join(", ") || `Call ${call.id}`;
    setText(row.parts.caller, caller);
    setAttr(row.parts.wait, "data-since", call.waiting_since || call.started_at);
    setAttr(row.parts.wait, "aria-label", `Time ${caller} has waited`);
    const offered = call.offered_to != null ? store.agents.get(call.offered_to) : null;
    const where = call.queue ? `${call.queue} · ` : "";
    setText(row.parts.offer, `${where}${offered ? `Offered to ${offered.name}` : "Waiting for an available agent"}`);
    row.classList.toggle("is-offered", Boolean(offered));
  }
  show($("no-waiting"), waiting.length === 0);
}

/** The day's handled and missed calls of one agent, in words ("3 handled · 1 missed"), or "". */
export function agentDay(store, agentId) {
  const row = store.stats && Array.isArray(store.stats.agents) ? store.stats.agents.find((a) => a.id === agentId) : null;
  if (!row) return "";
  return `${row.handled_today ?? 0} handled · ${row.missed_today ?? 0} missed today`;
}

/** The figures of one queue (the stats' `queues` rows, docs/routing.md), or null when not known. */
export function queueStats(store, name) {
  const rows = store.stats && Array.isArray(store.stats.queues) ? store.stats.queues : [];
  const row = rows.find((q) => q.name === name);
  return row ? { ...row, received: store.stats.received } : null;
}

/** Every queue the page knows of: the figures' rows, the calls' queues, the agents' skills. */
export function knownQueues(store) {
  const names = new Set();
  for (const q of (store.stats && store.stats.queues) || []) names.add(q.name);
  for (const call of store.calls.values()) if (call.queue) names.add(call.queue);
  for (const agent of store.agents.values()) for (const skill of agent.skills || []) names.add(skill.queue);
  return [...names].sort((a, b) => a.localeCompare(b));
}

/** The queues' figures side by side: one row per queue. */
export function renderQueueTable(store, body) {
  const rows = (store.stats && store.stats.queues) || [];
  show(body.closest(".table-scroll"), rows.length > 0);
  const level = (v) => (typeof v === "number" ? `${Math.round(v)}%` : "—");
  const wait = (v) => (typeof v === "number" ? duration(v * 1000) : "—");
  const key = JSON.stringify(rows.map((q) => [q.name, q.waiting, q.longest_wait_seconds, q.answered_today,
    q.abandoned_today, q.service_level_percent, q.agents_available]));
  if (body.dataset.key === key) return;
  body.dataset.key = key;
  body.replaceChildren(...rows.map((q) => h("tr", { dataset: { queue: q.name } },
    h("th", { scope: "row" }, q.name),
    h("td", { class: "num" }, String(q.waiting ?? 0)),
    h("td", { class: "num" }, wait(q.longest_wait_seconds)),
    h("td", { class: "num" }, String(q.answered_today ?? "—")),
    h("td", { class: "num" }, String(q.abandoned_today ?? "—")),
    h("td", { class: "num" }, level(q.service_level_percent)),
    h("td", { class: "num" }, String(q.agents_available ?? "—")))));
}

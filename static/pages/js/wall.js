// The supervisor wall (/supervisor/): live counters, the queue and the day's figures, every live
// call, the agent board.

import { STATUS_WORDS, callTitle, renderCalls, ringingAgents, shownStatus, transferOf } from "./callcard.js";
import { h, reconcile, setAttr, setText, show } from "./dom.js";
import { byAvailability, isLive, prettyAddress, setBadge } from "./format.js";
import { startPage, tickTimers } from "./page.js";
import { agentDay, isWaiting, knownQueues, queueStats, renderQueue, renderQueueTable } from "./queue.js";
import { wallView } from "./wallview.js";

const { store, ctx, connection } = startPage();
ctx.confirmHangUp = true; // a supervisor hangs up someone else's call: the first click asks
const $ = (id) => document.getElementById(id);

wallView({
  calls: $("calls"), counters: $("counters"), toggle: $("toggle-counters"),
  viewButtons: [...document.querySelectorAll(".view-switch [data-view]")],
});

const COUNTERS = {
  waiting: (calls) => calls.filter(isWaiting).length,
  active: (calls) => calls.filter((c) => c.status === "active").length,
  ringing: (calls) => calls.filter((c) => c.status === "ringing").length,
  on_hold: (calls) => calls.reduce((n, c) => n + c.members.filter((m) => m.state === "on_hold").length, 0),
  transfers: (calls) => calls.filter((c) => transferOf(c)).length,
  available: (_, agents) => agents.filter((a) => a.status === "available").length,
  busy: (_, agents) => agents.filter((a) => a.status === "busy").length,
  wrap_up: (_, agents) => agents.filter((a) => a.status === "wrap_up").length,
  away: (_, agents) => agents.filter((a) => a.status === "away").length,
};

function renderCounters(calls, agents) {
  for (const [name, count] of Object.entries(COUNTERS)) {
    const tile = document.querySelector(`[data-counter="${name}"]`);
    const value = count(calls, agents);
    setText(tile.querySelector(".counter-value"), String(value));
    tile.classList.toggle("is-zero", value === 0);
  }
}

const callsEl = $("calls");

// Waiting callers are listed in the queue; the cards are the calls someone is on.
function renderWallCalls(calls) {
  const answered = calls.filter((c) => !isWaiting(c));
  renderCalls(callsEl, answered, ctx);
  show($("no-calls"), answered.length === 0);
  setText($("calls-count"), `${answered.length} live`);
  tickTimers(callsEl);
}

const board = $("agent-board");

function renderBoard(calls, agents) {
  const callOf = new Map();
  for (const call of calls) {
    for (const m of call.members) if (m.agent != null && isLive(m)) callOf.set(m.agent, call);
    if (call.offered_to != null && !callOf.has(call.offered_to)) callOf.set(call.offered_to, call);
  }
  // An agent a transfer or an add is dialling shows as ringing until they answer.
  const ringing = ringingAgents(calls);
  const sorted = agents.map((a) => ({ ...a, status: shownStatus(a, ringing) })).sort(byAvailability);
  reconcile(board, sorted.map((a) => a.id), "agentId", () => {
    const row = h("tr", {});
    row.parts = {
      name: h("span", { class: "agent-name" }),
      doing: h("span", { class: "agent-address" }),
      day: h("span", { class: "agent-day" }),
      status: h("span", { class: "badge" }),
      since: h("span", { class: "timer" }),
    };
    row.append(
      h("th", { scope: "row" }, h("div", { class: "agent-who" }, row.parts.name, row.parts.doing, row.parts.day)),
      h("td", {}, row.parts.status),
      h("td", { class: "num" }, row.parts.since),
    );
    return row;
  });
  for (const agent of sorted) {
    const row = board.querySelector(`[data-agent-id="${agent.id}"]`);
    row.className = `status-row-${agent.status}`;
    setText(row.parts.name, agent.name);
    setBadge(row.parts.status, "status", agent.status, STATUS_WORDS);
    setAttr(row.parts.since, "data-since", agent.status_since || agent.status_changed_at);
    setAttr(row.parts.since, "aria-label", `Time in status for ${agent.name}`);
    // What they are doing says more on a wall than their number does.
    const call = callOf.get(agent.id);
    // Only when they are on the line: an away or offline agent is never shown "on call".
    const onCall = call && ["busy", "offered", "ringing"].includes(agent.status);
    const lead = { offered: "Offered", ringing: "Ringing for a call with" }[agent.status] || "On call with";
    const doing = onCall ? `${lead} ${callTitle(call, store.agents)}`
      : prettyAddress(agent.address);
    setText(row.parts.doing, doing);
    row.parts.doing.classList.toggle("agent-on-call", Boolean(onCall));
    row.parts.doing.classList.toggle("addr", !onCall);
    const reason = agent.status_reason ? ` · ${agent.status_reason}` : "";
    const skills = (agent.skills || []).map((skill) => `${skill.queue} ${skill.level}`).join(", ");
    setAttr(row, "title", skills ? `Skills: ${skills}` : "Takes every queue");
    const day = agentDay(store, agent.id);
    setText(row.parts.day, `${day}${day ? reason : reason.slice(3)}`);
    show(row.parts.day, Boolean(day || reason));
  }
}

// --- one queue at a time (docs/routing.md): its calls, the agents who take them, its figures ------------

const QUEUE_KEY = "wall.queue";
const queueFilter = $("queue-filter");
queueFilter.addEventListener("change", () => {
  localStorage.setItem(QUEUE_KEY, queueFilter.value);
  render();
});

function renderQueueFilter() {
  const names = knownQueues(store);
  const wanted = queueFilter.value || localStorage.getItem(QUEUE_KEY) || "";
  if (queueFilter.dataset.names !== names.join("|")) {
    queueFilter.dataset.names = names.join("|");
    queueFilter.replaceChildren(h("option", { value: "" }, "All queues"),
      ...names.map((name) => h("option", { value: name }, name)));
  }
  queueFilter.value = names.includes(wanted) ? wanted : "";
  show(queueFilter.parentElement, names.length > 0);
  return queueFilter.value;
}

// An agent takes a queue's calls with its skill, or with no skill at all (every queue).
const takes = (agent, queue) => !(agent.skills || []).length || agent.skills.some((s) => s.queue === queue);

function render() {
  const queue = renderQueueFilter();
  const calls = store.liveCalls().filter((c) => !queue || c.queue === queue);
  const agents = [...store.agents.values()].filter((a) => !queue || takes(a, queue));
  renderCounters(calls, agents);
  renderQueue(store, { calls, stats: queue ? queueStats(store, queue) : store.stats });
  renderQueueTable(store, $("queue-rows"));
  renderWallCalls(calls);
  renderBoard(calls, agents);
  tickTimers($("queue"));
  tickTimers(board);
}

store.subscribe(render);
render();
connection.connect();

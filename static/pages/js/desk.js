// The agent desk (/agent/): own status, the current call, the agent directory, recent calls.

import { api } from "./api.js";
import { callTitle, renderCalls } from "./callcard.js";
import { h, reconcile, setAttr, setText, show } from "./dom.js";
import {
  AGENT_STATUSES,
  MEMBER_STATES,
  byAvailability,
  dayAndTime,
  duration,
  isLive,
  memberName,
  prettyAddress,
  setBadge,
} from "./format.js";
import { startPage, tickTimers } from "./page.js";
import { startWrapUp } from "./wrapup.js";

const { data, store, ctx, connection } = startPage();
ctx.transferOpen = true;
const $ = (id) => document.getElementById(id);
startWrapUp({ store, ctx, root: $("wrap-up"), required: data.wrap_up.disposition_required });

// --- own status -----------------------------------------------------------------------------------

const statusBadge = $("my-status");
const statusSince = $("my-status-since");
const statusNote = $("my-status-note");
const statusError = $("status-error");
const statusRadios = [...document.querySelectorAll('input[name="status"]')];
let statusInFlight = false;

for (const radio of statusRadios) {
  radio.addEventListener("change", async () => {
    if (!radio.checked || statusInFlight) return;
    statusInFlight = true;
    show(statusError, false);
    renderStatus();
    try {
      store.applyAgent(await api.setStatus(radio.value));
      ctx.announce(`Your status is now ${AGENT_STATUSES[radio.value]}.`);
    } catch (error) {
      statusError.textContent = `Could not change your status. ${error.message}`;
      show(statusError, true);
    } finally {
      statusInFlight = false;
      renderStatus();
    }
  });
}

function renderStatus() {
  const me = store.agents.get(ctx.me);
  if (!me) return;
  setBadge(statusBadge, "status", me.status, AGENT_STATUSES);
  const wrapping = me.status === "wrap_up" && me.wrap_up_until;
  setAttr(statusSince, "data-since", wrapping ? null : me.status_changed_at);
  setAttr(statusSince, "data-countdown", wrapping ? me.wrap_up_until : null);
  setText($("my-status-since-label"), wrapping ? "left of wrap-up" : "in this status");
  let note = "";
  if (me.status === "busy") note = "You are on a call. Your status follows the call.";
  else if (wrapping) note = "Wrapping up the last call; you become available when the countdown ends.";
  setText(statusNote, note);
  show(statusNote, Boolean(note));
  // Not disabled while a change is in flight (that would drop the keyboard focus); changes wait instead.
  for (const radio of statusRadios) radio.checked = radio.value === me.status;
  $("status-switch").setAttribute("aria-busy", statusInFlight ? "true" : "false");
  tickTimers($("status-card"));
}

// --- current call -----------------------------------------------------------------------------------

const myCallsEl = $("my-calls");
const noCall = $("no-call");

function myCalls() {
  return store.liveCalls().filter((c) => c.members.some((m) => m.agent === ctx.me && isLive(m)));
}

function renderCurrent() {
  const calls = myCalls();
  renderCalls(myCallsEl, calls, ctx);
  show(noCall, calls.length === 0);
  setText($("current-count"), calls.length > 1 ? `${calls.length} calls` : "");
  const me = store.agents.get(ctx.me);
  setText($("no-call-hint"), me && me.status === "available"
    ? "You are available: the next call will show up here."
    : "Set your status to Available to take calls.");
  tickTimers(myCallsEl);
}

// --- directory -------------------------------------------------------------------------------------

const directory = $("directory");

function renderDirectory() {
  const agents = [...store.agents.values()].sort(byAvailability);
  reconcile(directory, agents.map((a) => a.id), "agentId", () => {
    const row = h("li", { class: "agent-row" });
    row.parts = {
      name: h("span", { class: "agent-name" }),
      address: h("span", { class: "agent-address" }),
      status: h("span", { class: "badge" }),
      since: h("span", { class: "timer agent-since" }),
    };
    row.append(
      h("div", { class: "agent-who" }, row.parts.name, row.parts.address),
      h("div", { class: "agent-state" }, row.parts.status, row.parts.since),
    );
    return row;
  });
  for (const agent of agents) {
    const row = directory.querySelector(`[data-agent-id="${agent.id}"]`);
    setText(row.parts.name, agent.id === ctx.me ? `${agent.name} (you)` : agent.name);
    setText(row.parts.address, prettyAddress(agent.address));
    setBadge(row.parts.status, "status", agent.status, AGENT_STATUSES);
    setAttr(row.parts.since, "data-since", agent.status_changed_at);
    setAttr(row.parts.since, "aria-label", `Time in status for ${agent.name}`);
  }
  setText($("available-count"), `${agents.filter((a) => a.status === "available").length} available`);
  tickTimers(directory);
}

// --- recent calls ----------------------------------------------------------------------------------

const recent = $("recent-calls");
let recentTimer = null;

function refreshRecent() {
  clearTimeout(recentTimer);
  recentTimer = setTimeout(loadRecent, 250);
}

async function loadRecent() {
  try {
    const data = await api.endedCalls();
    const calls = (Array.isArray(data) ? data : data.results || []).slice(0, 10);
    renderRecent(calls);
  } catch (error) {
    recent.replaceChildren(h("li", { class: "empty" }, `Recent calls could not be loaded. ${error.message}`));
  }
}

function renderRecent(calls) {
  if (!calls.length) {
    recent.replaceChildren(h("li", { class: "empty" }, "No finished calls yet."));
    return;
  }
  recent.replaceChildren(
    ...calls.map((call) => {
      const colleagues = call.members
        .filter((m) => m.role === "agent" && m.agent !== ctx.me)
        .map((m) => memberName(m, store.agents));
      const length = call.ended_at ? duration(Date.parse(call.ended_at) - Date.parse(call.started_at)) : "";
      const when = [dayAndTime(call.started_at), call.disposition].filter(Boolean).join(" · ");
      return h("li", { class: "recent-row" },
        h("div", { class: "recent-who" },
          h("span", { class: "recent-title" }, callTitle(call, store.agents)),
          h("span", { class: "recent-sub" }, colleagues.length ? `${when} · with ${[...new Set(colleagues)].join(", ")}` : when)),
        h("span", { class: "recent-length timer", title: "Call length" }, length));
    }),
  );
}

// --- live changes ----------------------------------------------------------------------------------

function describeChange(call, previous) {
  const agents = store.agents;
  const mineNow = call.members.some((m) => m.agent === ctx.me);
  if (!mineNow) return null;
  if (call.status === "ended") return `The call with ${callTitle(call, agents)} has ended.`;
  if (!previous) return `New call: ${callTitle(call, agents)}.`;
  const before = new Map(previous.members.map((m) => [m.id, m]));
  const said = [];
  for (const member of call.members) {
    const old = before.get(member.id);
    const who = member.agent === ctx.me ? "You" : memberName(member, agents);
    if (!old) said.push(`${who} added (${MEMBER_STATES[member.state].toLowerCase()}).`);
    else if (old.state !== member.state) said.push(`${who}: ${MEMBER_STATES[member.state].toLowerCase()}.`);
  }
  return said.join(" ");
}

store.subscribe((change) => {
  if (change.type === "snapshot") {
    renderStatus();
    renderCurrent();
    renderDirectory();
    refreshRecent();
  } else if (change.type === "call") {
    renderCurrent();
    if (!change.wasEnded) ctx.announce(describeChange(change.call, change.previous));
    if (change.call.status === "ended" && change.call.members.some((m) => m.agent === ctx.me)) refreshRecent();
  } else if (change.type === "agent") {
    if (change.agent.id === ctx.me) renderStatus();
    renderDirectory();
    renderCurrent(); // names and transfer targets follow the directory
  }
});

renderStatus();
renderCurrent();
renderDirectory();
loadRecent();
connection.connect();

// The agent desk (/agent/): own status, an offered call, the current call, the agent directory,
// recent calls; alerts for a call of my own.

import { Alerts } from "./alerts.js";
import { api } from "./api.js";
import {
  STATUS_WORDS,
  callTitle,
  callTitleNodes,
  renderCalls,
  ringingAgents,
  shownStatus,
  transferOf,
} from "./callcard.js";
import { callerContext } from "./context.js";
import { h, reconcile, setAttr, setText, show } from "./dom.js";
import {
  MEMBER_STATES,
  addressProblem,
  byAvailability,
  dayAndTime,
  duration,
  isLive,
  memberName,
  prettyAddress,
  setBadge,
} from "./format.js";
import { callerOf, offerPanel, offeredCall } from "./offer.js";
import { startPage, tickTimers } from "./page.js";
import { startShortcuts } from "./shortcuts.js";
import { statusPanel } from "./status.js";
import { toast } from "./toasts.js";
import { recordingLinks } from "./voice.js";
import { startWrapUp } from "./wrapup.js";

const { data, store, ctx, connection } = startPage();
ctx.transferOpen = true;
const $ = (id) => document.getElementById(id);
const alerts = new Alerts({ soundButton: $("alert-sound"), notifyButton: $("alert-notify") });
const wrapUp = startWrapUp({ store, ctx, root: $("wrap-up"), required: data.wrap_up.disposition_required });

// --- own status and an offered call ---------------------------------------------------------------

const status = statusPanel(store, ctx);
const renderStatus = status.render;
const offer = offerPanel($("offer"), { store });

function renderOffer() {
  const call = offeredCall(store, ctx.me);
  offer.render(call);
  tickTimers($("offer"));
}

// --- current call -----------------------------------------------------------------------------------

const myCallsEl = $("my-calls");
const noCall = $("no-call");

function myCalls() {
  // An offered call is shown as the offer until my leg joins it.
  return store.liveCalls().filter(
    (c) => c.members.some((m) => m.agent === ctx.me && isLive(m)) && !(c.status === "waiting" && c.offered_to === ctx.me),
  );
}

// Calls I was on that go on without me (I transferred them): they belong with my recent calls. A call
// that only rang me (I declined or missed it) was never mine to list.
function callsILeft() {
  return store.liveCalls().filter(
    (c) => c.members.some((m) => m.agent === ctx.me && m.joined_at) && !c.members.some((m) => m.agent === ctx.me && isLive(m)),
  );
}

// The last control of my calls that had the keyboard's focus: when its call goes (I hung up or
// left), the focus follows to what comes next instead of falling to the page's body.
let lastFocused = null;
myCallsEl.addEventListener("focusin", (event) => { lastFocused = event.target; });

function renderCurrent() {
  const calls = myCalls();
  renderCalls(myCallsEl, calls, ctx);
  // The caller's earlier calls, under each call of mine (README, "Pages").
  for (const card of myCallsEl.children) {
    if (!card.context) {
      card.context = callerContext();
      card.append(card.context.el);
    }
    card.context.render(card.call);
  }
  const focusLost = !document.activeElement || document.activeElement === document.body;
  if (lastFocused && !lastFocused.isConnected && focusLost) {
    lastFocused = null;
    wrapUp.focusIfLost();
  }
  show(noCall, calls.length === 0);
  setText($("current-count"), calls.length > 1 ? `${calls.length} calls` : "");
  const me = store.agents.get(ctx.me);
  setText($("no-call-hint"), me && me.status === "offered" ? "A call is ringing you (above): answer your phone to take it."
    : me && me.status === "available" ? "You are available: the next call will show up here."
      : "Set your status to Available to take calls.");
  renderQueueCount();
  tickTimers(myCallsEl);
}

// How many callers wait for an agent, when the server tells this desk (the day's figures): the one
// ringing me is mine already, so it is not counted as waiting for someone.
function renderQueueCount() {
  const counted = store.stats && typeof store.stats.waiting === "number" ? store.stats.waiting : null;
  const el = $("queue-count");
  show(el, counted !== null);
  if (counted === null) return;
  const ringingMe = offeredCall(store, ctx.me) ? 1 : 0;
  const waiting = Math.max(0, counted - ringingMe);
  const other = ringingMe ? " other" : "";
  setText(el, waiting === 1 ? `1${other} caller waiting` : `${waiting}${other} callers waiting`);
  el.classList.toggle("has-waiting", Boolean(waiting));
}

// --- directory -------------------------------------------------------------------------------------

const directory = $("directory");

function renderDirectory() {
  // An agent a call of mine dials (a transfer, an add) shows as ringing until they answer.
  const ringing = ringingAgents(store.liveCalls());
  const agents = [...store.agents.values()].map((a) => ({ ...a, status: shownStatus(a, ringing) })).sort(byAvailability);
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
    setBadge(row.parts.status, "status", agent.status, STATUS_WORDS);
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

let endedCalls = [];

async function loadRecent() {
  try {
    const data = await api.endedCalls();
    endedCalls = (Array.isArray(data) ? data : data.results || []).slice(0, 10);
    renderRecent();
  } catch (error) {
    recent.replaceChildren(h("li", { class: "empty" }, `Recent calls could not be loaded. ${error.message}`));
  }
}

function renderRecent() {
  const stillOn = callsILeft();
  const stillOnIds = new Set(stillOn.map((c) => c.id));
  const calls = [...stillOn, ...endedCalls.filter((c) => !stillOnIds.has(c.id))];
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
      const handedTo = transferredTo(call);
      const sub = handedTo ? `${when} · transferred to ${handedTo}`
        : colleagues.length ? `${when} · with ${[...new Set(colleagues)].join(", ")}` : when;
      return h("li", { class: `recent-row${call.status === "ended" ? "" : " is-still-on"}` },
        h("div", { class: "recent-who" },
          h("span", { class: "recent-title" }, callTitleNodes(call, store.agents)),
          h("span", { class: "recent-sub" }, sub),
          ...recordingLinks(call)),
        h("span", { class: "recent-length timer", title: "Call length" }, call.status === "ended" ? length : "still on"));
    }),
  );
}

// Who I handed a call to: the agent my cold transfer dialled ("Bob Chen"), or null.
function transferredTo(call) {
  const target = call.members.find((m) => m.joined_via === "cold_transfer" && m.invited_by === ctx.me);
  return target ? memberName(target, store.agents) : null;
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

// Someone else (a supervisor, another tab of mine does not count) held or released a member of
// my call: say so where it can be seen, not only in the member's row.
function changedBySomeoneElse(call, previous) {
  // A warm transfer holds and brings back the customer by itself: the consult on the card says so.
  if (!previous || transferOf(call) || transferOf(previous)) return null;
  const before = new Map(previous.members.map((m) => [m.id, m]));
  for (const member of call.members) {
    const old = before.get(member.id);
    const by = member.state_changed_by != null ? store.agents.get(member.state_changed_by) : null;
    if (!old || old.state === member.state || !by || by.id === ctx.me || member.agent === ctx.me) continue;
    const who = by.is_supervisor ? `Your supervisor ${by.name}` : by.name;
    if (member.state === "on_hold") return `${who} put ${memberName(member, store.agents)} on hold.`;
    if (old.state === "on_hold" && member.state === "connected") {
      return `${who} took ${memberName(member, store.agents)} off hold.`;
    }
  }
  return null;
}

// Alerts: a call offered to me rings until it is answered or goes elsewhere; a new call of mine
// (a transfer, one I was added to) alerts once.
let alertedFor = null;

function followAlerts(change) {
  const offered = offeredCall(store, ctx.me);
  if (offered) {
    if (alertedFor !== `offer:${offered.id}`) {
      alertedFor = `offer:${offered.id}`;
      alerts.start(`Incoming call from ${callerOf(offered)}`, {
        body: "Answer your phone to take the call.", untilSettled: true, tag: `offer-${offered.id}`,
      });
    }
    return;
  }
  if (alertedFor && alertedFor.startsWith("offer:")) {
    alerts.stop();
    alertedFor = null;
  }
  if (change.type !== "call" || change.previous || change.call.status === "ended") return;
  const mine = change.call.members.find((m) => m.agent === ctx.me && isLive(m));
  if (!mine || mine.joined_via === "outbound") return; // a call I placed myself needs no alert
  const from = mine.invited_by != null && store.agents.get(mine.invited_by);
  alertedFor = `call:${change.call.id}`;
  alerts.start(`New call: ${callTitle(change.call, store.agents)}`, {
    body: from ? `Transferred from ${from.name}` : "", tag: `call-${change.call.id}`,
  });
}

store.subscribe((change) => {
  if (change.type === "snapshot") {
    renderStatus();
    renderOffer();
    renderCurrent();
    renderDirectory();
    refreshRecent();
  } else if (change.type === "call") {
    renderOffer();
    renderCurrent();
    renderDirectory(); // who a call of mine is ringing
    // A change to a call already over (its wrap-up saved) is not news to announce.
    if (!change.wasEnded) ctx.announce(describeChange(change.call, change.previous));
    const bySomeoneElse = changedBySomeoneElse(change.call, change.previous);
    if (bySomeoneElse) toast(bySomeoneElse, "info");
    if (change.call.members.some((m) => m.agent === ctx.me)) {
      if (change.call.status === "ended") refreshRecent();
      else renderRecent();
    }
  } else if (change.type === "agent") {
    if (change.agent.id === ctx.me) renderStatus();
    renderDirectory();
    renderCurrent(); // names and transfer targets follow the directory
  } else if (change.type === "stats") {
    renderQueueCount();
  }
  followAlerts(change);
});

// --- calling out (README, "Pages"): a number typed here, refused as typed when it cannot be one ----------

const callOut = $("call-out");
const callOutTo = $("call-out-to");
const callOutError = $("call-out-error");
let calling = false;

// A phone number as people write it ("+1 (202) 555-0111") is its digits; anything else stays as typed.
function typedAddress(text) {
  const value = text.trim();
  return /^\+?[\d\s().\-/]+$/.test(value) ? value.replace(/[^\d+]/g, "") : value;
}

function checkCallOut() {
  const problem = addressProblem(typedAddress(callOutTo.value));
  setText(callOutError, problem);
  setAttr(callOutTo, "aria-invalid", problem ? "true" : null);
  return problem;
}

callOutTo.addEventListener("input", checkCallOut);
callOut.addEventListener("submit", async (event) => {
  event.preventDefault();
  const to = typedAddress(callOutTo.value);
  if (!to) {
    setText(callOutError, "Type the number or SIP URI to call.");
    callOutTo.focus();
    return;
  }
  if (checkCallOut() || calling) {
    callOutTo.focus();
    return;
  }
  calling = true;
  callOut.setAttribute("aria-busy", "true");
  try {
    const call = await api.startCall(to);
    if (call && call.id) store.applyCall(call);
    callOutTo.value = "";
    toast(`Calling ${prettyAddress(to)}: your phone rings first.`, "success");
  } catch (error) {
    setText(callOutError, error.message);
    toast(`Could not call ${prettyAddress(to)}. ${error.message}`, "error");
  } finally {
    calling = false;
    callOut.removeAttribute("aria-busy");
  }
});

// --- keyboard shortcuts (listed in the page's "Keyboard shortcuts" dialog) -----------------------------

function myCard() {
  return myCallsEl.querySelector(".call-card");
}

function customerButton(icons) {
  const card = myCard();
  if (!card) return null;
  const selector = icons.map((icon) => `.member.role-customer:not(.is-left) button[data-icon="${icon}"]`).join(", ");
  return [...card.querySelectorAll(selector)].find((b) => !b.hidden) || null;
}

function nothingTo(words) {
  toast(words, "info");
}

let endArmedUntil = 0;

const keys = {
  d: () => {
    if (!offeredCall(store, ctx.me)) return nothingTo("No call is ringing you: nothing to decline.");
    offer.decline.click();
  },
  h: () => {
    const button = customerButton(["hold", "unhold"]);
    if (!button) return nothingTo("No customer on your call to hold.");
    button.click();
  },
  e: () => {
    const button = customerButton(["hangup"]);
    if (!button) return nothingTo("No customer on your call to hang up.");
    if (Date.now() > endArmedUntil) {
      endArmedUntil = Date.now() + 3000;
      return toast(`Press E again to hang up: ${button.getAttribute("aria-label")}.`, "info");
    }
    endArmedUntil = 0;
    button.click();
  },
  t: () => {
    const card = myCard();
    const transfer = card && card.querySelector("details.transfer");
    if (!transfer || transfer.hidden) return nothingTo("No call of yours to transfer.");
    transfer.open = true;
    transfer.querySelector("select").focus();
  },
  f: () => {
    const done = $("wrap-up").querySelector('button[value="done"]');
    if ($("wrap-up").hidden || !done) return nothingTo("You are not in wrap-up.");
    done.click();
  },
  c: () => callOutTo.focus(),
  1: () => $("status-switch").querySelector('[data-status="available"]').click(),
  2: () => $("status-switch").querySelector('[data-status="away"]').click(),
  3: () => $("status-switch").querySelector('[data-status="offline"]').click(),
};
startShortcuts(keys, { dialog: $("shortcuts"), openButton: $("shortcuts-open"), closeButton: $("shortcuts-close") });

renderStatus();
renderOffer();
renderCurrent();
renderDirectory();
loadRecent();
connection.connect();

// One call as a card: its members with state, timer and actions, the warm-transfer consult
// and the transfer / add-member form. Shared by the desk and the wall; updated in place so a
// live change never steals the keyboard focus.

import { api } from "./api.js";
import { guardFlip, labelChanged } from "./asseen.js";
import { h, reconcile, setAttr, setText, show } from "./dom.js";
import {
  AGENT_STATUSES,
  CALL_STATUSES,
  MEMBER_STATES,
  ROLES,
  addressProblem,
  byAvailability,
  clockTime,
  icon,
  initials,
  isLive,
  memberLabel,
  memberName,
  prettyAddress,
  setBadge,
} from "./format.js";
import { toast } from "./toasts.js";
import {
  VOICE_ACTION_WORDS,
  VOICE_DONE_WORDS,
  buildCallVoice,
  buildMemberVoice,
  updateCallVoice,
  updateMemberVoice,
} from "./voice.js";

const ON_THE_LINE = new Set(["connected", "on_hold", "in_transfer"]);

/**
 * ctx: {
 *   store, me (agent id or null), isSupervisor,
 *   pending: Set of call ids with an action in flight,
 *   announce(text), transferOpen (bool: the form starts expanded)
 * }
 */
export function renderCalls(container, calls, ctx) {
  reconcile(container, calls.map((c) => c.id), "callId", (id) => buildCard(Number(id), ctx));
  for (const call of calls) {
    updateCard(container.querySelector(`[data-call-id="${call.id}"]`), call, ctx);
  }
}

function titleMembers(call) {
  const customers = call.members.filter((m) => m.role === "customer");
  return customers.filter(isLive).length ? customers.filter(isLive) : customers;
}

export function callTitle(call, agents) {
  const shown = titleMembers(call);
  if (!shown.length) return "Internal call";
  return shown.map((m) => memberName(m, agents)).join(", ");
}

/** The title as nodes: each number an unbreakable piece (never split or cut on a small screen). */
export function callTitleNodes(call, agents) {
  const shown = titleMembers(call);
  if (!shown.length) return ["Internal call"];
  return shown.flatMap((m, i) => [i ? ", " : "", nameNode(m, agents)]);
}

function nameNode(member, agents) {
  const name = memberName(member, agents);
  return member.agent != null && agents.has(member.agent) ? name : addressNode(name);
}

function addressNode(address) {
  return h("span", { class: address.startsWith("sip:") ? "addr addr-sip" : "addr" }, address);
}

function setNodes(el, key, nodes) {
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  el.replaceChildren(...nodes);
}

/** Agents whose phone a call I can see is ringing (a transfer or an add dialling them). */
export function ringingAgents(calls) {
  const ids = new Set();
  for (const call of calls) {
    for (const m of call.members) if (m.agent != null && (m.state === "dialing" || m.state === "ringing")) ids.add(m.agent);
  }
  return ids;
}

export const STATUS_WORDS = { ...AGENT_STATUSES, ringing: "Ringing" };

/** An agent's status as the directory shows it: "ringing" while a call dials them and they are not yet on it. */
export function shownStatus(agent, ringing) {
  return ringing.has(agent.id) && !["busy", "offered"].includes(agent.status) ? "ringing" : agent.status;
}

export function transferOf(call) {
  const initiator = call.members.find((m) => m.transfer_role === "initiator" && isLive(m));
  if (!initiator) return null;
  const target = call.members.find((m) => m.transfer_role === "target" && isLive(m)) || null;
  return { initiator, target };
}

function buildCard(id, ctx) {
  const titleId = `call-${id}-title`;
  const card = h("article", { class: "call-card", "aria-labelledby": titleId });
  card.callId = id;
  card.parts = {};
  const p = card.parts;

  p.title = h("h3", { class: "call-title", id: titleId });
  p.status = h("span", { class: "badge" });
  p.timer = h("span", { class: "timer call-timer", role: "timer", "aria-label": "Call duration" });
  p.meta = h("p", { class: "call-meta" });
  p.origin = h("p", { class: "call-origin", hidden: true });
  card.append(
    h("header", { class: "call-head" },
      h("div", { class: "call-head-main" }, p.title, p.meta, p.origin),
      h("div", { class: "call-head-side" }, p.status, p.timer)),
    ...buildCallVoice(card, ctx, actOn(card, ctx)),
  );

  p.consultText = h("p", { class: "consult-text" });
  // Complete: the initiator hands the call over and leaves; join all three: everyone stays.
  p.complete = h("button", { type: "button", class: "btn btn-primary" }, "Complete transfer");
  p.join = h("button", { type: "button", class: "btn" }, "Join all three");
  p.abort = h("button", { type: "button", class: "btn btn-quiet" }, "Abort transfer");
  p.consult = h("section", { class: "consult", "aria-label": "Warm transfer in progress", hidden: true },
    h("div", { class: "consult-icon", "aria-hidden": "true" }, icon("in_transfer")),
    p.consultText,
    h("div", { class: "consult-actions" }, p.complete, p.join, p.abort));
  p.complete.addEventListener("click", () =>
    perform(card, "complete-transfer", "", () => api.completeTransfer(card.call.id), ctx));
  p.join.addEventListener("click", () => consultAction(card, "resume-call", ctx));
  p.abort.addEventListener("click", () => consultAction(card, "abort-transfer", ctx));
  card.append(p.consult);

  p.members = h("ul", { class: "members", "aria-label": "Members" });
  card.append(p.members);

  card.append(buildTransferForm(card, id, ctx));
  return card;
}

function buildTransferForm(card, id, ctx) {
  const p = card.parts;
  const agentId = `call-${id}-agent`;
  const addressId = `call-${id}-address`;
  const roleId = `call-${id}-role`;
  p.agentSelect = h("select", { id: agentId, class: "input" });
  const addressErrorId = `call-${id}-address-error`;
  p.address = h("input", {
    id: addressId, class: "input", type: "text", inputmode: "tel", autocomplete: "off", spellcheck: "false",
    placeholder: "+14155550123 or sip:name@example.com", "aria-describedby": addressErrorId,
  });
  p.addressError = h("p", { id: addressErrorId, class: "field-error", "aria-live": "polite" });
  p.role = h("select", { id: roleId, class: "input" },
    h("option", { value: "agent" }, "Agent"), h("option", { value: "customer" }, "Customer"));
  p.warm = h("button", { type: "button", class: "btn btn-primary" }, "Warm transfer");
  p.cold = h("button", { type: "button", class: "btn" }, "Cold transfer");
  p.add = h("button", { type: "button", class: "btn" }, "Add to call");
  p.transferNote = h("p", { class: "form-note", hidden: true });
  p.warm.addEventListener("click", () => transferAction(card, "warm-transfer", ctx));
  p.cold.addEventListener("click", () => transferAction(card, "cold-transfer", ctx));
  p.add.addEventListener("click", () => transferAction(card, "add-member", ctx));
  p.address.addEventListener("input", () => {
    card.classList.toggle("typed-target", p.address.value.trim() !== "");
    checkTypedAddress(card);
    updateCard(card, card.call, ctx);
  });

  p.summary = h("summary", {}, "Transfer or add someone");
  p.transfer = h("details", { class: "transfer", open: ctx.transferOpen },
    p.summary,
    h("div", { class: "transfer-body" },
      h("div", { class: "field" }, h("label", { for: agentId }, "Agent"), p.agentSelect),
      h("div", { class: "field-or", "aria-hidden": "true" }, "or"),
      h("div", { class: "field field-address" }, h("label", { for: addressId }, "Number or SIP URI"), p.address,
        p.addressError),
      h("div", { class: "field" }, h("label", { for: roleId }, "Joins as"), p.role),
      h("div", { class: "transfer-actions" }, p.warm, p.cold, p.add),
      p.transferNote));
  return p.transfer;
}

function updateCard(card, call, ctx) {
  const { store } = ctx;
  const agents = store.agents;
  const p = card.parts;
  card.call = call;
  card.dataset.status = call.status;
  const busy = ctx.pending.has(call.id);
  setAttr(card, "aria-busy", busy ? "true" : null);
  card.classList.toggle("is-busy", busy);

  setNodes(p.title, callTitle(call, agents), callTitleNodes(call, agents));
  setText(p.meta, `Call ${call.id} · started ${clockTime(call.started_at)}${call.queue ? ` · ${call.queue} queue` : ""}`);
  setBadge(p.status, "call", call.status, CALL_STATUSES);
  setAttr(p.timer, "data-since", call.started_at);
  updateCallVoice(card, call, ctx, busy);

  const mine = myMember(call, ctx);
  const origin = mine ? originWords(mine, agents, "you") : "";
  setText(p.origin, origin);
  show(p.origin, Boolean(origin));
  const transfer = transferOf(call);
  card.classList.toggle("has-transfer", Boolean(transfer));
  card.classList.toggle("is-mine", Boolean(mine));

  // Members
  const members = call.members;
  reconcile(p.members, members.map((m) => m.id), "memberId", () => buildMemberRow(card, ctx));
  for (const member of members) {
    updateMemberRow(p.members.querySelector(`[data-member-id="${member.id}"]`), member, call, ctx, busy);
  }

  // Consult
  show(p.consult, Boolean(transfer));
  if (transfer) {
    const { initiator, target } = transfer;
    const onHold = call.members.filter((m) => m.role === "customer" && m.state === "on_hold");
    const holdText = onHold.length
      ? ` ${onHold.map((m) => memberName(m, agents)).join(", ")} ${onHold.length > 1 ? "are" : "is"} on hold.`
      : "";
    const targetName = target ? memberName(target, agents) : "the transfer target";
    const targetState = target ? ` (${(MEMBER_STATES[target.state] || target.state).toLowerCase()})` : "";
    let text;
    if (mine && mine.id === initiator.id) text = `Consulting ${targetName}${targetState} before handing over.`;
    else if (mine && target && mine.id === target.id) {
      text = `${memberName(initiator, agents)} is transferring this call to you.`;
    } else text = `${memberName(initiator, agents)} is consulting ${targetName}${targetState}.`;
    setText(p.consultText, `Warm transfer: ${text}${holdText}`);
    const isInitiator = Boolean(mine && mine.id === initiator.id);
    const canJoin = ctx.isSupervisor || isInitiator || Boolean(mine && target && mine.id === target.id);
    show(p.complete, ctx.isSupervisor || isInitiator);
    show(p.join, canJoin);
    show(p.abort, ctx.isSupervisor || isInitiator);
    // The call is handed over only to a target who answered.
    p.complete.disabled = busy || !(target && ON_THE_LINE.has(target.state));
    // Everyone stays only with a target who answered: until then there is nobody to join.
    const answered = Boolean(target && ON_THE_LINE.has(target.state));
    p.join.disabled = busy || !answered;
    setAttr(p.join, "title", answered ? null : `${targetName} has not answered yet`);
    p.abort.disabled = busy;
  }

  // Transfer / add member: only an agent on the line, as an agent, hands the call over (a supervisor's
  // monitoring leg is no agent leg: the server refuses it); a supervisor may add people.
  const onTheLine = Boolean(mine && mine.role === "agent" && ON_THE_LINE.has(mine.state));
  show(p.transfer, (onTheLine || ctx.isSupervisor) && call.status !== "ended");
  setText(p.summary, onTheLine ? "Transfer or add someone" : "Add someone to this call");
  show(p.warm, onTheLine);
  show(p.cold, onTheLine);
  updateTargets(p.agentSelect, call, ctx);
  const badAddress = Boolean(addressProblem(p.address.value));
  p.warm.disabled = busy || Boolean(transfer) || badAddress;
  p.cold.disabled = busy || Boolean(transfer) || badAddress;
  p.add.disabled = busy || badAddress;
  const note = onTheLine && transfer ? "Complete or abort the warm transfer before starting another." : "";
  show(p.transferNote, Boolean(note));
  setText(p.transferNote, note);
}

function myMember(call, ctx) {
  if (ctx.me == null) return null;
  return call.members.find((m) => m.agent === ctx.me && isLive(m)) || null;
}

// "Held by your supervisor (Sam Rivera)": who put the member in this state through the desk,
// when it was someone else than the person looking.
function whoChanged(member, call, ctx) {
  if (member.state !== "on_hold" || member.state_changed_by == null || member.state_changed_by === ctx.me) return "";
  // A customer waiting through a warm transfer: the consult says so, and whose transfer it is.
  if (member.role === "customer" && transferOf(call)) return "";
  const by = ctx.store.agents.get(member.state_changed_by);
  if (!by) return "held by someone else";
  return by.is_supervisor && !ctx.isSupervisor ? `held by your supervisor (${by.name})` : `held by ${by.name}`;
}

const ORIGIN_WORDS = { cold_transfer: "Transferred from", warm_transfer: "Transferred from", added: "Added by" };

/** "Transferred from Alice Moreno" for a member a colleague brought in; `self` names the member. */
export function originWords(member, agents, self) {
  const lead = ORIGIN_WORDS[member.joined_via];
  const by = member.invited_by != null ? agents.get(member.invited_by) : null;
  if (!lead || !by || by.name === self || member.role === "customer") return "";
  return self === "you" ? `${lead} ${by.name}` : `${lead.toLowerCase()} ${by.name}`;
}

// How long after a click the flip it asked for still counts as this page's own (the callback
// that confirms a hold can come after the action's answer).
const OWN_FLIP_MS = 10_000;

function buildMemberRow(card, ctx) {
  const row = h("li", { class: "member" });
  const r = (row.parts = {});
  const voice = buildMemberVoice(row, ctx, actOn(card, ctx));
  r.avatar = h("span", { class: "avatar", "aria-hidden": "true" });
  r.name = h("span", { class: "member-name" });
  r.sub = h("span", { class: "member-sub" });
  r.state = h("span", { class: "badge" });
  r.timer = h("span", { class: "timer member-timer", role: "timer" });
  r.hold = h("button", { type: "button", class: "btn btn-small btn-icon" });
  r.hangup = h("button", { type: "button", class: "btn btn-small btn-icon btn-danger" });
  r.voicemail = h("button", { type: "button", class: "btn btn-small btn-icon" });
  setButton(r.voicemail, "voicemail", "Voicemail");
  r.hold.addEventListener("click", () => {
    // Act on what the button said when it was clicked, and only if it said so for long enough
    // to be read (asseen.js): a live change can flip it under the pointer.
    if (!guardFlip(r.hold)) {
      const now = r.hold.dataset.icon === "unhold" ? "on hold" : "off hold";
      toast(`Nothing done: ${memberLabel(row.member, ctx.store.agents)} was just put ${now} by someone else. ` +
        "Click again if you still mean it.", "info");
      return;
    }
    const shown = r.hold.dataset.icon === "unhold" ? "on_hold" : "connected";
    // The flip this click asks for is ours when it lands, even after the answer came back.
    r.hold.dataset.expect = shown === "on_hold" ? "connected" : "on_hold";
    r.hold.dataset.expectUntil = String(performance.now() + OWN_FLIP_MS);
    memberAction(card, row.member, shown === "on_hold" ? "unhold" : "hold", ctx, shown);
  });
  r.hangup.addEventListener("click", () => {
    // On the wall a hang-up is someone else's call: the first click asks, the second acts.
    if (ctx.confirmHangUp && !confirmed(r.hangup)) return;
    memberAction(card, row.member, "hangup", ctx);
  });
  r.voicemail.addEventListener("click", () => memberAction(card, row.member, "voicemail-drop", ctx));
  row.append(
    r.avatar,
    h("div", { class: "member-who" }, r.name, r.sub, voice.flags),
    h("div", { class: "member-state" }, r.state, r.timer),
    h("div", { class: "member-actions" }, voice.mute, r.hold, r.voicemail, r.hangup),
  );
  return row;
}

function updateMemberRow(row, member, call, ctx, busy) {
  const agents = ctx.store.agents;
  const r = row.parts;
  row.member = member;
  const isMe = ctx.me != null && member.agent === ctx.me;
  const name = memberName(member, agents);
  const label = isMe ? "yourself" : memberLabel(member, agents);
  row.className = `member role-${member.role} m-${member.state}${isLive(member) ? "" : " is-left"}${isMe ? " is-me" : ""}`;

  const mark = member.agent != null && agents.has(member.agent) ? initials(name) : "";
  if (r.avatar.dataset.mark !== mark || !r.avatar.firstChild) {
    r.avatar.dataset.mark = mark;
    r.avatar.replaceChildren(mark || icon("person"));
  }
  setNodes(r.name, isMe ? `${name} (you)` : name, isMe ? [`${name} (you)`] : [nameNode(member, agents)]);
  const role = ROLES[member.role] || member.role;
  const address = prettyAddress(member.address);
  const transferRole = member.transfer_role === "initiator" ? "transferring" : member.transfer_role === "target" ? "transfer target" : "";
  const extras = [transferRole, whoChanged(member, call, ctx), originWords(member, agents, name)].filter(Boolean);
  // The address is its own unbreakable piece: a phone number is never cut or split.
  const shownAddress = address && address !== name ? address : "";
  setNodes(r.sub, [role, shownAddress, ...extras].join("|"), [
    role,
    ...(shownAddress ? [" · ", addressNode(shownAddress)] : []),
    ...extras.map((words) => ` · ${words}`),
  ]);
  setBadge(r.state, "state", member.state, MEMBER_STATES);

  // The timer counts time in the current state ("on hold for 0:42"); a member who left keeps
  // the length of their stay.
  const left = member.state === "left";
  setAttr(r.timer, "data-since", left ? member.joined_at || null : member.state_since || member.joined_at || null);
  setAttr(r.timer, "data-until", left ? member.left_at || call.ended_at || null : null);
  const stateWords = (MEMBER_STATES[member.state] || member.state).toLowerCase();
  setAttr(r.timer, "aria-label", left ? `Time on the call for ${label}` : `Time ${stateWords} for ${label}`);
  if (!r.timer.dataset.since) setText(r.timer, "—");

  const live = isLive(member);
  const holdable = member.state === "connected" || member.state === "on_hold";
  // A supervisor's monitoring leg is theirs: only supervisors end it, and nobody holds it.
  const monitoring = member.role === "supervisor";
  show(r.hold, live && holdable && !isMe && !monitoring);
  // A flip by someone else (not this page's own action, in flight or just answered) may land
  // under the pointer.
  const flipped = r.hold.dataset.icon && r.hold.dataset.icon !== (member.state === "on_hold" ? "unhold" : "hold");
  const ours = r.hold.dataset.expect === member.state && performance.now() < Number(r.hold.dataset.expectUntil);
  if (flipped && !busy && !ours) labelChanged(r.hold);
  if (flipped) delete r.hold.dataset.expect;
  setButton(r.hold, member.state === "on_hold" ? "unhold" : "hold", member.state === "on_hold" ? "Unhold" : "Hold");
  setAttr(r.hold, "aria-label", member.state === "on_hold" ? `Take ${label} off hold` : `Put ${label} on hold`);
  setAttr(r.hold, "aria-pressed", member.state === "on_hold" ? "true" : "false");

  show(r.hangup, live && (!monitoring || ctx.isSupervisor));
  if (!r.hangup.dataset.confirming) {
    setButton(r.hangup, "hangup", isMe ? "Leave" : "Hang up");
    setAttr(r.hangup, "aria-label", isMe ? "Leave the call (hang up yourself)" : `Hang up ${label}`);
  }

  // A voicemail is dropped on a machine that answered: PHLO refuses it on a leg still ringing.
  show(r.voicemail, ON_THE_LINE.has(member.state) && member.role === "customer");
  setAttr(r.voicemail, "aria-label", `Drop voicemail for ${label}`);

  for (const button of [r.hold, r.hangup, r.voicemail]) button.disabled = busy;
  updateMemberVoice(row, member, call, ctx, busy);
}

const CONFIRM_MS = 4000;

// A two-step button: the first click turns it into "Confirm hang up" for a few seconds; a click on
// that acts. Returns whether this click is the confirmation.
function confirmed(button) {
  if (button.dataset.confirming) {
    clearTimeout(button.confirmTimer);
    endConfirm(button);
    return true;
  }
  button.dataset.confirming = "true";
  button.dataset.label = button.getAttribute("aria-label") || "";
  button.classList.add("is-confirming");
  setAttr(button, "aria-label", `Confirm: ${button.dataset.label}`);
  button.querySelector(".btn-text").textContent = "Confirm hang up";
  button.confirmTimer = setTimeout(() => endConfirm(button), CONFIRM_MS);
  return false;
}

function endConfirm(button) {
  delete button.dataset.confirming;
  button.classList.remove("is-confirming");
  setAttr(button, "aria-label", button.dataset.label || null);
  button.querySelector(".btn-text").textContent = button.title;
}

// Icon and words; the wall shows only the icon (the words stay for tooltips and screen readers).
function setButton(button, iconName, text) {
  if (button.dataset.icon === iconName && button.title === text) return;
  button.dataset.icon = iconName;
  button.title = text;
  button.replaceChildren(icon(iconName), h("span", { class: "btn-text" }, text));
}

function updateTargets(select, call, ctx) {
  const inCall = new Set(call.members.filter(isLive).map((m) => m.agent).filter((a) => a != null));
  const ringing = ringingAgents(ctx.store.liveCalls());
  const candidates = [...ctx.store.agents.values()]
    .filter((a) => a.id !== ctx.me && !inCall.has(a.id))
    .map((a) => ({ ...a, status: shownStatus(a, ringing) }))
    .sort(byAvailability);
  const signature = candidates.map((a) => `${a.id}:${a.status}:${a.name}:${a.address}`).join("|");
  if (select.dataset.signature === signature) return;
  select.dataset.signature = signature;
  const chosen = select.value;
  const available = candidates.filter((a) => a.status === "available");
  const others = candidates.filter((a) => a.status !== "available");
  // Only an available agent can take a transfer; the others are listed, with why, but cannot be picked.
  const option = (a) =>
    h("option", { value: a.address, dataset: { status: a.status }, disabled: a.status !== "available" },
      a.status === "available" ? a.name : `${a.name} — ${(STATUS_WORDS[a.status] || a.status).toLowerCase()}`);
  select.replaceChildren(
    h("option", { value: "" }, candidates.length ? "Choose an agent…" : "No other agents"),
    available.length ? h("optgroup", { label: "Available" }, available.map(option)) : null,
    others.length ? h("optgroup", { label: "Not available" }, others.map(option)) : null,
  );
  if ([...select.options].some((o) => o.value === chosen && !o.disabled)) select.value = chosen;
}

// --- actions -------------------------------------------------------------------------------------

const ACTION_WORDS = {
  hold: (who) => `put ${who} on hold`,
  unhold: (who) => `take ${who} off hold`,
  hangup: (who) => `hang up ${who}`,
  "voicemail-drop": (who) => `drop voicemail for ${who}`,
  "complete-transfer": () => "complete the transfer",
  "resume-call": () => "join all three",
  "abort-transfer": () => "abort the transfer",
  "warm-transfer": (who) => `warm-transfer to ${who}`,
  "cold-transfer": (who) => `cold-transfer to ${who}`,
  "add-member": (who) => `add ${who}`,
  ...VOICE_ACTION_WORDS,
};

const DONE_WORDS = {
  hold: (who) => `${who} is on hold.`,
  unhold: (who) => `${who} is off hold.`,
  hangup: (who) => `Hung up ${who}.`,
  "voicemail-drop": (who) => `Voicemail dropped for ${who}.`,
  "complete-transfer": () => "Transfer completed; the transferring agent has left the call.",
  "resume-call": () => "All three are on the call.",
  "abort-transfer": () => "Transfer aborted.",
  "warm-transfer": (who) => `Consulting ${who}; the customer is on hold.`,
  "cold-transfer": (who) => `Transferred to ${who}.`,
  "add-member": (who) => `Dialing ${who}.`,
  ...VOICE_DONE_WORDS,
};

// How the Voice API's controls (voice.js) run an action on this card.
function actOn(card, ctx) {
  return (action, who, request) => perform(card, action, who, request, ctx);
}

function memberAction(card, member, action, ctx, shownState) {
  const who = ctx.me != null && member.agent === ctx.me ? "yourself" : memberLabel(member, ctx.store.agents);
  perform(card, action, who, () => api.memberAction(card.call.id, member.id, action, shownState), ctx);
}

function consultAction(card, action, ctx) {
  const transfer = transferOf(card.call);
  if (!transfer) return;
  const mine = myMember(card.call, ctx);
  // Complete from whichever side we are on; abort belongs to the initiator.
  let member = transfer.initiator;
  if (action === "resume-call" && mine && transfer.target && mine.id === transfer.target.id) member = mine;
  perform(card, action, "", () => api.memberAction(card.call.id, member.id, action), ctx);
}

function transferAction(card, action, ctx) {
  const p = card.parts;
  const typed = p.address.value.trim();
  const to = typed || p.agentSelect.value;
  if (!to) {
    toast("Choose an available agent or type a number or SIP URI first.", "error");
    (p.agentSelect.options.length > 1 ? p.agentSelect : p.address).focus();
    return;
  }
  if (checkTypedAddress(card)) {
    p.address.focus();
    return;
  }
  const agent = [...ctx.store.agents.values()].find((a) => a.address === to);
  const role = p.role.value;
  const who = agent && !typed ? agent.name : prettyAddress(to);
  perform(card, action, who, () => api.callAction(card.call.id, action, to, role), ctx, () => {
    p.address.value = "";
    p.agentSelect.value = "";
    p.role.value = "agent";
    card.classList.remove("typed-target");
    checkTypedAddress(card);
  });
}

// One clear sentence under the field while what is typed cannot be an address; returns it.
function checkTypedAddress(card) {
  const p = card.parts;
  const problem = addressProblem(p.address.value);
  setText(p.addressError, problem);
  setAttr(p.address, "aria-invalid", problem ? "true" : null);
  return problem;
}

async function perform(card, action, who, request, ctx, onSuccess) {
  const callId = card.call.id;
  if (ctx.pending.has(callId)) return;
  ctx.pending.add(callId);
  const focused = document.activeElement;
  updateCard(card, card.call, ctx);
  try {
    const result = await request();
    if (onSuccess) onSuccess();
    if (result && result.call) ctx.store.applyCall(result.call);
    const done = DONE_WORDS[action](who);
    toast(done.charAt(0).toUpperCase() + done.slice(1), "success");
  } catch (error) {
    toast(`Could not ${ACTION_WORDS[action](who)}. ${error.message}`, "error");
  } finally {
    ctx.pending.delete(callId);
    const latest = ctx.store.calls.get(callId);
    if (latest && card.isConnected) updateCard(card, latest, ctx);
    // The clicked button was disabled meanwhile; give the keyboard focus back if it is usable again.
    const elsewhere = document.activeElement && document.activeElement !== document.body;
    const usable = focused && focused.isConnected && !focused.disabled && focused.offsetParent !== null;
    if (!elsewhere && usable) focused.focus();
  }
}

// What Plivo's Voice API adds to a call card (docs/voice-api.md): the red "Recording" mark and
// the recording controls, a supervisor's Listen / Whisper / Barge / Stop, the agent's notice that
// a supervisor is coaching them, and per member: Muted, the supervisor's mode, mute / unmute.
// callcard.js builds the card and hands these functions an `act(action, who, request)` that runs
// a request the way every action on the card runs (busy state, errors, announcement).

import { api } from "./api.js";
import { h, setAttr, setText, show } from "./dom.js";
import { MONITOR_MODES, icon, isLive, memberLabel, memberName } from "./format.js";

const ON_THE_LINE = new Set(["connected", "on_hold", "in_transfer"]);
const MODE_BUTTONS = { listen: "Listen", whisper: "Whisper", barge: "Barge" };

export const VOICE_ACTION_WORDS = {
  monitor: () => "change how you monitor this call",
  "monitor-stop": () => "stop monitoring",
  mute: (who) => `mute ${who}`,
  unmute: (who) => `unmute ${who}`,
  "recording-start": () => "start recording",
  "recording-pause": () => "pause the recording",
  "recording-resume": () => "resume the recording",
  "recording-stop": () => "stop the recording",
};

export const VOICE_DONE_WORDS = {
  monitor: (mode) => `You are ${(MONITOR_MODES[mode] || mode).toLowerCase()} on this call.`,
  "monitor-stop": () => "You stopped monitoring this call.",
  mute: (who) => (who === "yourself" ? "You are muted." : `${who} is muted.`),
  unmute: (who) => (who === "yourself" ? "You are unmuted." : `${who} is unmuted.`),
  "recording-start": () => "Recording started.",
  "recording-pause": () => "Recording paused.",
  "recording-resume": () => "Recording resumed.",
  "recording-stop": () => "Recording stopped.",
};

// The live supervisor leg of `agentId` in the call, or of anyone when `agentId` is null.
function supervisorLeg(call, agentId) {
  return call.members.find((m) => m.role === "supervisor" && isLive(m) && (agentId == null || m.agent === agentId));
}

// --- the call: recording, monitoring, coaching -------------------------------------------------

export function buildCallVoice(card, ctx, act) {
  const p = card.parts;
  const id = card.callId;
  p.recMark = h("span", { class: "rec-mark", role: "status" });
  p.recStart = voiceButton("record", "Record");
  p.recPause = voiceButton("pause", "Pause recording");
  p.recResume = voiceButton("record", "Resume recording");
  p.recStop = voiceButton("stop", "Stop recording");
  p.recStart.addEventListener("click", () => act("recording-start", "", () => api.recording(id, "start")));
  p.recPause.addEventListener("click", () => act("recording-pause", "", () => api.recording(id, "pause")));
  p.recResume.addEventListener("click", () => act("recording-resume", "", () => api.recording(id, "resume")));
  p.recStop.addEventListener("click", () => act("recording-stop", "", () => api.recording(id, "stop")));
  p.recControls = h("div", { class: "rec-controls", role: "group", "aria-label": "Recording" },
    p.recStart, p.recPause, p.recResume, p.recStop);

  p.modeButtons = {};
  for (const [mode, text] of Object.entries(MODE_BUTTONS)) {
    const button = voiceButton(mode, text);
    button.addEventListener("click", () => act("monitor", mode, () => api.monitor(id, mode)));
    p.modeButtons[mode] = button;
  }
  p.monitorStop = voiceButton("hangup", "Stop");
  setAttr(p.monitorStop, "aria-label", "Stop monitoring this call");
  p.monitorStop.addEventListener("click", () => act("monitor-stop", "", () => api.stopMonitor(id)));
  p.monitor = h("div", { class: "monitor-controls", role: "group", "aria-label": "Monitor this call" },
    h("span", { class: "monitor-label" }, "Monitor"), ...Object.values(p.modeButtons), p.monitorStop);

  p.coaching = h("p", { class: "coaching", role: "status", hidden: true });
  p.voiceBar = h("section", { class: "call-voice", "aria-label": "Recording and monitoring" },
    p.recMark, p.recControls, p.monitor);
  return [p.voiceBar, p.coaching];
}

export function updateCallVoice(card, call, ctx, busy) {
  const p = card.parts;
  const live = call.status !== "ended";
  const mine = ctx.me != null && call.members.some((m) => m.agent === ctx.me && isLive(m));

  // The mark: red dot and words, shown to everyone who sees the call.
  const recording = call.recording;
  card.classList.toggle("is-recording", recording === "recording");
  show(p.recMark, Boolean(recording));
  if (recording && p.recMark.dataset.value !== recording) {
    p.recMark.dataset.value = recording;
    p.recMark.className = `rec-mark rec-${recording}`;
    p.recMark.replaceChildren(icon("record"), document.createTextNode(
      recording === "paused" ? "Recording paused" : "Recording"));
  }

  // The controls: for the call's agents and supervisors.
  const mayRecord = live && (mine || ctx.isSupervisor) && call.status === "active";
  show(p.recControls, mayRecord);
  show(p.recStart, !recording);
  show(p.recPause, recording === "recording");
  show(p.recResume, recording === "paused");
  show(p.recStop, Boolean(recording));

  // Monitoring: supervisors only; their current mode is the pressed button.
  const own = supervisorLeg(call, ctx.me);
  show(p.monitor, live && ctx.isSupervisor && !(mine && !own));
  const answered = !own || ON_THE_LINE.has(own.state);
  for (const [mode, button] of Object.entries(p.modeButtons)) {
    const current = own && own.monitor_mode === mode;
    setAttr(button, "aria-pressed", current ? "true" : "false");
    setAttr(button, "aria-label", current ? `${MODE_BUTTONS[mode]} (your mode now)` : `${MODE_BUTTONS[mode]} to this call`);
    button.disabled = busy || current || !answered;
  }
  show(p.monitorStop, Boolean(own));
  for (const button of [p.recStart, p.recPause, p.recResume, p.recStop, p.monitorStop]) button.disabled = busy;
  show(p.voiceBar, Boolean(recording) || mayRecord || !p.monitor.hidden);

  // An agent hears from a supervisor: say who, and who else can hear them.
  const supervisor = mine && !own ? supervisorLeg(call, null) : null;
  const mode = supervisor && ON_THE_LINE.has(supervisor.state) ? supervisor.monitor_mode : null;
  const name = supervisor ? memberName(supervisor, ctx.store.agents) : "";
  const notices = {
    whisper: `Your supervisor is coaching you: ${name} is heard by the agents only, never by the customer.`,
    listen: `Your supervisor ${name} is listening to this call.`,
    barge: `Your supervisor ${name} has joined the call: everyone hears them.`,
  };
  show(p.coaching, Boolean(mode));
  setAttr(p.coaching, "data-mode", mode);
  setText(p.coaching, mode ? notices[mode] : "");
}

// --- one member: muted, a supervisor's mode, mute / unmute ------------------------------------

export function buildMemberVoice(row, ctx, act) {
  const r = row.parts;
  r.flags = h("span", { class: "member-flags" });
  r.mute = h("button", { type: "button", class: "btn btn-small btn-icon" });
  r.mute.addEventListener("click", () => {
    const member = row.member;
    const action = member.muted ? "unmute" : "mute";
    const who = ctx.me != null && member.agent === ctx.me ? "yourself" : memberLabel(member, ctx.store.agents);
    act(action, who, () => api.memberAction(row.callId, member.id, action));
  });
  return { flags: r.flags, mute: r.mute };
}

export function updateMemberVoice(row, member, call, ctx, busy) {
  const r = row.parts;
  row.callId = call.id;
  const flags = [];
  if (member.role === "supervisor" && member.monitor_mode && isLive(member)) {
    flags.push(flag(`mode-${member.monitor_mode}`, member.monitor_mode, MONITOR_MODES[member.monitor_mode]));
  }
  if (member.muted && isLive(member) && member.role !== "supervisor") flags.push(flag("muted", "muted", "Muted"));
  const signature = flags.map((f) => f.dataset.flag).join(" ");
  if (r.flags.dataset.signature !== signature) {
    r.flags.dataset.signature = signature;
    r.flags.replaceChildren(...flags);
  }

  // Agents mute their own line; supervisors anyone's (their own is their monitor mode).
  const isMe = ctx.me != null && member.agent === ctx.me;
  const mayMute = member.role !== "supervisor" && (isMe || ctx.isSupervisor);
  show(r.mute, mayMute && ON_THE_LINE.has(member.state) && call.status !== "ended");
  const label = isMe ? "yourself" : memberLabel(member, ctx.store.agents);
  const text = member.muted ? "Unmute" : "Mute";
  if (r.mute.title !== text) {
    r.mute.title = text;
    r.mute.dataset.icon = member.muted ? "mic" : "muted";
    r.mute.replaceChildren(icon(member.muted ? "mic" : "muted"), h("span", { class: "btn-text" }, text));
  }
  setAttr(r.mute, "aria-label", `${text} ${label}`);
  setAttr(r.mute, "aria-pressed", member.muted ? "true" : "false");
  r.mute.disabled = busy;
}

function flag(kind, iconName, text) {
  return h("span", { class: `flag flag-${kind}`, dataset: { flag: kind } }, icon(iconName), text);
}

function voiceButton(iconName, text) {
  return h("button", { type: "button", class: `btn btn-small btn-voice btn-${iconName}`, title: text },
    icon(iconName), h("span", { class: "btn-text" }, text));
}

// --- after the call: its recordings, to play ---------------------------------------------------

// Links that play each recording Plivo finished; only http(s) addresses ever become links.
export function recordingLinks(call) {
  return (call.recordings || [])
    .filter((r) => r.state === "completed" && /^https?:\/\//i.test(r.url || ""))
    .map((r, i, all) => h("a", {
      class: "recording-link", href: r.url, target: "_blank", rel: "noopener noreferrer",
    }, icon("record"), all.length > 1 ? `Play recording ${i + 1}` : "Play recording"));
}

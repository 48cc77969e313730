// Words, icons and times: every state is shown as text plus an icon, never by colour alone.

// The labels come from the server, in the page's data (calls/core/vocabulary.py, agents/models.py).
const PAGE_DATA = JSON.parse(document.getElementById("page-data").textContent);
const VOCABULARY = PAGE_DATA.vocabulary;
export const MEMBER_STATES = VOCABULARY.member_states;
export const AGENT_STATUSES = VOCABULARY.agent_statuses;
export const CALL_STATUSES = VOCABULARY.call_statuses;
export const ROLES = VOCABULARY.roles;
export const MONITOR_MODES = VOCABULARY.monitor_modes;
export const OUTCOMES = VOCABULARY.outcomes || {};

// What a member address may look like (phlo/addresses.py), checked as it is typed.
const RULES = PAGE_DATA.rules || {};
const ADDRESS = RULES.address_pattern ? new RegExp(RULES.address_pattern) : null;

/** One clear sentence about a typed number or SIP URI, or "" when it is fine (or empty). */
export function addressProblem(typed) {
  const value = typed.trim();
  if (!value || !ADDRESS || ADDRESS.test(value)) return "";
  return `Enter a phone number in E.164 form (like +14155550123) or a SIP URI (like sip:name@example.com).`;
}

// Status order of the directory and the agent board: who can take a call first.
const STATUS_RANK = { available: 0, offered: 1, wrap_up: 2, busy: 3, away: 4, offline: 5 };

/** Directory order, as the server's: available agents first, then wrap-up, busy, away, offline; then by name. */
export const byAvailability = (a, b) =>
  (STATUS_RANK[a.status] ?? 9) - (STATUS_RANK[b.status] ?? 9) || a.name.localeCompare(b.name);

const SVG_NS = "http://www.w3.org/2000/svg";

// 16×16 outline glyphs, drawn with currentColor so they follow the badge's text colour.
const ICONS = {
  connected: "M4 2.5h2.2l1 3-1.4 1a7 7 0 0 0 3.7 3.7l1-1.4 3 1v2.2a1.5 1.5 0 0 1-1.6 1.5A11 11 0 0 1 2.5 4.1 1.5 1.5 0 0 1 4 2.5z",
  on_hold: "M5 3v10M11 3v10",
  in_transfer: "M2.5 5.5h10l-3-3M13.5 10.5h-10l3 3",
  dialing: "M8 2v3M8 11v3M2 8h3M11 8h3M3.8 3.8l2 2M10.2 10.2l2 2M3.8 12.2l2-2M10.2 5.8l2-2",
  ringing: "M4 11V7a4 4 0 0 1 8 0v4l1.5 1.5h-11zM6.5 14h3",
  left: "M3 3l10 10M13 3L3 13",
  available: "M3 8.5l3 3 7-7",
  busy: "M4 2.5h2.2l1 3-1.4 1a7 7 0 0 0 3.7 3.7l1-1.4 3 1v2.2a1.5 1.5 0 0 1-1.6 1.5A11 11 0 0 1 2.5 4.1 1.5 1.5 0 0 1 4 2.5z",
  wrap_up: "M8 4v4l2.5 2.5M8 1.8a6.2 6.2 0 1 0 0 12.4A6.2 6.2 0 0 0 8 1.8z",
  offered: "M4 11V7a4 4 0 0 1 8 0v4l1.5 1.5h-11zM6.5 14h3",
  waiting: "M8 4v4l2.5 2.5M8 1.8a6.2 6.2 0 1 0 0 12.4A6.2 6.2 0 0 0 8 1.8z",
  away: "M12.5 10A5.5 5.5 0 0 1 6 3.5a5.5 5.5 0 1 0 6.5 6.5z",
  offline: "M8 2.5a5.5 5.5 0 1 0 0 11 5.5 5.5 0 0 0 0-11z",
  active: "M4 2.5h2.2l1 3-1.4 1a7 7 0 0 0 3.7 3.7l1-1.4 3 1v2.2a1.5 1.5 0 0 1-1.6 1.5A11 11 0 0 1 2.5 4.1 1.5 1.5 0 0 1 4 2.5z",
  ended: "M3 3l10 10M13 3L3 13",
  hold: "M5 3v10M11 3v10",
  unhold: "M5 3l8 5-8 5z",
  hangup: "M1.8 9.6c3.4-3.1 9-3.1 12.4 0l-1.6 2.1-2.6-1V9a7.5 7.5 0 0 0-4 0v1.7l-2.6 1z",
  voicemail: "M4.5 10.5a2.5 2.5 0 1 1 0-5 2.5 2.5 0 0 1 0 5zM11.5 10.5a2.5 2.5 0 1 1 0-5 2.5 2.5 0 0 1 0 5zM4.5 10.5h7",
  person: "M8 8.2a2.8 2.8 0 1 0 0-5.6 2.8 2.8 0 0 0 0 5.6zM2.8 14a5.2 5.2 0 0 1 10.4 0",
  // Voice API (voice.js)
  mic: "M8 2.2a2 2 0 0 1 2 2v3.3a2 2 0 0 1-4 0V4.2a2 2 0 0 1 2-2zM4.3 7.6a3.7 3.7 0 0 0 7.4 0M8 11.3v2.5",
  muted: "M8 2.2a2 2 0 0 1 2 2v3.3a2 2 0 0 1-4 0V4.2a2 2 0 0 1 2-2zM4.3 7.6a3.7 3.7 0 0 0 7.4 0M8 11.3v2.5M2.5 2.5l11 11",
  record: "M8 4a4 4 0 1 0 0 8 4 4 0 0 0 0-8z",
  pause: "M5.5 4v8M10.5 4v8",
  stop: "M4.5 4.5h7v7h-7z",
  listen: "M3 10.5V8a5 5 0 0 1 10 0v2.5M3 10h2.2v3.5H3zM10.8 10H13v3.5h-2.2z",
  whisper: "M2.8 3.5h10.4v6.6H7.3L4.3 12.6v-2.5H2.8z",
  barge: "M2.5 6.3h2.8l4-3v9.4l-4-3H2.5zM11.8 5.3a3.8 3.8 0 0 1 0 5.4",
};

export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.classList.add("icon");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name] || ICONS.offline);
  svg.append(path);
  return svg;
}

// A badge: icon + words, with a class per value for colour.
export function setBadge(el, kind, value, labels) {
  if (el.dataset.value === value) return;
  el.className = `badge ${kind}-${value}`;
  el.dataset.value = value;
  el.replaceChildren(icon(value), document.createTextNode(labels[value] || value));
}

export function parseTime(iso) {
  return iso ? Date.parse(iso) : null;
}

// "0:42", "12:05", "1:02:09"
export function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// Spoken form for screen readers: "1 minute 5 seconds".
export function durationWords(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const part = (n, unit) => (n ? `${n} ${unit}${n === 1 ? "" : "s"}` : "");
  return [part(h, "hour"), part(m, "minute"), part(s, "second")].filter(Boolean).join(" ") || "0 seconds";
}

export function clockTime(iso) {
  const t = parseTime(iso);
  if (t === null) return "";
  return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function dayAndTime(iso) {
  const t = parseTime(iso);
  if (t === null) return "";
  const d = new Date(t);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? `Today ${time}` : `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

// "+14155550123" → "+1 415 555 0123"; other numbers and SIP URIs stay as they are.
export function prettyAddress(address) {
  if (!address) return "";
  const us = /^\+?1(\d{3})(\d{3})(\d{4})$/.exec(address);
  if (us) return `+1 ${us[1]} ${us[2]} ${us[3]}`;
  return address;
}

// Who a member is: the agent's name when the directory knows them, else their address.
export function memberName(member, agents) {
  const agent = member.agent != null ? agents.get(member.agent) : null;
  return agent ? agent.name : prettyAddress(member.address);
}

// Words for a member in a button label: "customer +1 202 555 0143", "agent Bob Smith".
export function memberLabel(member, agents) {
  const role = (ROLES[member.role] || member.role).toLowerCase();
  return `${role} ${memberName(member, agents)}`;
}

export const isLive = (member) => member.state !== "left";

export function initials(name) {
  const words = String(name).replace(/^\+/, "").split(/\s+/).filter(Boolean);
  if (!words.length) return "?";
  if (/^\d/.test(words[0])) return "#";
  return (words[0][0] + (words.length > 1 ? words[words.length - 1][0] : "")).toUpperCase();
}

// What the desk and the wall share: the page's data, the store, the live connection and its
// indicator, the spoken announcements and the one-second clock behind every timer.

import { duration, durationWords, parseTime } from "./format.js";
import { LiveConnection } from "./socket.js";
import { Store } from "./store.js";

function pageData() {
  return JSON.parse(document.getElementById("page-data").textContent);
}

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  connected: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  "signed-out": "Signed out",
  deactivated: "Account disabled",
};

function connectionIndicator(root) {
  const text = root.querySelector(".conn-text");
  const hint = root.querySelector(".conn-hint");
  let countdown = null;
  return (state, detail) => {
    root.dataset.state = state;
    text.textContent = CONNECTION_TEXT[state] || state;
    clearInterval(countdown);
    hint.textContent = "";
    hint.replaceChildren();
    if ((state === "reconnecting" || state === "offline") && detail.retryAt) {
      const tick = () => {
        const left = Math.max(0, Math.ceil((detail.retryAt - Date.now()) / 1000));
        hint.textContent = left > 0 ? `retrying in ${left}s` : "retrying…";
      };
      tick();
      countdown = setInterval(tick, 500);
    } else if (state === "signed-out") {
      const link = document.createElement("a");
      link.href = `/login/?next=${encodeURIComponent(window.location.pathname)}`;
      link.textContent = "Sign in again";
      hint.append(link);
    } else if (state === "deactivated") {
      hint.textContent = "ask a supervisor";
    }
    document.body.classList.toggle("is-disconnected", state !== "connected");
  };
}

// Polite announcements for screen readers (and a visible trail of the last one).
function announcer(region) {
  let clear = null;
  return (text) => {
    if (!text) return;
    region.textContent = "";
    // A fresh text node in a new task makes screen readers speak repeats too.
    setTimeout(() => {
      region.textContent = text;
    }, 30);
    clearTimeout(clear);
    clear = setTimeout(() => {
      region.textContent = "";
    }, 8000);
  };
}

// Every [data-since] shows the time since it (until [data-until] when set), every
// [data-countdown] the time left to it. One timer for the page, not one per element.
export function tickTimers(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll("[data-since]")) {
    const since = parseTime(el.dataset.since);
    if (since === null) continue;
    const until = el.dataset.until ? parseTime(el.dataset.until) : now;
    const text = duration(until - since);
    if (el.textContent !== text) {
      el.textContent = text;
      el.setAttribute("title", durationWords(until - since));
    }
  }
  for (const el of root.querySelectorAll("[data-countdown]")) {
    const text = duration(parseTime(el.dataset.countdown) - now);
    if (el.textContent !== text) el.textContent = text;
  }
}

export function startPage() {
  const data = pageData();
  const store = new Store();
  store.applySnapshot(data.snapshot); // a head start; the socket's snapshot is the truth
  const announce = announcer(document.getElementById("announcer"));
  const onState = connectionIndicator(document.getElementById("connection"));
  const connection = new LiveConnection(data.urls.socket, {
    onMessage: (message) => store.receive(message),
    onState,
  });
  const ctx = {
    store,
    me: data.me ? data.me.id : null,
    isSupervisor: data.is_supervisor,
    pending: new Set(),
    announce,
    transferOpen: false,
  };
  setInterval(() => tickTimers(), 1000);
  return { data, store, ctx, connection, announce };
}

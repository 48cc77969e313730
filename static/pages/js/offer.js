// A call offered to me (docs/routing.md): who is calling and how long they have waited, ticking
// from the call's waiting_since. There is no answer button: the desk dials my phone, and I
// answer there; the card becomes my current call when my leg joins.

import { h, setAttr, setText, show } from "./dom.js";
import { prettyAddress } from "./format.js";

/** The live call offered to agent `me` (waiting, offered_to me), or null. */
export function offeredCall(store, me) {
  return store.liveCalls().find((c) => c.status === "waiting" && c.offered_to === me) || null;
}

export function callerOf(call) {
  const customers = call.members.filter((m) => m.role === "customer" && m.state !== "left");
  return customers.map((m) => prettyAddress(m.address)).join(", ") || "a caller";
}

export function offerPanel(section) {
  const parts = {
    caller: h("span", { class: "addr offer-caller" }),
    wait: h("span", { class: "timer offer-wait", role: "timer", "aria-label": "Time the caller has waited" }),
  };
  section.append(
    h("div", { class: "offer-icon", "aria-hidden": "true" }, "☎"),
    h("div", { class: "offer-body" },
      h("h2", { id: "offer-title", class: "offer-title" }, "Incoming call"),
      h("p", { class: "offer-line" }, "From ", parts.caller, " · waiting ", parts.wait),
      h("p", { class: "offer-hint" }, "Your phone is ringing: answer it there to take the call.")),
  );
  return {
    render(call) {
      show(section, Boolean(call));
      if (!call) return;
      setText(parts.caller, callerOf(call));
      setAttr(parts.wait, "data-since", call.waiting_since || call.started_at);
    },
  };
}

// A call offered to me (docs/routing.md): who is calling, from which queue, how long they have
// waited (ticking from the call's waiting_since) and their earlier calls. There is no answer
// button: the desk dials my phone, and I answer there; the card becomes my current call when my
// leg joins. Decline ends the offer at once (POST /api/me/decline/): the call goes to the next agent.

import { api } from "./api.js";
import { callerContext } from "./context.js";
import { h, setAttr, setText, show } from "./dom.js";
import { prettyAddress } from "./format.js";
import { toast } from "./toasts.js";

/** The live call offered to agent `me` (waiting, offered_to me), or null. */
export function offeredCall(store, me) {
  return store.liveCalls().find((c) => c.status === "waiting" && c.offered_to === me) || null;
}

export function callerOf(call) {
  const customers = call.members.filter((m) => m.role === "customer" && m.state !== "left");
  return customers.map((m) => prettyAddress(m.address)).join(", ") || "a caller";
}

export function offerPanel(section, { store }) {
  const context = callerContext();
  const parts = {
    caller: h("span", { class: "addr offer-caller" }),
    wait: h("span", { class: "timer offer-wait", role: "timer", "aria-label": "Time the caller has waited" }),
    queue: h("span", { class: "offer-queue" }),
    decline: h("button", { type: "button", class: "btn offer-decline", "aria-keyshortcuts": "D" }, "Decline"),
  };
  let declining = false;
  section.append(
    h("div", { class: "offer-main" },
      h("div", { class: "offer-icon", "aria-hidden": "true" }, "☎"),
      h("div", { class: "offer-body" },
        h("h2", { id: "offer-title", class: "offer-title" }, "Incoming call"),
        h("p", { class: "offer-line" }, "From ", parts.caller, " · waiting ", parts.wait, parts.queue),
        h("p", { class: "offer-hint" }, "Your phone is ringing: answer it there to take the call, or decline it.")),
      h("div", { class: "offer-actions" }, parts.decline)),
    context.el,
  );
  parts.decline.addEventListener("click", async () => {
    if (declining) return;
    declining = true;
    parts.decline.disabled = true;
    try {
      store.applyAgent(await api.decline());
      toast("Declined: the call goes to the next agent.", "success");
    } catch (error) {
      toast(`Could not decline the call. ${error.message}`, "error");
    } finally {
      declining = false;
      parts.decline.disabled = false;
    }
  });
  return {
    decline: parts.decline,
    render(call) {
      show(section, Boolean(call));
      if (!call) return;
      setText(parts.caller, callerOf(call));
      setText(parts.queue, call.queue ? ` · ${call.queue} queue` : "");
      setAttr(parts.wait, "data-since", call.waiting_since || call.started_at);
      context.render(call);
    },
  };
}

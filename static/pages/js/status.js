// The desk's own status (docs/routing.md, "Statuses"): what the person chose (available, away,
// offline) kept apart from what the system sets (offered, busy, wrap-up). Off a call the buttons
// set the status now; during a call they set the status that follows it, shown as such; in
// wrap-up they end it now. Buttons, not radios: an arrow key never changes anyone's status.

import { api } from "./api.js";
import { setAttr, setText, show } from "./dom.js";
import { AGENT_STATUSES, setBadge } from "./format.js";
import { tickTimers } from "./page.js";
import { toast } from "./toasts.js";

const ON_A_CALL = new Set(["offered", "busy"]);
const $ = (id) => document.getElementById(id);

export function statusPanel(store, ctx) {
  const badge = $("my-status");
  const since = $("my-status-since");
  const sinceLabel = $("my-status-since-label");
  const note = $("my-status-note");
  const next = $("status-next");
  const legend = $("status-switch-label");
  const group = $("status-switch");
  const buttons = [...group.querySelectorAll("button[data-status]")];
  let inFlight = false;

  async function choose(status) {
    const me = store.agents.get(ctx.me);
    if (inFlight || !me) return;
    inFlight = true;
    render();
    const label = AGENT_STATUSES[status];
    // Away or offline while a call rings ends the offer at once (README, "Pages"): it goes to the next agent.
    const declines = me.status === "offered" && status !== "available";
    const words = declines ? `The ringing call goes to the next agent; your status is now ${label}.`
      : me.status === "busy" ? `You will be ${label} after this call.`
        : me.status === "offered" ? `You stay ${label}: answer your phone to take the ringing call.`
          : `Your status is now ${label}.`;
    try {
      store.applyAgent(await api.setStatus(status));
      toast(words, "success");
    } catch (error) {
      toast(`Could not change your status. ${error.message}`, "error");
    } finally {
      inFlight = false;
      render();
    }
  }
  for (const button of buttons) button.addEventListener("click", () => choose(button.dataset.status));

  function render() {
    const me = store.agents.get(ctx.me);
    if (!me) return;
    setBadge(badge, "status", me.status, AGENT_STATUSES);
    const wrapping = me.status === "wrap_up" && me.wrap_up_until;
    setAttr(since, "data-since", wrapping ? null : me.status_since || me.status_changed_at);
    setAttr(since, "data-countdown", wrapping ? me.wrap_up_until : null);
    setText(sinceLabel, wrapping ? "left of wrap-up" : "in this status");

    const chosen = me.chosen_status || (AGENT_STATUSES[me.status] && !ON_A_CALL.has(me.status) ? me.status : "available");
    // Offered: a status chosen now applies now (away or offline declines the call); busy: after the call.
    const offered = me.status === "offered";
    const onCall = me.status === "busy";
    const chosenLabel = AGENT_STATUSES[chosen] || chosen;
    let words = "";
    if (offered) words = "A call is ringing your phone: answer it to take the call, or decline it.";
    else if (me.status === "busy") words = "You are on a call. Your status follows the call.";
    else if (wrapping) words = `Wrapping up the last call; then you are ${chosenLabel}. Choose a status to end wrap-up now.`;
    else if (me.status_reason === "missed call") {
      words = "You missed a call, so you are Away and get no calls. Choose Available when you are ready.";
    } else if (me.status_reason) words = `Set by the desk: ${me.status_reason}.`;
    setText(note, words);
    show(note, Boolean(words));
    note.classList.toggle("is-warning", me.status_reason === "missed call");

    setText(legend, onCall ? "After this call" : wrapping ? "When wrap-up ends" : "Set your status");
    setText(next, onCall || wrapping ? `Next: ${chosenLabel} after ${onCall ? "this call" : "wrap-up"}` : "");
    show(next, onCall || Boolean(wrapping));
    for (const button of buttons) {
      // The button shows what the person chose; while on a call that is what comes next.
      setAttr(button, "aria-pressed", button.dataset.status === chosen ? "true" : "false");
      const label = AGENT_STATUSES[button.dataset.status];
      const declines = offered && button.dataset.status !== "available";
      setAttr(button, "aria-label", onCall ? `${label} after this call` : declines ? `${label} (declines the ringing call)` : null);
      setAttr(button, "title", declines ? "Declines the ringing call: it goes to the next agent" : null);
    }
    // The queues whose calls I take (docs/routing.md): my skills, or every queue with none.
    const skills = $("my-skills");
    if (Array.isArray(me.skills)) {
      setText(skills, me.skills.length
        ? `Your queues: ${me.skills.map((s) => `${s.queue} (level ${s.level})`).join(", ")}`
        : "You take calls of every queue.");
    }
    show(skills, Array.isArray(me.skills));
    setAttr(group, "aria-busy", inFlight ? "true" : "false");
    tickTimers($("status-card"));
  }

  return { render };
}

// Who is calling, before and during the call (README, "Pages"): the customer's last
// calls with the same number (the call's `customer_history`, newest first), each with when, how
// it ended, its queue, disposition, notes and agents, and a link to its timeline.

import { h, setText, show } from "./dom.js";
import { OUTCOMES, dayAndTime } from "./format.js";

/** A panel for one call's caller context; `render(call)` keeps it up to date. */
export function callerContext({ headingLevel = "h3" } = {}) {
  const heading = h(headingLevel, { class: "context-title" }, "Earlier calls from this number");
  const list = h("ol", { class: "context-list" });
  const empty = h("p", { class: "context-empty muted" });
  const el = h("section", { class: "caller-context" }, heading, list, empty);
  let shownKey = null;
  return {
    el,
    render(call) {
      const history = call ? call.customer_history : null;
      const key = JSON.stringify(history);
      if (key === shownKey) return;
      shownKey = key;
      // null: not read yet (the customer has just joined); [] : a first call.
      show(el, Array.isArray(history));
      if (!Array.isArray(history)) return;
      setText(empty, history.length ? "" : "No earlier calls from this number.");
      show(empty, !history.length);
      list.replaceChildren(...history.map(earlierCall));
    },
  };
}

function earlierCall(past) {
  const facts = [
    OUTCOMES[past.outcome] || past.outcome || "",
    past.queue ? `${past.queue} queue` : "",
    past.disposition || "",
    past.agents && past.agents.length ? `with ${past.agents.join(", ")}` : "",
  ].filter(Boolean);
  return h("li", { class: "context-call" },
    h("a", { href: `/history/${past.id}/`, class: "context-when", title: `Timeline of call ${past.id}` },
      h("time", { datetime: past.ended_at }, dayAndTime(past.ended_at))),
    h("span", { class: "context-facts" }, facts.join(" · ")),
    past.notes ? h("q", { class: "context-notes" }, past.notes) : null);
}

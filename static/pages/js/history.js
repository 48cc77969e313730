// The call history (/history/): the API's search and filters (docs/history.md), newest first, a
// page at a time; each call opens its timeline. The search lives in the address bar, so a
// search can be bookmarked, shared and gone back to.

import { api } from "./api.js";
import { h, setText, show } from "./dom.js";
import { prettyAddress } from "./format.js";
import { dateAndTime, seconds } from "./localize.js";
import { toast } from "./toasts.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const OUTCOMES = data.vocabulary.outcomes;
const names = new Map(data.agents.map((agent) => [agent.id, agent.name]));
const $ = (id) => document.getElementById(id);

const form = $("history-search");
const rows = $("history-rows");
const more = $("history-more");
const errorBox = $("history-error");
const exportLink = $("history-export"); // supervisors only
const FILTERS = ["q", "agent", "since", "until", "outcome", "disposition"];

let next = null; // the cursor of the page after the last one shown
let shown = 0;
let loading = false;

// --- the search: form ↔ address bar ↔ API -----------------------------------------------------------

function searchFromForm() {
  const search = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    if (value) search.set(name, value);
  }
  return search;
}

function fillForm(search) {
  for (const name of FILTERS) form.elements[name].value = search.get(name) || "";
}

// A date picked in the form is a day where the reader is: from its local midnight to the next one.
function localDay(day, plusDays) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

function apiQuery(search) {
  const query = new URLSearchParams(search);
  if (search.get("since")) query.set("since", localDay(search.get("since"), 0));
  if (search.get("until")) query.set("until", localDay(search.get("until"), 1));
  return query;
}

// --- the rows ----------------------------------------------------------------------------------------------

function unique(values) {
  return [...new Set(values)];
}

function outcomeWords(call) {
  const words = [OUTCOMES[call.outcome] || "Not decided"];
  if (call.was_transferred) words.push("transferred");
  if (call.missed_offers) words.push(`missed ${call.missed_offers}×`);
  return words.join(" · ");
}

// Only a person with a desk (a phone of their own) can call back: the desk rings them first.
const CAN_CALL = Boolean(data.me);
const ADDRESS = data.rules && data.rules.address_pattern ? new RegExp(data.rules.address_pattern) : null;

async function callBack(address, button) {
  button.disabled = true;
  try {
    await api.startCall(address);
    toast(`Calling ${prettyAddress(address)}: your phone rings first; the call is on your desk.`, "success");
  } catch (error) {
    toast(`Could not call ${prettyAddress(address)} back. ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

function callBackCell(call) {
  const customer = call.members.find((m) => m.role === "customer" && (!ADDRESS || ADDRESS.test(m.address)));
  if (!customer) return h("td", { class: "history-call-back" });
  const button = h("button", {
    type: "button", class: "btn btn-small", "aria-label": `Call back ${prettyAddress(customer.address)}`,
  }, "Call back");
  button.addEventListener("click", () => callBack(customer.address, button));
  return h("td", { class: "history-call-back" }, button);
}

function row(call) {
  const customers = unique(call.members.filter((m) => m.role === "customer").map((m) => prettyAddress(m.address)));
  const agents = unique(
    call.members
      .filter((m) => m.role === "agent" || m.role === "supervisor")
      .map((m) => (m.agent !== null && names.get(m.agent)) || prettyAddress(m.address)),
  );
  const who = customers.join(", ") || "Internal call";
  // The list is in the order calls ended: the time shown is that one. Each cell carries its column's
  // name, which a phone shows beside it when the table becomes cards (history.css).
  return h("tr", { dataset: { callId: call.id } },
    h("td", { class: "history-when", dataset: { label: "Ended" } },
      h("time", { datetime: call.ended_at, title: `Started ${dateAndTime(call.started_at)}` }, dateAndTime(call.ended_at))),
    h("th", { scope: "row", class: "history-who" },
      h("a", { href: `/history/${call.id}/`, title: `Timeline of call ${call.id}` }, who)),
    h("td", { dataset: { label: "Agents" } }, agents.join(", ") || "—"),
    h("td", { dataset: { label: "Outcome" } }, outcomeWords(call)),
    h("td", { class: "num", dataset: { label: "Wait" } }, seconds(call.wait_seconds)),
    h("td", { class: "num", dataset: { label: "Talk" } }, seconds(call.talk_seconds)),
    h("td", { dataset: { label: "Disposition" } }, call.disposition || h("span", { class: "muted" }, "None")),
    CAN_CALL ? callBackCell(call) : null);
}

function renderCount() {
  if (!shown) setText($("results-count"), "");
  else setText($("results-count"), `${shown} call${shown === 1 ? "" : "s"}${next ? ", more below" : ""}`);
}

// --- loading -----------------------------------------------------------------------------------------------

async function load(search, { append = false } = {}) {
  if (loading) return;
  loading = true;
  show(errorBox, false);
  form.setAttribute("aria-busy", "true");
  more.disabled = true;
  const query = apiQuery(search);
  if (append && next) query.set("cursor", next);
  try {
    const page = await api.history(query);
    const added = page.calls.map(row);
    if (append) rows.append(...added);
    else rows.replaceChildren(...added);
    shown = append ? shown + added.length : added.length;
    next = page.next;
    show($("history-empty"), shown === 0);
    show(more, Boolean(next));
    renderCount();
    if (append && added.length) added[0].querySelector("a").focus(); // the first new call, for the keyboard
  } catch (error) {
    // Rows of an earlier search under an error would read as this search's answer: they go.
    if (!append) {
      rows.replaceChildren();
      shown = 0;
      next = null;
      show(more, false);
      show($("history-empty"), false);
      renderCount();
    }
    // A search refused as asked: the field's own sentence ("Type at least 4 digits…").
    const field = error.status === 400 && Object.values(error.body).find((v) => Array.isArray(v) && v.length);
    errorBox.textContent = field ? field.join(" ") : `The history could not be loaded. ${error.message}`;
    show(errorBox, true);
  } finally {
    loading = false;
    more.disabled = false;
    form.removeAttribute("aria-busy");
  }
  if (exportLink) exportLink.href = `${data.urls.export}?${apiQuery(search)}`;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const search = searchFromForm();
  if (search.toString() !== window.location.search.slice(1)) {
    window.history.pushState(null, "", search.toString() ? `?${search}` : window.location.pathname);
  }
  load(search);
});

form.addEventListener("reset", () => {
  // After the browser has emptied the fields: every call again.
  setTimeout(() => form.requestSubmit(), 0);
});

more.addEventListener("click", () => load(new URLSearchParams(window.location.search), { append: true }));

window.addEventListener("popstate", () => {
  const search = new URLSearchParams(window.location.search);
  fillForm(search);
  load(search);
});

const initial = new URLSearchParams(window.location.search);
fillForm(initial);
load(initial);

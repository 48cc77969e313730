// Wrap-up on the desk (docs/history.md, "Wrap-up"): while the agent is in wrap-up, the call they
// just left with their own disposition and notes (README, "Pages": each person's own; a colleague's
// never shown here or overwritten). "Save" keeps the wrap-up running; "Done" saves and ends it now.
//
// Nothing typed is lost: every keystroke is kept as a draft in this browser (a reload restores it),
// the time left is shown and a warning comes before it ends, typing near the end adds time by
// itself (POST /api/me/wrap-up/extend/), and whatever is unsaved when wrap-up ends, or when the
// page goes away, is saved then.

import { api } from "./api.js";
import { callTitle } from "./callcard.js";
import { h, setAttr, setText, show } from "./dom.js";
import { clockTime, isLive, parseTime } from "./format.js";

const WARN_SECONDS = 10; // the warning shows this long before wrap-up ends
const TYPING_SECONDS = 5; // a keystroke this recent counts as still typing
const draftKey = (callId, me) => `desk.wrap-up-draft.${me}.${callId}`;

// root: the empty <section> of templates/pages/agent.html; required: DISPOSITION_REQUIRED.
export function startWrapUp({ store, ctx, root, required }) {
  let call = null; // the call the agent left last, once known
  let dispositions = null;
  let fetching = false;
  let saving = false;
  let lastKeystroke = 0;
  let extending = false;
  let wasWrapping = false;

  const ids = { select: "wrap-up-disposition", notes: "wrap-up-notes", title: "wrap-up-title" };
  const parts = {
    about: h("p", { class: "wrap-up-about" }),
    left: h("span", { class: "timer" }),
    leftLabel: h("span", { class: "muted" }, " left"),
    warning: h("p", { class: "wrap-up-warning", role: "alert", hidden: true }),
    extend: h("button", { type: "button", class: "btn btn-small" }, "More time"),
    select: h("select", { id: ids.select, class: "input", required: required || undefined }),
    notes: h("textarea", { id: ids.notes, class: "input", rows: 3, maxlength: 5000 }),
    save: h("button", { type: "submit", class: "btn", value: "save" }, "Save"),
    done: h("button", { type: "submit", class: "btn btn-primary", value: "done" }, "Done: save and finish wrap-up"),
    saved: h("p", { class: "wrap-up-saved", role: "status" }),
    error: h("p", { class: "inline-error", role: "alert", hidden: true }),
  };
  const form = h("form", { class: "wrap-up-form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: ids.select }, required ? "Disposition (required)" : "Disposition"),
      parts.select),
    h("div", { class: "field wrap-up-notes" }, h("label", { for: ids.notes }, "Your notes"), parts.notes),
    h("div", { class: "wrap-up-actions" }, parts.save, parts.done),
    parts.saved, parts.error);
  root.setAttribute("aria-labelledby", ids.title);
  root.replaceChildren(
    h("div", { class: "section-head" }, h("h2", { id: ids.title, class: "panel-title" }, "Wrap-up"),
      h("span", { class: "wrap-up-left" }, parts.left, parts.leftLabel), parts.extend),
    parts.about,
    parts.warning,
    h("p", { class: "wrap-up-rule muted" }, required
      ? "Choose a disposition before you take the next call. What you type is kept, even if time runs out."
      : "Choose what the call was about; Done ends your wrap-up now. What you type is kept, even if time runs out."),
    form);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save(event.submitter && event.submitter.value === "done");
  });
  parts.extend.addEventListener("click", () => extend("asked"));
  for (const field of [parts.notes, parts.select]) {
    field.addEventListener("input", () => {
      lastKeystroke = Date.now();
      keepDraft();
      setText(parts.saved, "");
    });
  }
  // Closing the tab or reloading mid-sentence: what is unsaved goes to the server on the way out.
  window.addEventListener("pagehide", () => {
    if (call && unsaved()) api.wrapUpOnLeave(call.id, typed());
  });

  function mine(candidate) {
    return (candidate.wrap_ups || []).find((w) => w.agent === ctx.me) || null;
  }

  // The call this wrap-up is about: the newest one the agent is on no longer.
  function leftByMe(candidate) {
    const legs = candidate.members.filter((m) => m.agent === ctx.me);
    return legs.length > 0 && !legs.some(isLive);
  }

  function typed() {
    const body = { notes: parts.notes.value };
    if (parts.select.value) body.disposition = parts.select.value;
    return body;
  }

  function unsaved() {
    const own = mine(call) || { notes: "", disposition: null };
    return parts.notes.value !== (own.notes || "") || (parts.select.value || null) !== (own.disposition || null);
  }

  function keepDraft() {
    if (!call) return;
    try {
      localStorage.setItem(draftKey(call.id, ctx.me), JSON.stringify(typed()));
    } catch {
      // storage full or refused: the server save on the way out still keeps it
    }
  }

  function readDraft(callId) {
    try {
      return JSON.parse(localStorage.getItem(draftKey(callId, ctx.me)) || "null");
    } catch {
      return null;
    }
  }

  function dropDraft(callId) {
    try {
      localStorage.removeItem(draftKey(callId, ctx.me));
    } catch {
      // nothing kept
    }
  }

  // A call to wrap up: the form shows the draft typed for it, else what this agent saved.
  function showCall(found) {
    call = found;
    const own = mine(call) || {};
    const draft = readDraft(call.id);
    parts.notes.value = draft ? draft.notes || "" : own.notes || "";
    parts.select.dataset.chosen = (draft ? draft.disposition : own.disposition) || "";
    setText(parts.saved, "");
    if (dispositions) fillSelect();
  }

  async function findCall() {
    const left = store.liveCalls().filter(leftByMe);
    if (left.length) {
      showCall(left[left.length - 1]);
      return;
    }
    fetching = true;
    try {
      const page = await api.history(new URLSearchParams({ agent: ctx.me, limit: 1 }));
      if (!call && page.calls[0]) showCall(page.calls[0]);
    } catch (error) {
      showError(`Your last call could not be loaded. ${error.message}`);
    } finally {
      fetching = false;
    }
  }

  async function loadDispositions() {
    dispositions = [];
    try {
      dispositions = await api.dispositions();
    } catch (error) {
      showError(`The dispositions could not be loaded. ${error.message}`);
    }
    fillSelect();
  }

  function fillSelect() {
    const chosen = parts.select.value || parts.select.dataset.chosen || "";
    const names = dispositions.map((d) => d.name);
    if (chosen && !names.includes(chosen)) names.push(chosen); // retired since it was saved
    parts.select.replaceChildren(
      h("option", { value: "" }, "Choose…"),
      ...names.map((name) => h("option", { value: name, selected: name === chosen }, name)),
    );
  }

  function showError(text) {
    setText(parts.error, text);
    show(parts.error, Boolean(text));
  }

  async function save(done, { quiet = false } = {}) {
    if (saving || !call) return;
    const body = typed();
    if (required && !body.disposition && !quiet) {
      showError("Choose a disposition first: one is required for every call.");
      parts.select.focus();
      return;
    }
    saving = true;
    showError("");
    parts.save.disabled = parts.done.disabled = true;
    const callId = call.id;
    try {
      const saved = await api.wrapUp(callId, { ...body, done });
      if (call && call.id === saved.id) call = saved;
      if (JSON.stringify(readDraft(callId)) === JSON.stringify(body)) dropDraft(callId);
      const said = body.disposition ? `Saved: ${body.disposition}.` : "Notes saved.";
      setText(parts.saved, done ? `${said} Wrap-up finished.` : said);
      if (!quiet) ctx.announce(done ? "Wrap-up finished." : "Wrap-up saved.");
    } catch (error) {
      showError(`Could not save the wrap-up; your text is kept here. ${error.message}`);
    } finally {
      saving = false;
      parts.save.disabled = parts.done.disabled = false;
    }
  }

  async function extend(why) {
    if (extending) return;
    extending = true;
    try {
      await api.extendWrapUp();
      if (why === "asked") ctx.announce("Wrap-up extended.");
    } catch (error) {
      if (why === "asked") showError(`Could not extend the wrap-up. ${error.message}`);
    } finally {
      extending = false;
    }
  }

  function secondsLeft(me) {
    const until = me && me.wrap_up_until ? parseTime(me.wrap_up_until) : null;
    return until === null ? null : (until - Date.now()) / 1000;
  }

  // Every second: the warning near the end, and more time by itself while the person types.
  function tick() {
    const me = store.agents.get(ctx.me);
    if (!me || me.status !== "wrap_up") return;
    const left = secondsLeft(me);
    if (left === null) return;
    const typing = Date.now() - lastKeystroke < TYPING_SECONDS * 1000;
    if (left <= WARN_SECONDS && typing) extend("typing");
    const warn = left <= WARN_SECONDS && !typing;
    if (warn && parts.warning.hidden) {
      setText(parts.warning, "Wrap-up ends in a few seconds. Choose More time to keep writing; what you typed is saved either way.");
    }
    show(parts.warning, warn);
    root.classList.toggle("is-ending", warn);
  }
  setInterval(tick, 1000);

  // The call ended under the keyboard (the hang-up button went with its card): the focus goes to
  // the wrap-up form, what comes next, never to the page's body. Anyone focused elsewhere keeps it.
  let focusWanted = false;
  function focusIfLost() {
    focusWanted = true;
    setTimeout(() => {
      const lost = !document.activeElement || document.activeElement === document.body || !document.activeElement.isConnected;
      if (!lost) focusWanted = false;
      else if (!root.hidden) {
        focusWanted = false;
        parts.select.focus();
      }
    }, 0);
  }

  function render() {
    const me = store.agents.get(ctx.me);
    const wrapping = Boolean(me && me.status === "wrap_up");
    if (wasWrapping && !wrapping && call && unsaved()) save(false, { quiet: true }); // the time ran out
    const began = wrapping && !wasWrapping;
    wasWrapping = wrapping;
    show(root, wrapping);
    if (began && focusWanted) focusIfLost();
    if (!wrapping) {
      setText(parts.saved, "");
      showError("");
      show(parts.warning, false);
      return;
    }
    setAttr(parts.left, "data-countdown", me.wrap_up_until || null);
    show(parts.extend, Boolean(me.wrap_up_until));
    if (!call && !fetching) findCall().then(render);
    if (dispositions === null) loadDispositions();
    setText(parts.about, call
      ? `Your call with ${callTitle(call, store.agents)}${call.ended_at ? `, ended ${clockTime(call.ended_at)}` : ""}.`
      : "Finding your last call…");
  }

  store.subscribe((change) => {
    if (change.type === "call" && leftByMe(change.call)) {
      if (!call || call.id !== change.call.id) showCall(change.call);
      else call = change.call;
    }
    if (change.type !== "agent" || change.agent.id === ctx.me) render();
  });
  render();
  return { focusIfLost };
}

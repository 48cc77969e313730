// Wrap-up on the desk (docs/history.md): while the agent is in wrap-up, the call they just left with
// its disposition and notes. "Save" keeps the wrap-up running; "Done" saves and ends it now. When a
// disposition is required, the agent cannot become available until one is saved.

import { api } from "./api.js";
import { callTitle } from "./callcard.js";
import { h, setText, show } from "./dom.js";
import { clockTime, isLive } from "./format.js";

// root: the empty <section> of templates/pages/agent.html; required: DISPOSITION_REQUIRED.
export function startWrapUp({ store, ctx, root, required }) {
  let call = null; // the call the agent left last, once known
  let dispositions = null;
  let fetching = false;
  let saving = false;

  const ids = { select: "wrap-up-disposition", notes: "wrap-up-notes", title: "wrap-up-title" };
  const parts = {
    about: h("p", { class: "wrap-up-about" }),
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
    h("div", { class: "field wrap-up-notes" }, h("label", { for: ids.notes }, "Notes"), parts.notes),
    h("div", { class: "wrap-up-actions" }, parts.save, parts.done),
    parts.saved, parts.error);
  root.setAttribute("aria-labelledby", ids.title);
  root.replaceChildren(
    h("div", { class: "section-head" }, h("h2", { id: ids.title, class: "panel-title" }, "Wrap-up")),
    parts.about,
    h("p", { class: "wrap-up-rule muted" }, required
      ? "Choose a disposition before you take the next call."
      : "Choose what the call was about; Done ends your wrap-up now."),
    form);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save(event.submitter && event.submitter.value === "done");
  });

  // The call this wrap-up is about: the newest one the agent is on no longer.
  function leftByMe(candidate) {
    const mine = candidate.members.filter((m) => m.agent === ctx.me);
    return mine.length > 0 && !mine.some(isLive);
  }

  async function findCall() {
    const left = store.liveCalls().filter(leftByMe);
    if (left.length) {
      call = left[left.length - 1];
      return;
    }
    fetching = true;
    try {
      const page = await api.history(new URLSearchParams({ agent: ctx.me, limit: 1 }));
      call = call || page.calls[0] || null;
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
    const chosen = parts.select.value || (call && call.disposition) || "";
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

  async function save(done) {
    if (saving || !call) return;
    const disposition = parts.select.value;
    if (required && !disposition) {
      showError("Choose a disposition first: one is required for every call.");
      parts.select.focus();
      return;
    }
    saving = true;
    showError("");
    parts.save.disabled = parts.done.disabled = true;
    try {
      const body = { notes: parts.notes.value, done };
      if (disposition) body.disposition = disposition;
      call = await api.wrapUp(call.id, body);
      const said = call.disposition ? `Saved: ${call.disposition}.` : "Notes saved.";
      setText(parts.saved, done ? `${said} Wrap-up finished.` : said);
      ctx.announce(done ? "Wrap-up finished." : "Wrap-up saved.");
    } catch (error) {
      showError(`Could not save the wrap-up. ${error.message}`);
    } finally {
      saving = false;
      parts.save.disabled = parts.done.disabled = false;
    }
  }

  function render() {
    const me = store.agents.get(ctx.me);
    const wrapping = Boolean(me && me.status === "wrap_up");
    show(root, wrapping);
    if (!wrapping) {
      setText(parts.saved, "");
      showError("");
      return;
    }
    if (!call && !fetching) findCall().then(render);
    if (dispositions === null) loadDispositions();
    setText(parts.about, call
      ? `Your call with ${callTitle(call, store.agents)}${call.ended_at ? `, ended ${clockTime(call.ended_at)}` : ""}.`
      : "Finding your last call…");
  }

  store.subscribe((change) => {
    if (change.type === "call" && leftByMe(change.call)) {
      const fresh = !call || call.id !== change.call.id;
      call = change.call;
      if (fresh) {
        parts.notes.value = call.notes || "";
        parts.select.value = "";
        setText(parts.saved, "");
        if (dispositions) fillSelect();
      }
    }
    if (change.type !== "agent" || change.agent.id === ctx.me) render();
  });
  render();
}

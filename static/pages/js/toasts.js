// Visible messages for what an action did: a success fades after a few seconds, a failure stays
// until it is dismissed. Successes are spoken politely, failures as alerts; both can be read and
// dismissed with the keyboard. Text only (textContent), never HTML.

import { h } from "./dom.js";

const SUCCESS_MS = 6000;
const KEPT = 4; // the newest few; older ones make room

let region = null;

function toastRegion() {
  if (region && region.isConnected) return region;
  region = h("section", { class: "toasts", "aria-label": "Messages" },
    h("div", { class: "toast-stack", "aria-live": "polite", "aria-relevant": "additions" }));
  document.body.append(region);
  return region;
}

/** kind: "success" | "error" | "info". Returns the toast element. */
export function toast(text, kind = "success") {
  const stack = toastRegion().firstElementChild;
  const close = h("button", { type: "button", class: "btn btn-small btn-quiet toast-close", "aria-label": "Dismiss message" }, "Dismiss");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", { class: "toast-mark", "aria-hidden": "true" }, kind === "error" ? "!" : kind === "success" ? "✓" : "i"),
    h("p", { class: "toast-text" }, text),
    close);
  const dismiss = () => {
    const focused = item.contains(document.activeElement);
    item.remove();
    if (focused) document.getElementById("main")?.focus();
  };
  close.addEventListener("click", dismiss);
  stack.append(item);
  while (stack.children.length > KEPT) stack.firstElementChild.remove();
  if (kind !== "error") {
    // Kept while the pointer or the focus is on it, so it can be read.
    let timer = null;
    const arm = () => { timer = setTimeout(dismiss, SUCCESS_MS); };
    item.addEventListener("mouseenter", () => clearTimeout(timer));
    item.addEventListener("focusin", () => clearTimeout(timer));
    item.addEventListener("mouseleave", arm);
    arm();
  }
  return item;
}

// Visible messages for what an action did: one at a time (the newest replaces the last), a success
// fades after a few seconds, a failure stays until it is dismissed or replaced. It sits in a corner
// (or the middle of an edge) of the window that holds no control, timer or the wall's agent board at
// that moment (looked at again while it shows, as the page changes under it). Successes are spoken politely, failures as
// alerts; both can be read and dismissed with the keyboard. Text only (textContent), never HTML.

import { h } from "./dom.js";

export const SUCCESS_MS = 3500;
const PLACE_EVERY_MS = 500;
// Where a message may sit, in the order tried: the window's corners, then the middle of its top and
// bottom edges (over the top bar's free middle, on a page whose corners all hold controls).
const CORNERS = ["bottom-right", "bottom-left", "top-right", "top-left", "top-center", "bottom-center"];
// What a message must never cover: anything one clicks, types in or reads the time from.
const KEEP_CLEAR = "button, a[href], input, select, textarea, summary, .timer, .badge, #agent-board";

let region = null;
let placing = null;

function toastRegion() {
  if (region && region.isConnected) return region;
  region = h("section", { class: "toasts", "aria-label": "Messages", dataset: { corner: CORNERS[0] } },
    h("div", { class: "toast-stack", "aria-live": "polite", "aria-relevant": "additions" }));
  document.body.append(region);
  return region;
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

// On the screen: laid out, not hidden, not inside a closed <details> (checkVisibility where the
// browser has it).
function shown(el) {
  if (el.checkVisibility) return el.checkVisibility({ visibilityProperty: true });
  return el.getClientRects().length > 0;
}

function covered(box, clear) {
  let count = 0;
  for (const el of clear) {
    if (region.contains(el) || !shown(el)) continue;
    if (overlaps(box, el.getBoundingClientRect())) count += 1;
  }
  return count;
}

/** The first place where the message covers nothing one uses; else where it covers the least. */
export function placeToasts() {
  if (!region || !region.firstElementChild.children.length) return;
  const clear = document.querySelectorAll(KEEP_CLEAR);
  let best = null;
  for (const corner of CORNERS) {
    region.dataset.corner = corner;
    const count = covered(region.getBoundingClientRect(), clear);
    if (count === 0) return;
    if (!best || count < best.count) best = { corner, count };
  }
  region.dataset.corner = best.corner;
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
    if (!stack.children.length) {
      clearInterval(placing);
      placing = null;
    }
    if (focused) document.getElementById("main")?.focus();
  };
  close.addEventListener("click", dismiss);
  const previous = [...stack.children];
  const hadFocus = previous.some((old) => old.contains(document.activeElement));
  for (const old of previous) old.remove(); // one at a time: the newest says what just happened
  stack.append(item);
  if (hadFocus) close.focus();
  placeToasts();
  if (!placing) placing = setInterval(placeToasts, PLACE_EVERY_MS);
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

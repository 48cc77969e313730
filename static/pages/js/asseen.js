// Buttons act on what the person saw. A live change (another tab, a supervisor) can flip a
// toggle's label just as it is clicked; a click that lands within half a second of the flip is
// ignored and the button says so, so nobody does the opposite of what they meant. The request
// also carries the state as shown, and the server refuses it (409) if that no longer holds.

export const SETTLE_MS = 500;

/** Mark `button`'s label as just changed (call it when a live update flips it). */
export function labelChanged(button) {
  button.dataset.flippedAt = String(performance.now());
  button.classList.add("just-changed");
  clearTimeout(button.settleTimer);
  button.settleTimer = setTimeout(() => button.classList.remove("just-changed"), SETTLE_MS);
}

/** Whether a click on `button` may act: not while its label is fresher than SETTLE_MS. */
export function guardFlip(button) {
  const flippedAt = Number(button.dataset.flippedAt || -Infinity);
  if (performance.now() - flippedAt >= SETTLE_MS) return true;
  button.dataset.ignoredAt = String(performance.now());
  return false;
}

// How the wall is laid out, as each supervisor prefers it (kept in this browser): calls as cards
// or as a compact list for a dense center, and the live counters shown or folded away.

const VIEW_KEY = "wall.view";
const COUNTERS_KEY = "wall.counters";

export function wallView({ calls, counters, toggle, viewButtons }) {
  function setView(view) {
    localStorage.setItem(VIEW_KEY, view);
    calls.classList.toggle("is-list", view === "list");
    for (const button of viewButtons) button.setAttribute("aria-pressed", String(button.dataset.view === view));
  }
  function setCounters(shown) {
    localStorage.setItem(COUNTERS_KEY, shown ? "shown" : "hidden");
    counters.hidden = !shown;
    toggle.setAttribute("aria-expanded", String(shown));
    toggle.textContent = shown ? "Hide live counters" : "Show live counters";
  }
  for (const button of viewButtons) button.addEventListener("click", () => setView(button.dataset.view));
  toggle.addEventListener("click", () => setCounters(counters.hidden));
  setView(localStorage.getItem(VIEW_KEY) === "list" ? "list" : "cards");
  setCounters(localStorage.getItem(COUNTERS_KEY) !== "hidden");
}

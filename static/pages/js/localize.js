// The history pages' times and numbers in the reader's own terms: the server writes UTC times and
// raw addresses (templates/pages/timeline.html); here they become local times, "+1 415 555 0143"
// and "4:05", formatted as on every other page (format.js).

import { duration, durationWords, parseTime, prettyAddress } from "./format.js";

// "Nov 30, 2026, 10:32 AM": a finished call may be from any day, of any year.
export function dateAndTime(iso) {
  const t = parseTime(iso);
  if (t === null) return "";
  return new Date(t).toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

// "10:32:05": events of one call, seconds apart.
export function timeWithSeconds(iso) {
  const t = parseTime(iso);
  if (t === null) return "";
  return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// A length in seconds as the desk shows one ("4:05"), spoken in words.
export function seconds(value) {
  return value === null || value === undefined ? "—" : duration(value * 1000);
}

export function localize(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    el.textContent = el.dataset.format === "day" ? dateAndTime(el.dateTime) : timeWithSeconds(el.dateTime);
    el.title = new Date(parseTime(el.dateTime)).toLocaleString();
  }
  for (const el of root.querySelectorAll("[data-seconds]")) {
    const value = Number(el.dataset.seconds);
    el.textContent = seconds(value);
    el.title = durationWords(value * 1000);
  }
  for (const el of root.querySelectorAll(".address[data-address]")) {
    el.textContent = prettyAddress(el.dataset.address);
  }
}

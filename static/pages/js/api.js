// The HTTP API (README "The HTTP API") from the browser: session cookie + CSRF header, errors in plain words.

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body || {};
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// What went wrong, for a person: the server's "detail", which says it in a sentence (Plivo's own
// words stay in the response's "error" and the server's log: calls/actions/words.py).
function describe(status, body) {
  const detail = body && typeof body.detail === "string" ? body.detail.trim() : "";
  if (status === 0) return "Could not reach the server. Check your connection and try again.";
  if (status === 401) return "Your session has ended. Sign in again to continue.";
  if (status === 502) return detail || "Plivo refused the request; nothing was changed.";
  if (status === 504) return detail || "Plivo did not answer in time. Nothing was changed; try again.";
  if (detail) return detail;
  if (body && typeof body === "object") {
    const fields = Object.entries(body)
      .filter(([, v]) => Array.isArray(v))
      .map(([k, v]) => `${k === "non_field_errors" ? "" : `${k}: `}${v.join(" ")}`);
    if (fields.length) return fields.join(" ");
  }
  if (status >= 500) return `The server had a problem (${status}). Try again in a moment.`;
  return `The request was refused (${status}).`;
}

// The answer's JSON and headers (the history's next page is in its Link header).
async function exchange(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, null);
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: "" };
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, headers: response.headers };
}

async function request(method, path, body) {
  return (await exchange(method, path, body)).data;
}

// The cursor of the page after this one, from `Link: <…?cursor=…>; rel="next"` (docs/history.md).
function nextCursor(headers) {
  const link = /<([^>]*)>\s*;\s*rel="next"/.exec(headers.get("Link") || "");
  return link ? new URL(link[1], window.location.href).searchParams.get("cursor") : null;
}

const enc = encodeURIComponent;

export const api = {
  me: () => request("GET", "/api/me/"),
  setStatus: (status) => request("PATCH", "/api/me/", { status }),
  decline: () => request("POST", "/api/me/decline/"),
  // Calling out (README, "Pages"): runs the default PHLO from my address to `to`.
  startCall: (to) => request("POST", "/api/calls/", { to }),
  agents: () => request("GET", "/api/agents/"),
  endedCalls: () => request("GET", "/api/calls/?status=ended"),
  // `expectedState`: the member's state as the person saw it; the server answers 409 if it changed.
  memberAction: (callId, memberId, action, expectedState) =>
    request("POST", `/api/calls/${enc(callId)}/members/${enc(memberId)}/${action}/`,
      expectedState ? { expected_state: expectedState } : undefined),
  callAction: (callId, action, to, role = "agent") =>
    request("POST", `/api/calls/${enc(callId)}/${action}/`, { to, role }),
  completeTransfer: (callId) => request("POST", `/api/calls/${enc(callId)}/complete-transfer/`),
  monitor: (callId, mode) => request("POST", `/api/calls/${enc(callId)}/monitor/`, { mode }),
  stopMonitor: (callId) => request("POST", `/api/calls/${enc(callId)}/monitor/stop/`),
  recording: (callId, step) => request("POST", `/api/calls/${enc(callId)}/recording/${step}/`),
  // After the call (docs/history.md): `query` is a URLSearchParams of the history's filters.
  history: async (query) => {
    const { data, headers } = await exchange("GET", `/api/calls/?status=ended&${query}`);
    return { calls: data, next: nextCursor(headers) };
  },
  dispositions: () => request("GET", "/api/dispositions/"),
  // The reports (docs/reports.md): `query` is a URLSearchParams of the report's choices.
  report: (query) => request("GET", `/api/reports/intervals/?${query}`),
  wrapUp: (callId, body) => request("PATCH", `/api/calls/${enc(callId)}/wrap-up/`, body),
  extendWrapUp: () => request("POST", "/api/me/wrap-up/extend/"),
  // The page is going away: the request outlives it (fetch's keepalive), nobody reads the answer.
  wrapUpOnLeave: (callId, body) => fetch(`/api/calls/${enc(callId)}/wrap-up/`, {
    method: "PATCH", keepalive: true, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() }, body: JSON.stringify(body),
  }).catch(() => {}),
};

// The dashboard socket (README "Live updates"), kept honest:
// - reconnects by itself with exponential backoff and jitter, so a restarted server is not
//   stampeded by every desk at once;
// - a new socket starts with a snapshot; a gap in `seq` asks for one ({"type": "resync"});
// - says which state it is in (connecting / connected / reconnecting / offline / signed-out).

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_DEACTIVATED = 4403;

export class LiveConnection {
  constructor(path, { onMessage, onState, baseDelay = 500, maxDelay = 15000 }) {
    this.url = new URL(path, window.location.href);
    this.url.protocol = this.url.protocol === "https:" ? "wss:" : "ws:";
    this.onMessage = onMessage;
    this.onState = onState;
    this.baseDelay = baseDelay;
    this.maxDelay = maxDelay;
    this.attempt = 0;
    this.lastSeq = null;
    this.socket = null;
    this.timer = null;
    this.stopped = false;
    window.addEventListener("online", () => {
      if (this.socket && this.socket.readyState === WebSocket.OPEN && this.lastSeq !== null) this.setState("connected");
      else this.reconnectNow();
    });
    window.addEventListener("offline", () => this.setState("offline", { reason: "network" }));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.socket) this.reconnectNow();
    });
  }

  setState(state, detail = {}) {
    this.state = state;
    this.onState(state, detail);
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting", { attempt: this.attempt });
    const socket = new WebSocket(this.url);
    this.socket = socket;
    this.lastSeq = null;
    socket.addEventListener("message", (event) => this.handle(socket, event));
    socket.addEventListener("close", (event) => this.closed(socket, event));
  }

  handle(socket, event) {
    if (socket !== this.socket) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "snapshot") {
      this.lastSeq = message.seq;
      this.attempt = 0;
      this.onMessage(message);
      this.setState("connected");
      return;
    }
    if (this.lastSeq === null) return; // nothing applies before the first snapshot
    if (typeof message.seq === "number") {
      if (message.seq !== this.lastSeq + 1) this.resync();
      this.lastSeq = message.seq;
    }
    this.onMessage(message); // stale call copies are dropped by version in the store
  }

  resync() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "resync" }));
    }
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    if (event.code === CLOSE_UNAUTHENTICATED) {
      this.stopped = true;
      this.setState("signed-out");
      return;
    }
    if (event.code === CLOSE_DEACTIVATED) {
      this.stopped = true;
      this.setState("deactivated");
      return;
    }
    this.scheduleReconnect();
  }

  // Exponential backoff with "equal jitter": half the delay fixed, half random.
  scheduleReconnect() {
    if (this.stopped) return;
    const ceiling = Math.min(this.maxDelay, this.baseDelay * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.attempt += 1;
    const offline = navigator.onLine === false;
    this.setState(offline ? "offline" : "reconnecting", { attempt: this.attempt, retryAt: Date.now() + delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || (this.socket && this.socket.readyState <= WebSocket.OPEN)) return;
    this.connect();
  }
}

// What the page knows: live calls and the agent directory. A snapshot replaces everything;
// a call update older than the copy we hold (by `version`) is dropped.

const ENDED_KEPT = 2000; // a late copy of a call is seconds late, not thousands of calls late

export class Store {
  constructor() {
    this.calls = new Map(); // live calls by id
    this.agents = new Map(); // the directory by id
    this.endedVersions = new Map(); // ended call id → version, so a late "active" copy cannot revive it
    this.listeners = new Set();
  }

  subscribe(listener) {
    this.listeners.add(listener);
  }

  emit(change) {
    for (const listener of this.listeners) listener(change, this);
  }

  applySnapshot({ calls = [], agents = [] }) {
    this.calls = new Map(calls.filter((c) => c.status !== "ended").map((c) => [c.id, c]));
    for (const id of this.calls.keys()) this.endedVersions.delete(id);
    this.agents = new Map(agents.map((a) => [a.id, a]));
    this.emit({ type: "snapshot" });
  }

  applyCall(call) {
    const held = this.calls.get(call.id);
    const endedAt = this.endedVersions.get(call.id);
    if ((held && call.version <= held.version) || (endedAt !== undefined && call.version <= endedAt)) {
      return;
    }
    if (call.status === "ended") {
      this.calls.delete(call.id);
      this.endedVersions.set(call.id, call.version);
      if (this.endedVersions.size > ENDED_KEPT) this.endedVersions.delete(this.endedVersions.keys().next().value);
    } else {
      this.calls.set(call.id, call);
    }
    // `wasEnded`: a later change to a call already over (its wrap-up saved), not its end.
    this.emit({ type: "call", call, previous: held || null, wasEnded: endedAt !== undefined });
  }

  applyAgent(agent) {
    this.agents.set(agent.id, { ...this.agents.get(agent.id), ...agent });
    this.emit({ type: "agent", agent: this.agents.get(agent.id) });
  }

  // Socket messages (README "Live updates") into the store.
  receive(message) {
    if (message.type === "snapshot") this.applySnapshot(message);
    else if (message.type === "call.updated") this.applyCall(message.call);
    else if (message.type === "agent.updated") this.applyAgent(message.agent);
  }

  liveCalls() {
    return [...this.calls.values()].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at) || a.id - b.id);
  }
}

// What the page knows: live calls and the agent directory. A snapshot replaces everything;
// a call update older than the copy we hold (by `version`) is dropped.

export class Store {
  constructor() {
    this.calls = new Map(); // live calls by id
    this.agents = new Map(); // the directory by id
    this.endedVersions = new Map(); // ended call id → version, so a late "active" copy cannot revive it
    this.listeners = new Set();
    this.ready = false; // a snapshot has been applied
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(change) {
    for (const listener of this.listeners) listener(change, this);
  }

  applySnapshot({ calls = [], agents = [] }) {
    const before = new Set(this.calls.keys());
    this.calls = new Map(calls.filter((c) => c.status !== "ended").map((c) => [c.id, c]));
    for (const id of this.calls.keys()) this.endedVersions.delete(id);
    this.agents = new Map(agents.map((a) => [a.id, a]));
    this.ready = true;
    const gone = [...before].filter((id) => !this.calls.has(id));
    this.emit({ type: "snapshot", gone });
  }

  // Returns true when the update was newer than what we hold and so applied.
  applyCall(call) {
    const held = this.calls.get(call.id);
    const endedAt = this.endedVersions.get(call.id);
    if ((held && call.version <= held.version) || (endedAt !== undefined && call.version <= endedAt)) {
      return false;
    }
    if (call.status === "ended") {
      this.calls.delete(call.id);
      this.endedVersions.set(call.id, call.version);
    } else {
      this.calls.set(call.id, call);
    }
    this.emit({ type: "call", call, previous: held || null });
    return true;
  }

  applyAgent(agent) {
    const previous = this.agents.get(agent.id) || null;
    this.agents.set(agent.id, { ...(previous || {}), ...agent });
    this.emit({ type: "agent", agent: this.agents.get(agent.id), previous });
  }

  // Socket messages (CONTRACT §6) into the store.
  receive(message) {
    if (message.type === "snapshot") this.applySnapshot(message);
    else if (message.type === "call.updated") this.applyCall(message.call);
    else if (message.type === "agent.updated") this.applyAgent(message.agent);
  }

  liveCalls() {
    return [...this.calls.values()].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at) || a.id - b.id);
  }
}

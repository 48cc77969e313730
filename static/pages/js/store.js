// What the page knows: live calls, the agent directory and (for supervisors) the day's queue
// figures. A snapshot replaces everything; a call update older than the copy we hold (by
// `version`) is dropped.

const ENDED_KEPT = 2000; // a late copy of a call is seconds late, not thousands of calls late

export class Store {
  constructor() {
    this.calls = new Map(); // live calls by id
    this.agents = new Map(); // the directory by id
    this.endedVersions = new Map(); // ended call id → version, so a late "active" copy cannot revive it
    this.stats = null; // GET /api/stats/'s shape, when the server sends it (supervisors; a count for agents)
    this.listeners = new Set();
  }

  subscribe(listener) {
    this.listeners.add(listener);
  }

  emit(change) {
    for (const listener of this.listeners) listener(change, this);
  }

  applySnapshot({ calls = [], agents = [], stats = null, queue = null }) {
    this.calls = new Map(calls.filter((c) => c.status !== "ended").map((c) => [c.id, c]));
    for (const id of this.calls.keys()) this.endedVersions.delete(id);
    this.agents = new Map(agents.map((a) => [a.id, a]));
    // Supervisors get the figures (`stats`); agents the queue's size (`queue`): one shape here.
    const figures = stats || queue;
    this.stats = figures ? { ...figures, received: Date.now() } : null;
    this.emit({ type: "snapshot" });
  }

  applyStats(stats) {
    this.stats = { ...this.stats, ...stats, received: Date.now() };
    this.emit({ type: "stats", stats: this.stats });
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
    const previous = this.agents.get(agent.id) || null;
    this.agents.set(agent.id, { ...previous, ...agent });
    this.emit({ type: "agent", agent: this.agents.get(agent.id), previous });
  }

  // Socket messages (README "Live updates") into the store.
  receive(message) {
    if (message.type === "snapshot") this.applySnapshot(message);
    else if (message.type === "call.updated") this.applyCall(message.call);
    else if (message.type === "agent.updated") this.applyAgent(message.agent);
    else if (message.type === "agents.updated") for (const agent of message.agents || []) this.applyAgent(agent);
    else if (message.type === "stats.updated") this.applyStats(message.stats);
    else if (message.type === "queue.updated") this.applyStats(message.queue);
  }

  liveCalls() {
    return [...this.calls.values()].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at) || a.id - b.id);
  }
}

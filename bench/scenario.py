"""The benchmark's traffic: inbound calls, each a fixed script of Plivo multiparty-call callbacks.

The mix: calls start, customers are held and taken off hold, one call in `TRANSFER_EVERY` is
transferred to a second agent (who joins while the first is still on, then the first leaves),
calls end; every call moves its agents busy → wrap-up → available (agent status changes).

A call's customer address carries the call's number (`+1202NNNNNNN`), so a dashboard client can tell
which call a `call.updated` belongs to from the message itself; every callback of a script changes
what a dashboard shows, so the call's `version` after event *i* is `i + 2` (a new call has version 1
and its creating event makes it 2), and (call, version) names the callback that caused the message.
Who must receive it: every supervisor, and each agent of the call from the event at which they
joined on (an agent keeps receiving a call they left until it ends; a transfer target only from
their join).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from bench.seed import agent_address
from tests.support.plivo import mpc_event, participant

CUSTOMER_PREFIX = "+1202"
TRANSFER_EVERY = 4  # one call in four is transferred


def customer_address(call_number: int) -> str:
    return f"{CUSTOMER_PREFIX}{call_number:07d}"


def call_number_of(address: str) -> int | None:
    return int(address[len(CUSTOMER_PREFIX) :]) if address.startswith(CUSTOMER_PREFIX) else None


@dataclass(frozen=True)
class Script:
    events: list[dict[str, str]]
    watchers: tuple[tuple[int, int], ...]  # (agent number, index of the event from which they see the call)


def call_script(call_number: int, agent_number: int, tag: str, holds: int = 2) -> Script:
    """Customer in, agent answers, hold/unhold `holds` times, agent and customer leave, the MPC ends."""
    mpc = f"bench-{tag}-{call_number}"
    customer, agent = customer_address(call_number), agent_address(agent_number)
    c, a = f"c{call_number}", f"a{call_number}"
    holding = [
        participant(name, mpc, c, customer, seq=3 + 2 * i + k)
        for i in range(holds)
        for k, name in enumerate(("ParticipantHold", "ParticipantUnhold"))
    ]
    after = 3 + 2 * holds
    return Script(
        [
            participant("ParticipantJoin", mpc, c, customer, seq=1),
            participant("ParticipantJoin", mpc, a, agent, role="Agent", direction="outbound", seq=2),
            *holding,
            participant("ParticipantExit", mpc, a, agent, role="Agent", direction="outbound", seq=after),
            participant("ParticipantExit", mpc, c, customer, seq=after + 1),
            mpc_event("MPCEnd", mpc, seq=after + 2),
        ],
        ((agent_number, 1),),
    )


def transfer_script(call_number: int, agent_number: int, target_number: int, tag: str) -> Script:
    """Customer in, agent answers and holds the customer, a second agent joins (the transfer), the
    first leaves, the second takes the customer off hold, holds once more, then everyone leaves."""
    mpc = f"bench-{tag}-{call_number}"
    customer, agent, target = customer_address(call_number), agent_address(agent_number), agent_address(target_number)
    c, a, t = f"c{call_number}", f"a{call_number}", f"t{call_number}"
    return Script(
        [
            participant("ParticipantJoin", mpc, c, customer, seq=1),
            participant("ParticipantJoin", mpc, a, agent, role="Agent", direction="outbound", seq=2),
            participant("ParticipantHold", mpc, c, customer, seq=3),
            participant("ParticipantJoin", mpc, t, target, role="Agent", direction="outbound", seq=4),
            participant("ParticipantExit", mpc, a, agent, role="Agent", direction="outbound", seq=5),
            participant("ParticipantUnhold", mpc, c, customer, seq=6),
            participant("ParticipantHold", mpc, c, customer, seq=7),
            participant("ParticipantUnhold", mpc, c, customer, seq=8),
            participant("ParticipantExit", mpc, t, target, role="Agent", direction="outbound", seq=9),
            participant("ParticipantExit", mpc, c, customer, seq=10),
            mpc_event("MPCEnd", mpc, seq=11),
        ],
        ((agent_number, 1), (target_number, 3)),
    )


@dataclass(frozen=True)
class Mix:
    """What the calls of a step do: `holds` hold/unhold pairs on a plain call, and one call in
    `transfer_every` transferred instead (0: none)."""

    holds: int
    transfer_every: int

    def script(self, n: int, agents: int, slots: int, tag: str) -> Script:
        if self.transfer_every and n % self.transfer_every == self.transfer_every - 1:
            return transfer_script(n, n % agents, (n + slots) % agents, tag)
        return call_script(n, n % agents, tag, self.holds)

    @property
    def events_per_call(self) -> float:
        """Callbacks per call, on average over the mix."""
        plain = len(call_script(0, 0, "x", self.holds).events)
        if not self.transfer_every:
            return plain
        transfer = len(transfer_script(0, 0, 1, "x").events)
        return ((self.transfer_every - 1) * plain + transfer) / self.transfer_every


# The realistic mix: calls that start and end, holds, one call in four transferred (~9.5 callbacks a call).
THE_MIX = Mix(holds=2, transfer_every=TRANSFER_EVERY)
# The shape of the outside load run through the contract: hold/unhold callbacks on calls that start
# and end, no transfers (17 callbacks a call: at 100/s, about 6 calls/s start and end).
HOLDS_MIX = Mix(holds=6, transfer_every=0)


def version_after(event_index: int) -> int:
    return event_index + 2


@dataclass(frozen=True)
class Callback:
    call_number: int
    event_index: int
    watchers: tuple[tuple[int, int], ...]  # as Script.watchers
    body: str  # application/x-www-form-urlencoded

    def agents_watching(self) -> list[int]:
        return [agent for agent, since in self.watchers if self.event_index >= since]


def slots_for(rate: float, agents: int) -> int:
    """Calls in flight at once: two callbacks of one call ≥ ~0.5 s apart; at most half the agents,
    so a transfer's target (the agent of the same slot in the next round) is never on another call."""
    return max(1, min(agents // 2, max(10, round(rate * 0.5))))


def traffic(*, first_call: int, calls: int, slots: int, agents: int, tag: str, mix: Mix = THE_MIX) -> list[Callback]:
    """`calls` calls played `slots` at a time, round-robin, so two callbacks of one call are about
    `slots` sends apart (at 100/s and 50 slots: 0.5 s), far longer than a callback takes: they never
    overlap. The agent of call n is agent n mod `agents`; a transferred call's target is the agent of
    call n + `slots` (of the next round, so free now); `slots` ≤ `agents` / 2 keeps each agent on one
    call at a time."""
    slots = max(1, min(slots, calls, max(1, agents // 2)))
    rounds = -(-calls // slots)
    out: list[Callback] = []
    for r in range(rounds):
        numbers = [first_call + r * slots + s for s in range(slots) if r * slots + s < calls]
        scripts = [(n, mix.script(n, agents, slots, tag)) for n in numbers]
        longest = max(len(script.events) for _, script in scripts)
        for i in range(longest):
            out.extend(
                Callback(n, i, script.watchers, urlencode(script.events[i]))
                for n, script in scripts
                if i < len(script.events)
            )
    return out


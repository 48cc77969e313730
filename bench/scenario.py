"""The benchmark's traffic: inbound calls, each a fixed script of Plivo multiparty-call callbacks.

A call's customer address carries the call's number (`+1202NNNNNNN`), so a dashboard client can tell
which call a `call.updated` belongs to from the message itself; every callback of the script changes
what a dashboard shows, so the call's `version` after event *i* is `i + 2` (a new call has version 1
and its creating event makes it 2), and (call, version) names the callback that caused the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from bench.seed import agent_address
from tests.support.plivo import mpc_event, participant

CUSTOMER_PREFIX = "+1202"
# Index of the event at which the agent joins: from then on the agent's desk sees the call.
AGENT_JOINS_AT = 1


def customer_address(call_number: int) -> str:
    return f"{CUSTOMER_PREFIX}{call_number:07d}"


def call_number_of(address: str) -> int | None:
    return int(address[len(CUSTOMER_PREFIX) :]) if address.startswith(CUSTOMER_PREFIX) else None


def call_script(call_number: int, agent_number: int, tag: str) -> list[dict[str, str]]:
    """Customer in, agent answers, hold/unhold twice, agent and customer leave, the MPC ends."""
    mpc = f"bench-{tag}-{call_number}"
    customer, agent = customer_address(call_number), agent_address(agent_number)
    c, a = f"c{call_number}", f"a{call_number}"
    return [
        participant("ParticipantJoin", mpc, c, customer, seq=1),
        participant("ParticipantJoin", mpc, a, agent, role="Agent", direction="outbound", seq=2),
        participant("ParticipantHold", mpc, c, customer, seq=3),
        participant("ParticipantUnhold", mpc, c, customer, seq=4),
        participant("ParticipantHold", mpc, c, customer, seq=5),
        participant("ParticipantUnhold", mpc, c, customer, seq=6),
        participant("ParticipantExit", mpc, a, agent, role="Agent", direction="outbound", seq=7),
        participant("ParticipantExit", mpc, c, customer, seq=8),
        mpc_event("MPCEnd", mpc, seq=9),
    ]


EVENTS_PER_CALL = len(call_script(0, 0, "x"))


def version_after(event_index: int) -> int:
    return event_index + 2


@dataclass(frozen=True)
class Callback:
    call_number: int
    event_index: int
    agent_number: int
    body: str  # application/x-www-form-urlencoded


def traffic(*, first_call: int, calls: int, slots: int, agents: int, tag: str) -> list[Callback]:
    """`calls` calls played `slots` at a time, round-robin, so two callbacks of one call are `slots`
    sends apart (at 100/s and 50 slots: 0.5 s), far longer than a callback takes: they never overlap.
    The agent of call n is agent n mod `agents`; `slots` ≤ `agents` keeps each agent on one call at a time."""
    slots = max(1, min(slots, calls, agents))
    rounds = -(-calls // slots)
    out: list[Callback] = []
    for r in range(rounds):
        numbers = [first_call + r * slots + s for s in range(slots) if r * slots + s < calls]
        scripts = [(n, call_script(n, n % agents, tag)) for n in numbers]
        for i in range(EVENTS_PER_CALL):
            out.extend(Callback(n, i, n % agents, urlencode(script[i])) for n, script in scripts)
    return out

"""How an offer starts and ends, as pure functions of a call's state (docs/routing.md, "Offers").

An offer is the call's `offered_to_id` (and since when): the desk dialled that agent in for a
waiting customer. It ends
- *answered* when that agent's leg is on the line;
- *withdrawn* when another agent is on the line first, or the call ends (the customer left);
- *missed* when the agent's leg leaves without joining, PHLO refuses to dial it, or it rings longer
  than ROUTING_RING_SECONDS (the agent goes away: "missed call");
- *declined* when the agent says no (they keep their status, and the call goes to someone else).

Every step here returns the call without its offer and with `offer_ended` saying how; the store
(calls/core/store.py) writes the call and makes the agent follow. The queue's wing decides *who*
is offered what (calls/queue/); this module decides what an offer does to the call.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import StrEnum

from calls.core.snapshots import CallSnap, MemberSnap, dial
from calls.core.vocabulary import CallStatus, JoinedVia, MemberRole, MemberState
from phlo.addresses import address_key

OFFERED_KEY = "new:offered"  # the snapshot key of the leg an offer dials


class OfferEnd(StrEnum):
    """How an offer ended: its Action row's `upstream_outcome`, and the metrics' label."""

    ANSWERED = "answered"
    MISSED = "missed"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"


def make_offer(call: CallSnap, *, agent_id: int, agent_address: str, at: datetime) -> CallSnap:
    """The call offered to this agent: their leg is dialled in (`OFFERED_KEY`)."""
    offered, _ = dial(
        call, to=agent_address, role=MemberRole.AGENT, at=at, via=JoinedVia.ROUTED, invited_by_id=None,
        new_key=OFFERED_KEY,
    )
    return replace(offered, offered_to_id=agent_id, offered_at=at, offered_address_key=address_key(agent_address))


def settle_offer(call: CallSnap) -> CallSnap:
    """After an event: whether the call's state now ends its offer (else the call as it is)."""
    if call.offered_to_id is None:
        return call
    agents = [m for m in call.members if m.role == MemberRole.AGENT]
    leg = _offered_leg(call)
    if call.status == CallStatus.ENDED:
        return end_offer(call, OfferEnd.WITHDRAWN)  # the customer left: nobody missed anything
    if leg is not None and leg.on_the_line:
        return end_offer(call, OfferEnd.ANSWERED)
    if any(m.on_the_line for m in agents if m is not leg):
        return end_offer(call, OfferEnd.WITHDRAWN)  # someone else took it first
    if leg is None or not leg.live:
        return end_offer(call, OfferEnd.MISSED)  # their leg left (or failed) without joining
    return call


def drop_offer(call: CallSnap, how: OfferEnd, *, at: datetime) -> CallSnap:
    """The offer ends by the desk's decision (missed by PHLO's refusal or the ring timeout, or
    declined): the agent's ringing leg leaves the call's picture (Plivo's callbacks say the same
    once it is hung up)."""
    leg = _offered_leg(call)
    if leg is not None and leg.state in (MemberState.DIALING, MemberState.RINGING):
        call = call.with_member(replace(leg, state=MemberState.LEFT, left_at=at, state_since=at))
    return end_offer(call, how)


def end_offer(call: CallSnap, how: OfferEnd) -> CallSnap:
    """The call without its offer; a missed one is counted, and who missed or declined it noted so
    it is not offered straight back to them (calls/queue/routing.py)."""
    agent_id = call.offered_to_id
    changes: dict = {"offered_to_id": None, "offered_at": None, "offered_address_key": "", "offer_ended": how}
    if how == OfferEnd.MISSED:
        changes.update(last_offered_to_id=agent_id, missed_offers=call.missed_offers + 1)
    elif how == OfferEnd.DECLINED and agent_id not in call.declined_by:
        changes.update(declined_by=(*call.declined_by, agent_id))
    return replace(call, **changes)


def _offered_leg(call: CallSnap) -> MemberSnap | None:
    """The offered agent's newest agent leg, by address."""
    wanted = call.offered_address_key
    return next(
        (m for m in reversed(call.members) if m.role == MemberRole.AGENT and address_key(m.address) == wanted), None
    )

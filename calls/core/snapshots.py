"""A call's state as the pure rules see it: plain frozen values, no database (calls/core/store.py
loads and writes them), and `dial`, the one way a member the desk dials in enters a call's state
(an action, an offer, a supervisor's own leg)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from calls.core.vocabulary import (
    LIVE_MEMBER_STATES,
    ON_THE_LINE,
    CallStatus,
    JoinedVia,
    MemberRole,
    MemberState,
    RecordingState,
    TransferRole,
)
from phlo.addresses import same_address

INITIATOR, TARGET = TransferRole.INITIATOR, TransferRole.TARGET


@dataclass(frozen=True)
class MemberSnap:
    key: str  # "db:<pk>" for a stored member, "new:<n>" for one this step creates
    address: str
    role: str = MemberRole.CUSTOMER
    state: str = MemberState.DIALING
    member_id: str = ""
    call_uuid: str = ""
    transfer_role: str = ""
    joined_via: str = JoinedVia.UNKNOWN
    invited_by_id: int | None = None
    state_since: datetime | None = None
    state_changed_by_id: int | None = None  # the agent whose action put them in this state
    muted: bool = False
    coach_mode: bool = False
    joined_at: datetime | None = None
    left_at: datetime | None = None
    last_sequence: int | None = None
    last_event_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.state in LIVE_MEMBER_STATES

    @property
    def on_the_line(self) -> bool:
        return self.state in ON_THE_LINE


@dataclass(frozen=True)
class RecordingSnap:
    key: str  # "db:<pk>", or "new:rec" for one this step creates
    recording_uuid: str = ""
    state: str = RecordingState.RECORDING
    url: str = ""
    duration: int | None = None
    format: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class CallSnap:
    status: str = CallStatus.RINGING
    direction: str = ""
    routing: bool = False  # the call's PHLO app routes: waiting customers are offered to agents (not stored)
    mpc_uuid: str | None = None
    run_id: str = ""
    called_number: str = ""  # what the customer dialled: the number of a queue (calls/core/queues.py)
    queue_id: int | None = None
    started_at: datetime | None = None
    waiting_since: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str = ""
    was_transferred: bool = False
    recording: str = ""
    termination_cause: str = ""
    termination_cause_code: str = ""
    mpc_name: str = ""
    last_sequence: int | None = None
    last_event_at: datetime | None = None
    # The queue (docs/routing.md; calls/core/offers.py): who is offered the call now and since when,
    # who missed it last, how often it was missed, who declined it.
    offered_to_id: int | None = None
    offered_at: datetime | None = None
    last_offered_to_id: int | None = None
    missed_offers: int = 0
    declined_by: tuple[int, ...] = ()
    # Not stored: the offered agent's address in its comparison form (the store reads it with the
    # offer), and how an offer ended in this step (the store makes the agent follow).
    offered_address_key: str = ""
    offer_ended: str = ""
    # After the call (calls/history/wrapup.py): each person's wrap-up, and what they add up to.
    disposition_id: int | None = None
    notes: str = ""
    wrap_ups: tuple[dict, ...] = ()
    # The customer's last calls, read once they are known (calls/history/customer.py); None until then.
    customer_history: tuple[dict, ...] | None = None
    members: tuple[MemberSnap, ...] = field(default_factory=tuple)
    recordings: tuple[RecordingSnap, ...] = field(default_factory=tuple)

    def member(self, key: str) -> MemberSnap:
        return next(m for m in self.members if m.key == key)

    def with_member(self, member: MemberSnap) -> CallSnap:
        if any(m.key == member.key for m in self.members):
            return replace(self, members=tuple(member if m.key == member.key else m for m in self.members))
        return replace(self, members=(*self.members, member))

    def with_recording(self, recording: RecordingSnap) -> CallSnap:
        if any(r.key == recording.key for r in self.recordings):
            return replace(self, recordings=tuple(recording if r.key == recording.key else r for r in self.recordings))
        return replace(self, recordings=(*self.recordings, recording))

    @property
    def transfer_initiator(self) -> MemberSnap | None:
        return next((m for m in self.members if m.transfer_role == INITIATOR and m.live), None)

    @property
    def transfer_target(self) -> MemberSnap | None:
        return next((m for m in self.members if m.transfer_role == TARGET and m.live), None)

    def has_live(self, role: str) -> bool:
        return any(m.role == role and m.live for m in self.members)

    def has_on_the_line(self, role: str) -> bool:
        return any(m.role == role and m.on_the_line for m in self.members)


@dataclass(frozen=True)
class Result:
    call: CallSnap
    member_key: str | None
    outcome: str  # applied | stale | no_change | unmatched | unrecognised


def dial(call: CallSnap, *, to: str, role: str, at: datetime, via: str, invited_by_id: int | None,
         new_key: str = "new:0") -> tuple[CallSnap, MemberSnap]:
    """A member the desk asked Plivo to dial in (an action, the router, a supervisor's own leg).
    Plivo's callbacks can beat its answer to the request: then they are already here (Plivo
    refuses to dial someone who is on the call, so a live member at `to` is this dial)."""
    already_here = next((m for m in reversed(call.members) if m.live and same_address(m.address, to)), None)
    if already_here is not None:
        dialled = replace(
            already_here, joined_via=already_here.joined_via or via,
            invited_by_id=already_here.invited_by_id or invited_by_id,
        )
    else:
        dialled = MemberSnap(
            key=new_key, address=to, role=role, state=MemberState.DIALING, state_since=at, joined_via=via,
            invited_by_id=invited_by_id,
        )
    return call.with_member(dialled), dialled
